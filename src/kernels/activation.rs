//! The LeakyReLU rule that every kernel with a fused LeakyReLU/ReLU (BatchNorm's, the one-pass
//! activation of [`super::extension`]) follows, forward and backward.

/// LeakyReLU's derivative at `pre` (1 where positive, else `slope`; 0 for ReLU), PyTorch's convention
/// at 0. Output = `pre · factor`, input gradient = `dy · factor`: the forward and backward passes of
/// every kernel with a LeakyReLU/ReLU use this one rule.
#[inline(always)]
pub(super) fn leaky_relu_factor(pre: f32, slope: f32) -> f32 {
    if pre > 0.0 { 1.0 } else { slope }
}
