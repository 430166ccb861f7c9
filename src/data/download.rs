//! Dataset files: where they are looked for, and how they are fetched (official mirrors with
//! fallbacks, MD5 against the official sums, atomic writes into a cache directory).

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

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

const MNIST_MIRRORS: &[&str] = &["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"];
const FASHION_MIRRORS: &[&str] = &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];

pub const MNIST: &[RemoteFile] = &[
    RemoteFile { name: "train-images-idx3-ubyte.gz", checksum: Checksum::Md5("f68b3c2dcbeaaa9fbdd348bbdeb94873"), mirrors: MNIST_MIRRORS },
    RemoteFile { name: "train-labels-idx1-ubyte.gz", checksum: Checksum::Md5("d53e105ee54ea40749a09fcbcd1e9432"), mirrors: MNIST_MIRRORS },
    RemoteFile { name: "t10k-images-idx3-ubyte.gz", checksum: Checksum::Md5("9fb629c4189551a2d022fa330f9573f3"), mirrors: MNIST_MIRRORS },
    RemoteFile { name: "t10k-labels-idx1-ubyte.gz", checksum: Checksum::Md5("ec29112dd5afa0611ce80d1b7f02629c"), mirrors: MNIST_MIRRORS },
];

pub const FASHION_MNIST: &[RemoteFile] = &[
    RemoteFile { name: "train-images-idx3-ubyte.gz", checksum: Checksum::Md5("8d4fb7e6c68d591d4c3dfef9ec88bf0d"), mirrors: FASHION_MIRRORS },
    RemoteFile { name: "train-labels-idx1-ubyte.gz", checksum: Checksum::Md5("25c81989df183df01b3e8a0aad5dffbe"), mirrors: FASHION_MIRRORS },
    RemoteFile { name: "t10k-images-idx3-ubyte.gz", checksum: Checksum::Md5("bef4ecab320f06d8554ea6380940ec79"), mirrors: FASHION_MIRRORS },
    RemoteFile { name: "t10k-labels-idx1-ubyte.gz", checksum: Checksum::Md5("bb300cfdad3c16e7a12a480ee83cd310"), mirrors: FASHION_MIRRORS },
];

pub const CIFAR10: &[RemoteFile] = &[RemoteFile {
    name: "cifar-10-binary.tar.gz",
    checksum: Checksum::Md5("c32a1d4ab5d03f1284b67883e8d87530"),
    mirrors: &["https://www.cs.toronto.edu/~kriz/"],
}];

pub const EMNIST: &[RemoteFile] = &[RemoteFile {
    name: "gzip.zip",
    checksum: Checksum::Md5("58c8d27c78d21e728a6bc7b3cc06412e"),
    mirrors: &["https://biometrics.nist.gov/cs_links/EMNIST/"],
}];

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
