//! [`DataOptions`]: where and how to find a dataset, and how much of a generated one to draw.

use std::path::PathBuf;

/// Where and how to find a dataset.
#[derive(Clone, Debug, Default)]
pub struct DataOptions {
    pub data_dir: Option<PathBuf>,
    pub test_split: bool,
    /// Number of samples for the generated datasets (synth-digits, ring8, grid25, stacked-mnist).
    pub generated_size: Option<usize>,
    pub seed: u64,
    pub quiet: bool,
    /// Side length for image folders (CelebA), or to resize 28x28 images to (e.g. 32).
    pub image_size: Option<usize>,
    /// Channels for image folders (3 = RGB, 1 = grayscale).
    pub channels: Option<usize>,
}

impl DataOptions {
    /// The seed of generated data: the test split is drawn from a stream of its own.
    pub(super) fn split_seed(&self) -> u64 {
        if self.test_split { self.seed.wrapping_add(1_000_003) } else { self.seed }
    }

    /// How many samples to generate: `generated_size`, else `train` (training split) or 10000 (test split).
    pub(super) fn generated_len(&self, train: usize) -> usize {
        self.generated_size.unwrap_or(if self.test_split { 10_000 } else { train })
    }
}
