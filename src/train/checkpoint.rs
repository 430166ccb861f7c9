//! What a checkpoint of a GAN under training holds: both networks and their label embeddings
//! (PyTorch state_dict names `G.*`, `D.*`, `G_label.*`, `D_label.*`) and both optimiser states
//! (`opt_g.*`, `opt_d.*`); the file format is `run::checkpoint`'s.

use std::path::Path;

use super::gan::Gan;
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::model::NamedTensor;
use crate::optim::with_label;
use crate::rng::Rng;
use crate::run::checkpoint::{self, CheckpointInfo, D_LABEL_PREFIX, D_PREFIX, G_LABEL_PREFIX, G_PREFIX, Loaded, Progress};

/// Writes everything needed to continue `gan`'s training exactly at `path` (atomically).
pub fn save(path: &Path, gan: &Gan, config: &TrainConfig, progress: &Progress, noise_rng: &Rng) -> Result<()> {
    let mut tensors: Vec<NamedTensor> = Vec::new();
    fn prefixed(p: &'static str, v: Vec<NamedTensor>) -> impl Iterator<Item = NamedTensor> {
        v.into_iter().map(move |mut t| {
            t.name = format!("{p}{}", t.name);
            t
        })
    }
    tensors.extend(prefixed(G_PREFIX, gan.g.state_dict()));
    tensors.extend(prefixed(D_PREFIX, gan.d.state_dict()));
    if let Some(e) = &gan.g_label {
        tensors.extend(prefixed(G_LABEL_PREFIX, e.state_dict()));
    }
    if let Some(e) = &gan.d_label {
        tensors.extend(prefixed(D_LABEL_PREFIX, e.state_dict()));
    }
    tensors.extend(gan.opt_g.state_dict("opt_g."));
    tensors.extend(gan.opt_d.state_dict("opt_d."));
    let info = CheckpointInfo {
        config,
        progress,
        noise_rng,
        opt_steps: [gan.opt_g.steps, gan.opt_d.steps],
        data_shape: gan.spec.x_shape,
        class_names: &gan.class_names,
    };
    checkpoint::write(path, &tensors, &info)
}

/// Puts a checkpoint's weights and optimiser states into `gan`; a model that does not fit is
/// one clear error.
pub fn restore(loaded: &Loaded, gan: &mut Gan) -> Result<()> {
    let bad = |m: String| Error::Checkpoint { path: loaded.path.clone(), message: m };
    gan.g.load_state_dict(G_PREFIX, &loaded.file.tensors).map_err(|m| bad(format!("generator: {m}")))?;
    gan.d.load_state_dict(D_PREFIX, &loaded.file.tensors).map_err(|m| bad(format!("discriminator: {m}")))?;
    if let Some(e) = &mut gan.g_label {
        e.load_state_dict(G_LABEL_PREFIX, &loaded.file.tensors).map_err(|m| bad(format!("generator label embedding: {m}")))?;
    }
    if let Some(e) = &mut gan.d_label {
        e.load_state_dict(D_LABEL_PREFIX, &loaded.file.tensors).map_err(|m| bad(format!("discriminator label embedding: {m}")))?;
    }
    let device = gan.g.device();
    gan.opt_g.load_state_dict("opt_g.", &loaded.file.tensors, &device);
    gan.opt_d.load_state_dict("opt_d.", &loaded.file.tensors, &device);
    let g_nets = &mut with_label(&mut gan.g, gan.g_label.as_mut());
    gan.opt_g.check_fits(g_nets).map_err(|m| bad(format!("generator optimiser: {m}")))?;
    let d_nets = &mut with_label(&mut gan.d, gan.d_label.as_mut());
    gan.opt_d.check_fits(d_nets).map_err(|m| bad(format!("discriminator optimiser: {m}")))?;
    [gan.opt_g.steps, gan.opt_d.steps] = loaded.opt_steps;
    Ok(())
}
