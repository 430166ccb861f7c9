//! Which SIMD instructions gantry's own loops use, chosen at run time: one binary runs on any
//! x86-64 CPU and uses AVX-512 or AVX2+FMA where the CPU has them. A hot loop is written once
//! (plain Rust the compiler vectorises) and compiled three times by [`simd_dispatch!`]; every
//! version does the same arithmetic in the same order, so results do not depend on the CPU.
//!
//! `GANTRY_SIMD=scalar|avx2|avx512` caps the level (to compare paths on one machine); tests set it
//! with [`set_cap`].

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction-set level, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Simd {
    /// The x86-64 baseline (SSE2), or any other architecture.
    Scalar,
    Avx2,
    Avx512,
}

impl Simd {
    pub const ALL: [Simd; 3] = [Simd::Scalar, Simd::Avx2, Simd::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            Simd::Scalar => "scalar",
            Simd::Avx2 => "avx2+fma",
            Simd::Avx512 => "avx512",
        }
    }
}

/// What this CPU supports.
pub fn detected() -> Simd {
    static DETECTED: OnceLock<Simd> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512vl") && has!("avx512bw") && has!("avx512dq") && has_avx2() {
                return Simd::Avx512;
            }
            if has_avx2() {
                return Simd::Avx2;
            }
        }
        Simd::Scalar
    })
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// 0: not read yet; else 1 + the capped level.
static CAP: AtomicU8 = AtomicU8::new(0);

fn from_index(i: u8) -> Simd {
    Simd::ALL[i as usize]
}

/// The level the kernels use: what the CPU has, capped by `GANTRY_SIMD` or [`set_cap`].
pub fn level() -> Simd {
    match CAP.load(Ordering::Relaxed) {
        0 => {
            let cap = match std::env::var("GANTRY_SIMD").as_deref() {
                Ok("scalar") => Simd::Scalar,
                Ok("avx2") => Simd::Avx2,
                _ => Simd::Avx512,
            };
            let level = cap.min(detected());
            CAP.store(1 + level as u8, Ordering::Relaxed);
            level
        }
        i => from_index(i - 1),
    }
}

/// Use at most `cap` (never more than the CPU has) from now on, for the whole process.
pub fn set_cap(cap: Simd) {
    CAP.store(1 + cap.min(detected()) as u8, Ordering::Relaxed);
}

/// The levels this machine can run, lowest first (what a test compares).
pub fn available() -> Vec<Simd> {
    Simd::ALL.into_iter().filter(|&s| s <= detected()).collect()
}

/// What the matrix products (gemm: burn-flex's matmul and gantry's convolutions) use on this CPU:
/// gemm picks its kernels at run time, AVX-512 only when built with its `x86-v4` feature (on).
pub fn gemm_level() -> Simd {
    detected()
}

/// The CPU's model name (`/proc/cpuinfo`), or the architecture where that is not available.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Defines `fn NAME(args) -> R` that runs `body` compiled for the best level [`level`] allows:
/// the body is an `#[inline(always)]` function, instantiated inside `#[target_feature]` wrappers,
/// so the compiler vectorises it with AVX-512 or AVX2+FMA. Call it per chunk of work (inside a
/// rayon closure, not around it: closures handed to rayon are not compiled with the features).
#[macro_export]
macro_rules! simd_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
            fn avx512($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
            match $crate::kernels::simd::level() {
                // SAFETY: `level()` is never above what the CPU supports (`detected()`).
                #[cfg(target_arch = "x86_64")]
                $crate::kernels::simd::Simd::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                $crate::kernels::simd::Simd::Avx2 => unsafe { avx2($($arg),*) },
                _ => body($($arg),*),
            }
        }
    };
}
