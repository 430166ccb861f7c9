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

    /// The burn device for plain (inference) work; `.autodiff()` of it for training. A GPU is
    /// opened once per process (its adapter is acquired here, so a missing driver is an error, not
    /// a panic at the first tensor) and the same device is handed out afterwards.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu(_) | Self::Vulkan(_) => gpu::open(self).map(|g| g.device),
            #[allow(unreachable_patterns)]
            other => Err(Error::config(
                "device",
                format!("this gantry was built without GPU support, so `{other}` is not available; rebuild with `cargo build --release --features gpu`, or use --device cpu"),
            )),
        }
    }

    /// What the device is, for people: the CPU, or the GPU adapter's name and graphics API.
    pub fn describe(self) -> String {
        match self {
            Self::Cpu => "cpu (flex backend)".into(),
            #[cfg(feature = "wgpu")]
            _ => match gpu::open(self) {
                Ok(g) => format!("{self}: {}", g.adapter),
                Err(e) => format!("{self}: {e}"),
            },
            #[cfg(not(feature = "wgpu"))]
            _ => format!("{self} (not built in)"),
        }
    }
}

#[cfg(feature = "wgpu")]
mod gpu {
    use std::sync::Mutex;

    use burn::tensor::wgpu::WgpuBackend;
    use burn::tensor::{Device, DeviceKind};

    use super::DeviceChoice;
    use crate::error::{Error, Result};

    #[derive(Clone)]
    pub struct Opened {
        pub device: Device,
        pub adapter: String,
    }

    /// burn initialises a wgpu runtime once per process; later requests reuse it.
    static OPENED: Mutex<Vec<(DeviceChoice, Opened)>> = Mutex::new(Vec::new());

    pub fn open(choice: DeviceChoice) -> Result<Opened> {
        let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, o)) = opened.iter().find(|(c, _)| *c == choice) {
            return Ok(o.clone());
        }
        let (index, api) = match choice {
            DeviceChoice::Wgpu(i) => (i, WgpuBackend::Auto),
            DeviceChoice::Vulkan(i) => (i, WgpuBackend::Vulkan),
            DeviceChoice::Cpu => unreachable!("the CPU is not a wgpu device"),
        };
        let kind = match index {
            Some(i) => DeviceKind::DiscreteGpu(i),
            None => DeviceKind::DefaultDevice,
        };
        let (device, setup) = Device::wgpu_options().device_kind(kind).graphics_api(api).init_with_setup().map_err(|e| {
            Error::config(
                "device",
                format!("`{choice}` could not be opened: {e} (is a Vulkan driver installed? `vulkaninfo --summary` lists them; Debian's mesa-vulkan-drivers has a software one)"),
            )
        })?;
        let info = setup.adapter.get_info();
        let adapter = format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
        let o = Opened { device, adapter };
        opened.push((choice, o.clone()));
        Ok(o)
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
