//! A generator as a whole: its network, the label embedding of a conditional model, and its
//! prior; what sampling, evaluation and a run folder's trained model share. Conditioning lives
//! here (not in the layers), so the networks themselves stay plain sequential nets.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor};

use super::noise::Noise;
use super::spec::{Init, LayerSpec, NetSpec};
use super::zoo::GanSpec;
use super::{NamedTensor, Net};
use crate::loss::one_hot;
use crate::rng::Rng;

/// `[N, F, 1, 1]` label features: the one-hot, or its learned embedding.
pub fn label_features(spec: &GanSpec, embedding: Option<&Net>, labels: &[u8], device: &Device) -> Tensor<4> {
    let hot = one_hot(labels, spec.classes(), device).reshape([labels.len(), spec.classes(), 1, 1]);
    match embedding {
        Some(e) => e.forward(hot, None),
        None => hot,
    }
}

/// What G's first layer gets: z, with the label's features appended for conditional models.
pub fn g_input(spec: &GanSpec, embedding: Option<&Net>, z: Tensor<4>, labels: Option<&[u8]>) -> Tensor<4> {
    match labels {
        Some(y) if spec.labels.is_conditional() => {
            let device = z.device();
            Tensor::cat(vec![z, label_features(spec, embedding, y, &device)], 1)
        }
        _ => z,
    }
}

/// A learned label embedding (`label_embedding`): a bias-free linear map of the one-hot.
pub fn label_embedding(spec: &GanSpec, rng: &mut Rng, device: &Device) -> Option<Net> {
    spec.labels.embedding().map(|e| {
        let layer = LayerSpec::Linear { inp: spec.classes(), out: e, bias: false };
        Net::build(&NetSpec::new(Init::Embedding, vec![layer]), rng, device)
    })
}

/// A generator ready to sample: G (PyTorch names `G.*`), G's label embedding (`G_label.*`) and
/// the prior its noise is drawn from.
#[derive(Clone)]
pub struct GeneratorNet {
    pub spec: GanSpec,
    pub g: Net,
    pub label: Option<Net>,
    pub noise: Noise,
}

impl GeneratorNet {
    /// Freshly initialised weights (to be replaced by [`GeneratorNet::load_state_dict`]).
    pub fn new(spec: GanSpec, noise: Noise, device: &Device) -> Self {
        let mut rng = Rng::derived(0, "init", 0);
        let g = Net::build(&spec.g, &mut rng, device);
        let label = if spec.labels.is_conditional() { label_embedding(&spec, &mut rng, device) } else { None };
        Self { spec, g, label, noise }
    }

    /// G's weights (and its label embedding's) from a state dict with `prefix` (`G.`) and
    /// `label_prefix` (`G_label.`); a tensor that is missing or misshapen is one message.
    pub fn load_state_dict(&mut self, tensors: &HashMap<String, NamedTensor>, prefix: &str, label_prefix: &str) -> Result<(), String> {
        self.g.load_state_dict(prefix, tensors).map_err(|m| format!("generator: {m}"))?;
        if let Some(e) = &mut self.label {
            e.load_state_dict(label_prefix, tensors).map_err(|m| format!("generator label embedding: {m}"))?;
        }
        Ok(())
    }

    /// Samples for noise `z` (and one label per sample for a conditional model): in eval mode
    /// (running BatchNorm statistics, no dropout), or with the batch's own statistics as the
    /// training grids show it.
    pub fn forward(&self, z: Tensor<4>, labels: Option<&[u8]>, eval_mode: bool) -> Tensor<4> {
        let input = g_input(&self.spec, self.label.as_ref(), z.to_device(&self.g.device()), labels);
        if eval_mode { self.g.forward(input, None) } else { self.g.forward_batch_stats(input) }
    }

    pub fn device(&self) -> Device {
        self.g.device()
    }
}
