//! Reading and writing named f32 tensors as safetensors files (checkpoints, golden values).
//! Writes go to a temporary file that is renamed into place, so a crash never leaves half a file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::error::{Error, Result};
use crate::model::NamedTensor;

pub struct TensorFile {
    pub tensors: HashMap<String, NamedTensor>,
    pub metadata: HashMap<String, String>,
}

pub fn read(path: &Path) -> Result<TensorFile> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::bad_file(path, format!("not a safetensors file ({e})")))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::bad_file(path, format!("not a safetensors file ({e})")))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect(),
            Dtype::F64 => view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32).collect(),
            Dtype::I64 => view.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f32).collect(),
            other => return Err(Error::bad_file(path, format!("tensor `{name}` has dtype {other:?}, expected F32"))),
        };
        tensors.insert(name.clone(), NamedTensor { name, shape: view.shape().to_vec(), data });
    }
    Ok(TensorFile { tensors, metadata: meta.metadata().clone().unwrap_or_default() })
}

/// Read f64 tensors exactly (for float64 reference statistics).
pub fn read_f64(path: &Path) -> Result<HashMap<String, (Vec<usize>, Vec<f64>)>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::bad_file(path, format!("not a safetensors file ({e})")))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let data = match view.dtype() {
            Dtype::F64 => view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect(),
            Dtype::F32 => view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64).collect(),
            Dtype::I64 => view.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64).collect(),
            other => return Err(Error::bad_file(path, format!("tensor `{name}` has dtype {other:?}"))),
        };
        out.insert(name, (view.shape().to_vec(), data));
    }
    Ok(out)
}

pub fn write(path: &Path, tensors: &[NamedTensor], metadata: BTreeMap<String, String>) -> Result<()> {
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|t| t.data.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| (t.name.clone(), TensorView::new(Dtype::F32, t.shape.clone(), b).expect("consistent tensor")))
        .collect();
    let meta: HashMap<String, String> = metadata.into_iter().collect();
    let out = safetensors::serialize(views, &Some(meta)).map_err(|e| Error::Other(format!("serialising {}: {e}", path.display())))?;
    write_atomic(path, &out)
}

/// Write to `path.tmp`, flush it to the disk, then rename it into place and flush the folder:
/// readers (and a machine that loses power) see the old file or the new one, never a torn or
/// empty one. A failed write (a full disk) leaves the old file as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // Unique per process and call, so two writers of one file (outside a run's lock) never share it.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let tmp = path.with_extension(format!("{ext}.{}-{call}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Other(format!("cannot write {}: {e} (the previous file, if any, is unchanged)", path.display())));
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    sync_dir(dir)
}

/// Flushes a folder's entries (a rename) to the disk.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))?;
    Ok(())
}

/// Copies `from` to `to` as [`write_atomic`] writes (the rolling step checkpoints).
pub fn copy_atomic(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).map_err(|e| Error::io(from, e))?;
    write_atomic(to, &bytes)
}
