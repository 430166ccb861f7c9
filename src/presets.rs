//! Presets: one TOML file per experiment under `presets/`, compiled into the binary.

pub const PRESETS: &[(&str, &str)] = &[
    ("dcgan-infogan-mnist", include_str!("../presets/dcgan-infogan-mnist.toml")),
    ("dcgan-upsample-fashion-mnist", include_str!("../presets/dcgan-upsample-fashion-mnist.toml")),
    ("dcgan-upsample-mnist", include_str!("../presets/dcgan-upsample-mnist.toml")),
    ("dcgan28-mnist", include_str!("../presets/dcgan28-mnist.toml")),
    ("dcgan32-cifar10", include_str!("../presets/dcgan32-cifar10.toml")),
    ("dcgan64-celeba", include_str!("../presets/dcgan64-celeba.toml")),
    ("default", include_str!("../presets/default.toml")),
    ("lsgan-mnist", include_str!("../presets/lsgan-mnist.toml")),
    ("mlp-bn-fashion-mnist", include_str!("../presets/mlp-bn-fashion-mnist.toml")),
    ("mlp-bn-mnist", include_str!("../presets/mlp-bn-mnist.toml")),
    ("toy-grid25", include_str!("../presets/toy-grid25.toml")),
    ("toy-ring8", include_str!("../presets/toy-ring8.toml")),
    ("vanilla-mnist", include_str!("../presets/vanilla-mnist.toml")),
];

use crate::error::{Error, Result};
use crate::train::config::TrainConfig;

pub fn preset(name: &str) -> Result<TrainConfig> {
    let (_, text) = PRESETS.iter().find(|p| p.0 == name).ok_or_else(|| {
        Error::config("preset", format!("unknown preset `{name}`; `gantry presets` lists them"))
    })?;
    TrainConfig::from_toml(text, &format!("preset {name}"))
}
