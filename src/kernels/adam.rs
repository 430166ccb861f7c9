//! Fused Adam update: one pass over parameter, gradient and both moments instead of about ten
//! whole-tensor operations (each reading and writing every element). The arithmetic is the one of
//! the tensor version in `optim` (PyTorch's rule), element by element in f32.

use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// Elements per parallel task.
const CHUNK: usize = 1 << 15;

/// Adam's constants for one time step `t` (1-based).
#[derive(Clone, Copy, Debug)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub t: i32,
}

/// Updates `param`, `m` and `v` in place from `grad`. `first`: the moments are not initialised yet
/// (PyTorch's zero state), so `m` and `v` are overwritten.
pub fn adam_in_place(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], step: AdamStep, first: bool) {
    let (b1, b2) = (step.beta1 as f32, step.beta2 as f32);
    let (one_b1, one_b2) = ((1.0 - step.beta1) as f32, (1.0 - step.beta2) as f32);
    let bc2_sqrt = ((1.0 - step.beta2.powi(step.t)).sqrt()) as f32;
    let step_size = (step.lr / (1.0 - step.beta1.powi(step.t))) as f32;
    let eps = step.eps as f32;
    param
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((p, g), m), v)| adam_chunk(p, g, m, v, [b1, b2, one_b1, one_b2, bc2_sqrt, step_size, eps], first));
}

crate::simd_dispatch! {
    /// One chunk of the update; `k` = [β1, β2, 1−β1, 1−β2, sqrt(1−β2ᵗ), lr/(1−β1ᵗ), eps].
    fn adam_chunk(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: [f32; 7], first: bool) {
        let [b1, b2, one_b1, one_b2, bc2_sqrt, step_size, eps] = k;
        // Branch-free zipped loops, so that the compiler vectorises sqrt and division.
        let elements = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
        if first {
            for (((p, &g), m), v) in elements {
                *m = g * one_b1;
                *v = g * g * one_b2;
                *p -= *m / (v.sqrt() / bc2_sqrt + eps) * step_size;
            }
        } else {
            for (((p, &g), m), v) in elements {
                *m = *m * b1 + g * one_b1;
                *v = *v * b2 + g * g * one_b2;
                *p -= *m / (v.sqrt() / bc2_sqrt + eps) * step_size;
            }
        }
    }
}

fn into_values(t: Tensor<1>) -> Vec<f32> {
    // Moves the buffer out when the tensor owns it (the moments always do), else copies.
    t.into_data().try_into_vec::<f32>().expect("f32 tensor")
}

/// One Adam update of a flattened f32 parameter on the flex backend; `moments` = `[m, v]` from the
/// previous step, or `None` at the first. Returns the new parameter and moments.
pub fn adam_update(param: Tensor<1>, grad: Tensor<1>, moments: Option<Vec<Tensor<1>>>, step: AdamStep) -> (Tensor<1>, Vec<Tensor<1>>) {
    let device = param.device();
    let n = param.dims()[0];
    let mut p = into_values(param);
    let g = into_values(grad);
    let first = moments.is_none();
    let (mut m, mut v) = match moments {
        Some(mut b) => {
            let v = b.pop().expect("Adam state [m, v]");
            let m = b.pop().expect("Adam state [m, v]");
            (into_values(m), into_values(v))
        }
        None => (vec![0.0; n], vec![0.0; n]),
    };
    // The state is created here or loaded for the same parameter names and shapes.
    assert!(g.len() == n && m.len() == n && v.len() == n, "Adam state does not fit its parameter");
    adam_in_place(&mut p, &g, &mut m, &mut v, step, first);
    let tensor = |x: Vec<f32>| Tensor::from_data(TensorData::new(x, [n]), &device);
    (tensor(p), vec![tensor(m), tensor(v)])
}
