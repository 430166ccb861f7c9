//! Generators trained elsewhere: a PyTorch state dict (`torch.save(G.state_dict(), …)` as `.pth`
//! zip or legacy pickle, or a `.safetensors` file, or tensors handed over from Python) loaded
//! into a gantry model of the same architecture (unconditional), so that every evaluation, the mode report and
//! interpolation take it as they take a run's generator.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::trained::TrainedModel;
use crate::config::TrainConfig;
use crate::data;
use crate::error::{Error, Result};
use crate::model::{GeneratorNet, LayerSpec, NamedTensor, Noise, zoo};

/// What gantry needs to know besides the tensors: the zoo model with the same layers, and the
/// data it was trained on (shape, classes, the mode report's classifier).
#[derive(Clone, Debug)]
pub struct ForeignModel {
    /// A `gantry models` name, e.g. `dcgan-28`.
    pub model: String,
    /// The dataset it was trained on (default: `mnist` for 1×28×28 models).
    pub dataset: Option<String>,
    /// The length of z (default: read off the first layer's weight).
    pub z_dim: Option<usize>,
    pub noise: Noise,
    /// Image channels for models that take 1 or 3.
    pub channels: Option<usize>,
}

impl ForeignModel {
    pub fn new(model: &str) -> Self {
        Self { model: model.to_string(), dataset: None, z_dim: None, noise: Noise::Normal, channels: None }
    }
}

/// The tensors of a weights file: `.safetensors`, or a PyTorch `.pth` (zip or legacy format).
pub fn read_weights(path: &Path) -> Result<HashMap<String, NamedTensor>> {
    if !path.exists() {
        let why = std::io::Error::new(std::io::ErrorKind::NotFound, "no such weights file (expected a PyTorch state_dict saved with torch.save, or .safetensors)");
        return Err(Error::io(path, why));
    }
    crate::pth::read_named(path)
}

impl TrainedModel {
    /// A generator of zoo model `m.model` with the weights of `tensors` (a state dict whose names
    /// may carry the saving module's prefix: `network.0.weight`, `main.0.weight`, `G.0.weight`
    /// or none). `origin` names the weights in messages; reports go beside it.
    pub fn from_state_dict(tensors: &HashMap<String, NamedTensor>, m: &ForeignModel, origin: &Path, device: &Device) -> Result<Self> {
        let entry = zoo::model(&m.model)?;
        let shape = entry.default_shape(m.channels);
        let dataset = match &m.dataset {
            Some(d) => d.clone(),
            None if shape == [1, 28, 28] => "mnist".to_string(),
            None => return Err(Error::config("dataset", format!("name the dataset {} was trained on (its images are {shape:?})", m.model))),
        };
        let data_kind = data::kind(&dataset)?;
        let mut config = TrainConfig { model: m.model.clone(), dataset: dataset.clone(), noise: m.noise, ..TrainConfig::default() };
        let bad = |message: String| Error::bad_file(origin, message);
        // The prefix and z's length are read off the file with a provisional spec; the spec is
        // then built for that z.
        let provisional = GeneratorNet::new(config.gan_spec(shape, 0)?, config.noise, device);
        let expected = provisional.g.state_dict();
        let first = expected.first().ok_or_else(|| bad(format!("model {} has no parameters", m.model)))?;
        let prefix = module_prefix(tensors, &expected).ok_or_else(|| {
            bad(format!("no tensor named `{}` (under any module prefix) — is this the state_dict of a {} generator? It holds {}", first.name, m.model, listing(tensors)))
        })?;
        let in_file = z_dim_of(&provisional, tensors, &prefix);
        config.z_dim = match (m.z_dim, in_file) {
            (Some(z), Some(f)) if z != f => return Err(Error::config("z_dim", format!("{z} given, but the first layer of {} takes {f}", origin.display()))),
            (Some(z), _) => z,
            (None, f) => f.unwrap_or(config.z_dim),
        };
        if config.z_dim == 0 || config.z_dim > 1 << 20 {
            return Err(bad(format!("the first layer takes an input of {}; not a generator's z", config.z_dim)));
        }
        let mut generator = GeneratorNet::new(config.gan_spec(shape, 0)?, config.noise, device);
        generator.load_state_dict(tensors, &prefix, "").map_err(|message| bad(format!("{message} (model {}, z_dim {})", m.model, config.z_dim)))?;
        let names: HashSet<String> = generator.g.state_dict().into_iter().map(|t| t.name).collect();
        let mut keys: Vec<&String> = tensors.keys().filter(|k| k.starts_with(&prefix)).collect();
        keys.sort();
        if let Some(extra) = keys.into_iter().find(|k| !is_expected(&k[prefix.len()..], &names)) {
            return Err(bad(format!("tensor `{extra}` is not part of a {} generator (model {}, z_dim {})", m.model, m.model, config.z_dim)));
        }
        Ok(Self {
            generator,
            config,
            path: origin.to_path_buf(),
            run_dir: origin.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")),
            data_kind,
            skipped_checkpoints: vec![],
            step: 0,
            from_run: false,
            recorded_class_names: (data_kind.class_names)(&dataset),
        })
    }

