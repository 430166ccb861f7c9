//! The compute device: chosen once (`--device`, config field `device`), turned into a burn
//! [`Device`] here and passed down. This is the one place outside the kernels' dispatch that names
//! a backend, and the one place values are read back from a device ([`read_back`], counted so a
//! test can hold training to one read per generator step).

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// Where tensors live: `cpu` (burn's flex backend with gantry's kernels), or a GPU through burn's
/// wgpu backend (`wgpu`, or `vulkan` pinned to Vulkan), optionally the N-th discrete GPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeviceChoice {
    #[default]
    Cpu,
    Wgpu(Option<usize>),
    Vulkan(Option<usize>),
}

pub const DEVICE_NAMES: &str = "cpu, wgpu, wgpu:N, vulkan, vulkan:N";

impl FromStr for DeviceChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::config("device", format!("`{s}` is not a device; expected one of {DEVICE_NAMES}"));
        let (name, index) = match s.split_once(':') {
            Some((n, i)) => (n, Some(i.parse::<usize>().map_err(|_| bad())?)),
            None => (s, None),
        };
        match (name, index) {
            ("cpu", None) => Ok(Self::Cpu),
            ("wgpu", i) => Ok(Self::Wgpu(i)),
            ("vulkan", i) => Ok(Self::Vulkan(i)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, index) = match self {
            Self::Cpu => ("cpu", None),
            Self::Wgpu(i) => ("wgpu", *i),
            Self::Vulkan(i) => ("vulkan", *i),
        };
        match index {
            Some(i) => write!(f, "{name}:{i}"),
            None => f.write_str(name),
        }
    }
}

impl Serialize for DeviceChoice {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|_| serde::de::Error::custom(format!("`{s}` is not a device; expected one of {DEVICE_NAMES}")))
    }
}

impl DeviceChoice {
    pub fn is_cpu(self) -> bool {
        self == Self::Cpu
    }

    /// For serde's `skip_serializing_if` (configs of CPU runs do not name the device).
    pub fn is_cpu_ref(&self) -> bool {
        self.is_cpu()
    }

    /// The burn device for plain (inference) work; `.autodiff()` of it for training.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu(i) => Ok(Device::wgpu(gpu_kind(i))),
            #[cfg(feature = "vulkan")]
            Self::Vulkan(i) => Ok(Device::vulkan(gpu_kind(i))),
            #[allow(unreachable_patterns)]
            other => Err(Error::config(
                "device",
                format!("this gantry was built without GPU support, so `{other}` is not available; rebuild with `cargo build --release --features gpu`, or use --device cpu"),
            )),
        }
    }
}

#[cfg(any(feature = "wgpu", feature = "vulkan"))]
fn gpu_kind(index: Option<usize>) -> burn::tensor::DeviceKind {
    match index {
        Some(i) => burn::tensor::DeviceKind::DiscreteGpu(i),
        None => burn::tensor::DeviceKind::DefaultDevice,
    }
}

/// The host's own device, for work that never leaves the CPU (reading images into a picture,
/// statistics of a data set shown once).
pub fn host_device() -> Device {
    Device::flex()
}

thread_local! {
    static READ_BACKS: Cell<u64> = const { Cell::new(0) };
}

/// A tensor's values on the host, as f32. Every read of a device value goes through here: on a
/// GPU each one waits for the device, so the training step reads all its numbers in one go.
pub fn read_back<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    READ_BACKS.with(|c| c.set(c.get() + 1));
    t.to_data().convert::<f32>().try_to_vec::<f32>().expect("float tensor")
}

/// How many times this thread has read values back from a device.
pub fn read_back_count() -> u64 {
    READ_BACKS.with(Cell::get)
}
