//! Runtime ISA selection: `SimdLevel`, per-level function tables, `RAPTORS_SIMD`, `RAPTORS_THREADS`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::error::KernelError;

/// An instruction-set level with its own kernels.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum SimdLevel {
    /// Portable code, one element at a time (every machine).
    Scalar,
    /// x86-64 SSE2, 128-bit.
    Sse2,
    /// x86-64 AVX2, 256-bit.
    Avx2,
    /// x86-64 AVX-512F, 512-bit.
    Avx512,
    /// AArch64 NEON (Advanced SIMD), 128-bit.
    Neon,
}

impl SimdLevel {
    /// Every level, in order (`scalar < sse2 < avx2 < avx512 < neon`).
    pub const ALL: [SimdLevel; 5] = [
        SimdLevel::Scalar,
        SimdLevel::Sse2,
        SimdLevel::Avx2,
        SimdLevel::Avx512,
        SimdLevel::Neon,
    ];

    /// The name accepted by `RAPTORS_SIMD`.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Sse2 => "sse2",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
            SimdLevel::Neon => "neon",
        }
    }

    /// Whether this build and CPU can run the level.
    pub fn is_available(self) -> bool {
        self.unavailable_reason().is_none()
    }

    /// Why the level cannot run here, `None` if it can.
    pub(crate) fn unavailable_reason(self) -> Option<String> {
        match self {
            SimdLevel::Scalar => None,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Sse2 => (!std::arch::is_x86_feature_detected!("sse2"))
                .then(|| "the CPU does not report sse2".to_string()),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => (!std::arch::is_x86_feature_detected!("avx2"))
                .then(|| "the CPU/OS does not report avx2".to_string()),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => (!std::arch::is_x86_feature_detected!("avx512f"))
                .then(|| "the CPU/OS does not report avx512f".to_string()),
            #[cfg(target_arch = "aarch64")]
            SimdLevel::Neon => (!std::arch::is_aarch64_feature_detected!("neon"))
                .then(|| "the CPU does not report neon".to_string()),
            #[allow(unreachable_patterns)]
            other => Some(format!(
                "{} kernels are not compiled for target architecture {}",
                other.name(),
                std::env::consts::ARCH
            )),
        }
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SimdLevel {
    type Err = KernelError;
    /// Parses a level name (case-insensitive); `auto` is not a level, see [`resolve_simd_env`].
    fn from_str(s: &str) -> Result<Self, KernelError> {
        let t = s.trim();
        SimdLevel::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| KernelError::InvalidSimdEnv {
                value: s.to_string(),
            })
    }
}

/// Scalar always, then every level this CPU supports (in `SimdLevel::ALL` order).
pub fn available_levels() -> Vec<SimdLevel> {
    SimdLevel::ALL
        .into_iter()
        .filter(|l| l.is_available())
        .collect()
}

/// The fastest available level.
pub fn best_level() -> SimdLevel {
    available_levels()
        .into_iter()
        .max()
        .unwrap_or(SimdLevel::Scalar)
}

/// Resolves a `RAPTORS_SIMD` value (pure: pass `std::env::var("RAPTORS_SIMD").ok()`). Unset, empty
/// or `auto` picks the best level; a named level must be available, else `SimdUnavailable`.
pub fn resolve_simd_env(value: Option<&str>) -> Result<SimdLevel, KernelError> {
    let v = value.map(str::trim).unwrap_or("");
    if v.is_empty() || v.eq_ignore_ascii_case("auto") {
        return Ok(best_level());
    }
    let level: SimdLevel = v.parse().map_err(|_| KernelError::InvalidSimdEnv {
        value: value.unwrap_or_default().to_string(),
    })?;
    match level.unavailable_reason() {
        None => Ok(level),
        Some(reason) => Err(KernelError::SimdUnavailable { level, reason }),
    }
}

/// The level in use: `RAPTORS_SIMD` resolved once per process.
pub fn simd_level() -> Result<SimdLevel, KernelError> {
    Kernels::active().map(|k| k.level)
}

pub(crate) type BinFn<T> = unsafe fn(*const T, *const T, *mut T, usize, bool);
pub(crate) type SumFn<T> = unsafe fn(*const T, usize) -> f64;
pub(crate) type MinMaxFn<T> = unsafe fn(*const T, usize) -> T;
pub(crate) type Axis0Fn<T> = unsafe fn(*const T, usize, usize, isize, *mut T);
pub(crate) type Axis1Fn<T> = unsafe fn(*const T, usize, usize, isize, *mut T, isize, f64);

/// The kernels of one level for one element type (see `arch::isa_kernels!`).
pub struct Table<T> {
    /// `[mode][op]`: mode 0 array-array, 1 array-scalar, 2 scalar-array; op in `BinaryOp` order.
    pub(crate) binary: [[BinFn<T>; 4]; 3],
    pub(crate) sum: SumFn<T>,
    /// `[min, max]`.
    pub(crate) minmax: [MinMaxFn<T>; 2],
    /// `[sum, min, max]`.
    pub(crate) axis0: [Axis0Fn<T>; 3],
    /// `[sum, min, max]`.
    pub(crate) axis1: [Axis1Fn<T>; 3],
}