    /// [`TrainedModel::from_state_dict`] of a weights file.
    pub fn from_weights(path: &Path, m: &ForeignModel, device: &Device) -> Result<Self> {
        Self::from_state_dict(&read_weights(path)?, m, path, device)
    }
}

/// The prefix under which `tensors` holds the most of `expected`'s names (every candidate ends
/// with `.` or is empty); None when no name is found under any prefix.
fn module_prefix(tensors: &HashMap<String, NamedTensor>, expected: &[NamedTensor]) -> Option<String> {
    let first = &expected[0].name;
    let mut candidates: Vec<String> = tensors
        .keys()
        .filter_map(|k| k.strip_suffix(first.as_str()))
        .filter(|p| p.is_empty() || p.ends_with('.'))
        .map(str::to_string)
        .collect();
    candidates.sort();
    let found = |p: &String| expected.iter().filter(|t| tensors.get(&format!("{p}{}", t.name)).is_some_and(|f| f.shape == t.shape || t.name == *first)).count();
    // Most names found first; among equals, the shortest prefix.
    candidates.into_iter().max_by(|a, b| found(a).cmp(&found(b)).then(b.len().cmp(&a.len())))
}

/// z's length as the first layer's weight says it (ConvTranspose2d `[in, out, k, k]`, Linear
/// `[out, in]`).
fn z_dim_of(g: &GeneratorNet, tensors: &HashMap<String, NamedTensor>, prefix: &str) -> Option<usize> {
    let (i, layer) = g.spec.g.layers.iter().enumerate().find(|(_, l)| matches!(l, LayerSpec::ConvT { .. } | LayerSpec::Linear { .. } | LayerSpec::Conv { .. }))?;
    let w = tensors.get(&format!("{prefix}{i}.weight"))?;
    match layer {
        LayerSpec::Linear { .. } => w.shape.get(1).copied(),
        LayerSpec::ConvT { .. } => w.shape.first().copied(),
        _ => w.shape.get(1).copied(),
    }
}

/// Whether `key` is one of G's tensors, or a buffer PyTorch saves that gantry does not keep
/// (BatchNorm's `num_batches_tracked`).
fn is_expected(name: &str, names: &HashSet<String>) -> bool {
    name.ends_with(".num_batches_tracked") || names.contains(name)
}

fn listing(tensors: &HashMap<String, NamedTensor>) -> String {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let shown: Vec<String> = names.iter().take(6).map(|n| format!("`{n}`")).collect();
    let more = if names.len() > 6 { format!(" and {} more", names.len() - 6) } else { String::new() };
    if names.is_empty() { "no tensors".into() } else { format!("{}{more}", shown.join(", ")) }
}
