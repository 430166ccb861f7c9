//! MNIST and Fashion-MNIST: 28x28 grayscale, 60000 train / 10000 test, as the four IDX files
//! (read by [`super::idx`]) that both publish under the same names.

use super::dataset::{DIGITS, Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, names};
use super::download::{self, Checksum, Downloads, RemoteFile};
use super::idx;
use super::options::DataOptions;
use crate::error::Result;

pub const FASHION_CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

const MNIST_MIRRORS: &[&str] = &["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"];
const FASHION_MIRRORS: &[&str] = &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];

const MNIST_FILES: &[RemoteFile] = &[
    RemoteFile { name: "train-images-idx3-ubyte.gz", checksum: Checksum::Md5("f68b3c2dcbeaaa9fbdd348bbdeb94873"), mirrors: MNIST_MIRRORS },
    RemoteFile { name: "train-labels-idx1-ubyte.gz", checksum: Checksum::Md5("d53e105ee54ea40749a09fcbcd1e9432"), mirrors: MNIST_MIRRORS },
    RemoteFile { name: "t10k-images-idx3-ubyte.gz", checksum: Checksum::Md5("9fb629c4189551a2d022fa330f9573f3"), mirrors: MNIST_MIRRORS },
    RemoteFile { name: "t10k-labels-idx1-ubyte.gz", checksum: Checksum::Md5("ec29112dd5afa0611ce80d1b7f02629c"), mirrors: MNIST_MIRRORS },
];

const FASHION_FILES: &[RemoteFile] = &[
    RemoteFile { name: "train-images-idx3-ubyte.gz", checksum: Checksum::Md5("8d4fb7e6c68d591d4c3dfef9ec88bf0d"), mirrors: FASHION_MIRRORS },
    RemoteFile { name: "train-labels-idx1-ubyte.gz", checksum: Checksum::Md5("25c81989df183df01b3e8a0aad5dffbe"), mirrors: FASHION_MIRRORS },
    RemoteFile { name: "t10k-images-idx3-ubyte.gz", checksum: Checksum::Md5("bef4ecab320f06d8554ea6380940ec79"), mirrors: FASHION_MIRRORS },
    RemoteFile { name: "t10k-labels-idx1-ubyte.gz", checksum: Checksum::Md5("bb300cfdad3c16e7a12a480ee83cd310"), mirrors: FASHION_MIRRORS },
];

pub static MNIST: DatasetKind = DatasetKind {
    name: "mnist",
    description: "MNIST 28x28 digits (60000 train / 10000 test), IDX files",
    pattern: NamePattern::Exact,
    load,
    downloads: Some(Downloads { cache_folder: "mnist", files: MNIST_FILES }),
    shape: Some([1, 28, 28]),
    stored_transposed: false,
    class_names: |_| names(&DIGITS),
    samples: SampleKind::Images,
    mode_count: ModeCount::OwnClassifier,
};

pub static FASHION_MNIST: DatasetKind = DatasetKind {
    name: "fashion-mnist",
    description: "Fashion-MNIST 28x28 clothing (60000 / 10000), IDX files",
    downloads: Some(Downloads { cache_folder: "fashion-mnist", files: FASHION_FILES }),
    class_names: |_| names(&FASHION_CLASSES),
    ..MNIST
};

fn load(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let downloads = kind.downloads.as_ref().expect("MNIST-format kinds download their files");
    let needed: Vec<&str> = downloads.files.iter().map(|f| f.name).collect();
    let dir = download::locate(downloads, &needed, opts)?;
    let split = if opts.test_split { "t10k" } else { "train" };
    idx::load_dataset(kind, name, &dir, &format!("{split}-images-idx3-ubyte.gz"), &format!("{split}-labels-idx1-ubyte.gz"))
}
