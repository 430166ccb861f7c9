//! gantry's own CPU kernels, plugged into burn through its backend-extension mechanism (a `Flex`
//! implementation and an `Autodiff<Flex>` implementation with a hand-written backward; burn itself
//! is untouched), plus a fused Adam update ([`adam`], on the tensors' host buffers: optimiser state
//! needs no autodiff). They are used by default on the flex backend for f32 tensors;
//! `GANTRY_KERNELS=burn` (or [`set_enabled`]) switches back to burn's own operations, for
//! comparison. Other backends (wgpu, cuda) always use burn's operations.

mod activation;
pub mod adam;
pub mod batch_norm;
pub mod conv;
mod extension;
mod geometry;
pub mod linear;
mod matrix;
mod ops;
pub mod pool;
pub mod simd;
pub mod tanh;
mod winograd;

pub use extension::GantryKernels;
pub use ops::{
    applies, batch_norm_eval, batch_norm_train, conv_transpose2d, conv2d, enabled, leaky_relu, linear, max_pool2d, pool2d_inference, set_enabled, tanh,
};