/// A level plus its function tables. Obtain one with [`Kernels::active`] or [`Kernels::for_level`].
pub struct Kernels {
    pub(crate) level: SimdLevel,
    pub(crate) f32: Table<f32>,
    pub(crate) f64: Table<f64>,
}

impl fmt::Debug for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernels")
            .field("level", &self.level)
            .finish()
    }
}

static SCALAR: Kernels = Kernels {
    level: SimdLevel::Scalar,
    f32: crate::arch::scalar::TABLE_F32,
    f64: crate::arch::scalar::TABLE_F64,
};
#[cfg(target_arch = "x86_64")]
static SSE2: Kernels = Kernels {
    level: SimdLevel::Sse2,
    f32: crate::arch::x86_64::sse2::TABLE_F32,
    f64: crate::arch::x86_64::sse2::TABLE_F64,
};
#[cfg(target_arch = "x86_64")]
static AVX2: Kernels = Kernels {
    level: SimdLevel::Avx2,
    f32: crate::arch::x86_64::avx2::TABLE_F32,
    f64: crate::arch::x86_64::avx2::TABLE_F64,
};
#[cfg(target_arch = "x86_64")]
static AVX512: Kernels = Kernels {
    level: SimdLevel::Avx512,
    f32: avx512_table(
        crate::arch::x86_64::avx512::TABLE_F32,
        crate::arch::x86_64::avx2::TABLE_F32,
    ),
    f64: avx512_table(
        crate::arch::x86_64::avx512::TABLE_F64,
        crate::arch::x86_64::avx2::TABLE_F64,
    ),
};

/// The AVX-512 level's table, except that array-array element-wise ops (two load streams, one
/// store stream) run the AVX2 kernels: on Zen 4 (512-bit ops double-pumped) those measured 4-9 %
/// faster from L2/L3 with one thread (`add` f32 512²/1024², paired runner, RAPTORS_THREADS=1),
/// the arithmetic being free either way. The results are bit-identical (IEEE ops, no FMA).
#[cfg(target_arch = "x86_64")]
const fn avx512_table<T: Copy>(wide: Table<T>, narrow: Table<T>) -> Table<T> {
    Table {
        binary: [narrow.binary[0], wide.binary[1], wide.binary[2]],
        ..wide
    }
}
#[cfg(target_arch = "aarch64")]
static NEON: Kernels = Kernels {
    level: SimdLevel::Neon,
    f32: crate::arch::aarch64::neon::TABLE_F32,
    f64: crate::arch::aarch64::neon::TABLE_F64,
};

static ACTIVE: OnceLock<Result<&'static Kernels, KernelError>> = OnceLock::new();

impl Kernels {
    /// The kernels selected by `RAPTORS_SIMD` (default `auto`), resolved once and cached.
    pub fn active() -> Result<&'static Kernels, KernelError> {
        ACTIVE
            .get_or_init(|| {
                let env = std::env::var("RAPTORS_SIMD").ok();
                resolve_simd_env(env.as_deref()).and_then(Kernels::for_level)
            })
            .clone()
    }

    /// The kernels of `level`; `SimdUnavailable` when this CPU/build cannot run it.
    pub fn for_level(level: SimdLevel) -> Result<&'static Kernels, KernelError> {
        if let Some(reason) = level.unavailable_reason() {
            return Err(KernelError::SimdUnavailable { level, reason });
        }
        let k: Option<&'static Kernels> = match level {
            SimdLevel::Scalar => Some(&SCALAR),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Sse2 => Some(&SSE2),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => Some(&AVX2),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => Some(&AVX512),
            #[cfg(target_arch = "aarch64")]
            SimdLevel::Neon => Some(&NEON),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        k.ok_or_else(|| KernelError::SimdUnavailable {
            level,
            reason: format!("not compiled for {}", std::env::consts::ARCH),
        })
    }

    /// The level these kernels belong to.
    ///
    /// ```
    /// use raptors_kernels::{Kernels, SimdLevel};
    /// assert_eq!(Kernels::for_level(SimdLevel::Scalar).unwrap().level(), SimdLevel::Scalar);
    /// ```
    pub fn level(&self) -> SimdLevel {
        self.level
    }
}

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Parses a `RAPTORS_THREADS` value (pure): unset/empty -> `default`; a positive integer -> it;
/// anything else -> `Err(message)`.
pub fn parse_threads_env(value: Option<&str>, default: usize) -> Result<usize, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!(
                "invalid RAPTORS_THREADS value {v:?}: expected a positive integer"
            )),
        },
    }
}

/// Overrides the number of threads large kernels may use (1 disables parallelism; 0 is taken as 1).
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// Threads large kernels may use: `set_threads`, else `RAPTORS_THREADS`, else available cores.
/// An invalid `RAPTORS_THREADS` is reported once on stderr and the default is used (this function
/// cannot fail).
pub fn threads() -> usize {
    let t = THREADS.load(Ordering::Relaxed);
    if t != 0 {
        return t;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let env = std::env::var("RAPTORS_THREADS").ok();
    let n = parse_threads_env(env.as_deref(), cores).unwrap_or_else(|msg| {
        eprintln!("raptors-kernels: {msg}; using {cores} threads");
        cores
    });
    // Only the first caller stores; a concurrent `set_threads` wins.
    let _ = THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed);
    THREADS.load(Ordering::Relaxed)
}
