//! Dataset files: where they are looked for, and how they are fetched (official mirrors with
//! fallbacks, MD5 against the official sums, atomic writes into a cache directory). Which files a
//! dataset has is part of its kind (`super::DatasetKind::downloads`); `super::fetch_files` and
//! `super::verify_files` find them by dataset name.

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::options::DataOptions;
use crate::error::{Error, Result};

/// The official checksum of a file: an MD5 sum, or the SHA-256 prefix that torch.hub file names carry.
#[derive(Clone, Copy, Debug)]
pub enum Checksum {
    Md5(&'static str),
    Sha256Prefix(&'static str),
}

impl Checksum {
    /// The file's full hex digest in this checksum's algorithm.
    pub fn of_file(&self, path: &Path) -> Result<String> {
        match self {
            Checksum::Md5(_) => md5_file(path),
            Checksum::Sha256Prefix(_) => sha256_file(path),
        }
    }
    pub fn matches(&self, digest: &str) -> bool {
        match self {
            Checksum::Md5(sum) => digest == *sum,
            Checksum::Sha256Prefix(prefix) => digest.starts_with(prefix),
        }
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Checksum::Md5(sum) => write!(f, "MD5 {sum}"),
            Checksum::Sha256Prefix(prefix) => write!(f, "SHA-256 {prefix}…"),
        }
    }
}

/// One file of a dataset, with its official checksum and the mirrors that serve it.
#[derive(Clone, Debug)]
pub struct RemoteFile {
    pub name: &'static str,
    pub checksum: Checksum,
    pub mirrors: &'static [&'static str],
}

/// The files a kind downloads, and the cache folder they go to (one for all EMNIST splits).
#[derive(Clone, Copy, Debug)]
pub struct Downloads {
    pub cache_folder: &'static str,
    pub files: &'static [RemoteFile],
}

/// `$GANTRY_HOME`, else the platform cache directory + `gantry`.
pub fn gantry_home() -> PathBuf {
    std::env::var_os("GANTRY_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("gantry")))
        .unwrap_or_else(|| PathBuf::from(".gantry"))
}

pub fn cache_dir(dataset: &str) -> PathBuf {
    gantry_home().join("datasets").join(dataset)
}

pub fn md5_file(path: &Path) -> Result<String> {
    hash_file::<Md5>(path)
}

pub fn sha256_file(path: &Path) -> Result<String> {
    hash_file::<sha2::Sha256>(path)
}

fn hash_file<H: Digest>(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = H::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Downloads are refused when GANTRY_OFFLINE is set (tests and CI set it).
pub fn offline() -> bool {
    std::env::var_os("GANTRY_OFFLINE").is_some()
}

/// Fetch `file` into `dir`, trying each mirror, verifying the MD5, writing atomically.
pub fn fetch(file: &RemoteFile, dir: &Path, quiet: bool) -> Result<PathBuf> {
    let dest = dir.join(file.name);
    if dest.exists() && file.checksum.matches(&file.checksum.of_file(&dest)?) {
        return Ok(dest);
    }
    if offline() {
        return Err(Error::Download { url: file.name.into(), message: "GANTRY_OFFLINE is set".into() });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut last = String::new();
    for mirror in file.mirrors {
        let url = format!("{mirror}{}", file.name);
        match download(&url, &dest, file.checksum, quiet) {
            Ok(()) => return Ok(dest),
            Err(e) => last = format!("{url}: {e}"),
        }
    }
    Err(Error::Download { url: file.name.into(), message: last })
}

fn download(url: &str, dest: &Path, checksum: Checksum, quiet: bool) -> std::result::Result<(), String> {
    let resp = ureq::get(url).timeout(std::time::Duration::from_secs(60)).call().map_err(|e| e.to_string())?;
    let total = resp.header("Content-Length").and_then(|v| v.parse::<u64>().ok());
    let bar = crate::progress::bar(total.unwrap_or(0), quiet, &format!("downloading {}", dest.file_name().unwrap().to_string_lossy()));
    let tmp = dest.with_extension("part");
    let mut out = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        std::io::Write::write_all(&mut out, &buf[..n]).map_err(|e| e.to_string())?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    drop(out);
    let got = checksum.of_file(&tmp).map_err(|e| e.to_string())?;
    if !checksum.matches(&got) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("checksum {got} does not match the official {checksum}"));
    }
    std::fs::rename(&tmp, dest).map_err(|e| e.to_string())
}

/// Look for `needed` in `--data-dir` (as given, or its subfolder named like the cache folder),
/// then in the cache; download `downloads` into the cache when none has them.
pub fn locate(downloads: &Downloads, needed: &[&str], opts: &DataOptions) -> Result<PathBuf> {
    let folder = downloads.cache_folder;
    let cache = cache_dir(folder);
    let mut candidates = Vec::new();
    if let Some(d) = &opts.data_dir {
        candidates.push(d.join(folder));
        candidates.push(d.clone());
    }
    candidates.push(cache.clone());
    if let Some(c) = candidates.iter().find(|c| needed.iter().all(|f| c.join(f).exists())) {
        return Ok(c.clone());
    }
    let errors: Vec<String> = downloads.files.iter().filter_map(|f| fetch(f, &cache, opts.quiet).err()).map(|e| e.to_string()).collect();
    if errors.is_empty() {
        return Ok(cache);
    }
    Err(Error::MissingDataset {
        name: folder.into(),
        message: format!(
            "expected {} in --data-dir DIR (or DIR/{folder}) or in {}; download failed ({}). Copy the files there and pass --data-dir DIR.",
            needed.join(", "),
            cache.display(),
            errors.join("; ")
        ),
    })
}

/// Download every file of `downloads` into the cache (those already there and intact are kept);
/// returns their paths.
pub fn fetch_all(downloads: &Downloads, quiet: bool) -> Result<Vec<PathBuf>> {
    let dir = cache_dir(downloads.cache_folder);
    downloads.files.iter().map(|f| fetch(f, &dir, quiet)).collect()
}

/// One file of a dataset checked against its official checksum.
#[derive(Clone, Debug)]
pub struct FileCheck {
    pub name: &'static str,
    /// Where it was found; None when missing.
    pub path: Option<PathBuf>,
    /// Its hex digest, when found.
    pub digest: Option<String>,
    /// Found and matching the official checksum.
    pub ok: bool,
}

/// Check every file of `downloads`, looked for in `data_dir` (or its subfolder named like the
/// cache folder), then in the cache.
pub fn verify_all(downloads: &Downloads, data_dir: Option<&Path>) -> Result<Vec<FileCheck>> {
    let folder = downloads.cache_folder;
    let mut checks = Vec::new();
    for f in downloads.files {
        let candidates: Vec<PathBuf> =
            data_dir.iter().flat_map(|d| [d.join(folder).join(f.name), d.join(f.name)]).chain([cache_dir(folder).join(f.name)]).collect();
        let check = match candidates.into_iter().find(|p| p.exists()) {
            Some(path) => {
                let digest = f.checksum.of_file(&path)?;
                FileCheck { name: f.name, ok: f.checksum.matches(&digest), path: Some(path), digest: Some(digest) }
            }
            None => FileCheck { name: f.name, path: None, digest: None, ok: false },
        };
        checks.push(check);
    }
    Ok(checks)
}
