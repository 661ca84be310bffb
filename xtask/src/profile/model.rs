//! What the report is made of. The orchestrator fills a [`ReportInput`] from the tools' outputs;
//! the renderer and the findings only read it (so they can be tested on a fixture).

use serde::{Deserialize, Serialize};

use super::provenance::Provenance;
use super::runlog::StepRecord;
use super::symbols::Chosen;

/// `Ok` value or the reason it is missing — serialised as `{"ok": …}` / `{"missing": "…"}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Avail<T> {
    Ok(T),
    Missing(String),
}

impl<T> Avail<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Avail::Ok(v) => Some(v),
            Avail::Missing(_) => None,
        }
    }
    pub fn missing(reason: impl Into<String>) -> Self {
        Avail::Missing(reason.into())
    }
}

impl<T> From<Result<T, String>> for Avail<T> {
    fn from(r: Result<T, String>) -> Self {
        match r {
            Ok(v) => Avail::Ok(v),
            Err(e) => Avail::Missing(e),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Environment {
    pub cpu_model: String,
    pub cores: u64,
    pub kernel: String,
    pub python: String,
    pub numpy_version: String,
    pub numpy_baseline: Vec<String>,
    /// Dispatch targets NumPy found on this CPU (`__cpu_dispatch__` ∩ available features).
    pub numpy_dispatch_available: Vec<String>,
    pub raptors_version: String,
    /// Level Raptors uses in a normal run (RAPTORS_SIMD unset).
    pub raptors_simd_level: String,
    pub raptors_levels_available: Vec<String>,
}

/// The functions chosen for one op × dtype on every side analysed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OpFunctions {
    pub op: String,
    pub dtype: String,
    pub numpy_x86: Avail<Chosen>,
    /// Other dispatch variants of NumPy's function in the library (the real run may pick one).
    pub numpy_x86_variants: Vec<String>,
    /// What callgrind saw Raptors run (AVX2 level: valgrind hides AVX-512).
    pub raptors_x86_valgrind: Avail<Chosen>,
    /// The same kernel at the level the real run on this machine uses.
    pub raptors_x86_real: Avail<Chosen>,
    pub numpy_aarch64: Avail<Chosen>,
    pub raptors_aarch64: Avail<Chosen>,
}

/// One innermost loop, as measured by `raptors-asm compare`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LoopMetrics {
    pub symbol: String,
    pub address_range: String,
    pub instructions_per_iteration: f64,
    pub elements_per_iteration: Option<f64>,
    pub instructions_per_element: Option<f64>,
    pub loads: f64,
    pub stores: f64,
    pub adds: f64,
    pub fmas: f64,
    pub vector_bits: u32,
    /// Calls inside the loop body (an intrinsic helper that was not inlined shows up here).
    #[serde(default)]
    pub calls: f64,
    pub unroll: Option<f64>,
    pub accumulators: Option<f64>,
    /// Bytes read / written per iteration through the loop's address streams.
    #[serde(default)]
    pub bytes_read: Option<f64>,
    #[serde(default)]
    pub bytes_written: Option<f64>,
    #[serde(default)]
    pub read_streams: Option<f64>,
}

impl LoopMetrics {
    /// Bytes moved (read + written) per *input* element of a loop that accumulates into its
    /// output (the output stream is read and written back, as in an axis-0 reduction): the input
    /// elements are what is read beyond the output.
    pub fn accumulate_bytes_per_input_element(&self, element_bytes: f64) -> Option<f64> {
        let (r, w) = (self.bytes_read?, self.bytes_written?);
        let input_elements = (r - w) / element_bytes;
        (input_elements > 0.0).then(|| (r + w) / input_elements)
    }

    pub fn per_element(&self, per_iter: f64) -> Option<f64> {
        self.elements_per_iteration
            .filter(|e| *e > 0.0)
            .map(|e| per_iter / e)
    }
}

/// NumPy's and Raptors's innermost loops for one op × dtype × architecture.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HotLoopPair {
    pub op: String,
    pub dtype: String,
    /// "x86_64" or "aarch64".
    pub arch: String,
    /// Which Raptors build: "avx512 (real run)", "avx2 (valgrind)", "neon".
    pub raptors_variant: String,
    pub numpy: Avail<LoopMetrics>,
    pub raptors: Avail<LoopMetrics>,
    /// raptors-asm compare's human-readable side-by-side text.
    pub side_by_side: String,
}

/// Instructions executed per element under callgrind (AVX2-or-lower paths), per side.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ExecutedIr {
    pub op: String,
    pub dtype: String,
    /// Elements processed during the op's dump (repetitions × n²).
    pub elements: u64,
    /// Ir inside NumPy's / Raptors's extension module per element.
    pub numpy_ir_per_element: Option<f64>,
    pub raptors_ir_per_element: Option<f64>,
}

/// ISA profile of one analysed function (from `raptors-asm simd`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct IsaRow {
    /// "NumPy" or "Raptors".
    pub side: String,
    pub arch: String,
    pub function: String,
    pub max_vector_bits: u64,
    /// ISA extensions present, most used first (e.g. "AVX2 ×12").
    pub extensions: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TimingRow {
    pub op: String,
    pub dtype: String,
    pub size: String,
    /// Median of NumPy time / Raptors time.
    pub speedup: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub numpy_seconds: Option<f64>,
    pub raptors_seconds: Option<f64>,
}

impl TimingRow {
    pub fn verdict(&self) -> &'static str {
        if self.ci_low > 1.0 {
            "Raptors faster"
        } else if self.ci_high < 1.0 {
            "NumPy faster"
        } else {
            "no significant difference"
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Timings {
    pub rows: Vec<TimingRow>,
    /// The A/A self-check (NumPy vs NumPy) as the runner summarised it.
    pub aa_check: Option<String>,
    pub plots: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Counters {
    /// Classified status, e.g. "ok", "no PMU", "permission", "perf not installed",
    /// "container refused".
    pub status: String,
    pub detail: String,
    /// What was measured instead (e.g. "callgrind Ir"), if anything.
    pub fallback: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Artifact {
    pub name: String,
    pub bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReportInput {
    pub provenance: Provenance,
    /// "quick" or "full".
    pub mode: String,
    pub command: String,
    /// Set when running inside the profile container.
    pub in_container: bool,
    pub steps: Vec<StepRecord>,
    pub environment: Avail<Environment>,
    /// Raptors's level under valgrind (as reported by the driver).
    pub valgrind_raptors_level: Option<String>,
    /// Executed instructions per element (callgrind), one row per op × dtype.
    #[serde(default)]
    pub executed: Vec<ExecutedIr>,
    /// Widest vectors and ISA extensions of every analysed function.
    #[serde(default)]
    pub isa: Vec<IsaRow>,
    pub functions: Vec<OpFunctions>,
    pub loops: Vec<HotLoopPair>,
    pub timings: Avail<Timings>,
    pub counters: Avail<Counters>,
    pub artifacts: Vec<Artifact>,
}
