//! Stacked MNIST (VEEGAN, PacGAN): images whose three channels are independently drawn MNIST
//! digits, so there are 1000 modes (one per digit triple). Unlabelled: its modes are counted by
//! classifying each channel with the MNIST classifier (`gantry eval modes`).

use super::dataset::{Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, Samples};
use super::mnist::MNIST;
use super::options::DataOptions;
use crate::error::Result;
use crate::rng::Rng;

const CHANNELS: usize = 3;

pub static STACKED_MNIST: DatasetKind = DatasetKind {
    name: "stacked-mnist",
    description: "Stacked MNIST: three random MNIST digits as the R, G, B planes of one 28x28 image (1000 modes)",
    pattern: NamePattern::Exact,
    load,
    downloads: None,
    shape: Some([CHANNELS, 28, 28]),
    stored_transposed: false,
    class_names: |_| vec![],
    samples: SampleKind::Images,
    mode_count: ModeCount::PerChannel { classifier: "mnist", channels: CHANNELS },
};

/// `--generated-size` images from MNIST's training or test split; MNIST is read at its own size
/// and the stack resized afterwards.
fn load(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let mnist = (MNIST.load)(&MNIST, MNIST.name, &DataOptions { image_size: None, ..opts.clone() })?;
    let Samples::Bytes(px) = &mnist.samples else { unreachable!("MNIST holds images") };
    let [_, h, w] = mnist.shape;
    let plane = h * w;
    let n = opts.generated_len(60_000);
    let mut rng = Rng::derived(opts.split_seed(), "stacked-mnist", 0);
    let mut out = Vec::with_capacity(n * CHANNELS * plane);
    for _ in 0..n * CHANNELS {
        let i = rng.below(mnist.len);
        out.extend_from_slice(&px[i * plane..(i + 1) * plane]);
    }
    Ok(Dataset::new(kind, name, [CHANNELS, h, w], Samples::Bytes(out), None))
}
