//! What the report is rendered from: [`ReportInput`] (written as `report.json`, the timings aside)
//! and its parts that are not choices ([`IsaRow`], [`LoopPair`]); `hot_loops.json` is a view of it.

use raptors_asm::differences::Difference;
use raptors_asm::loops::Loop;
use raptors_asm::mca_set::McaSet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::picks::{Executed, ExecutedLoop, OpPicks};
use super::record::StepRecord;
use crate::cycles::HostCheck;
use crate::machine::Environment;
use crate::model::Results;
use crate::provenance::Provenance;
use crate::summary::{summarize, ResultsSummary};
use crate::valgrind::ValgrindLevel;

/// Widest vectors and ISA extensions of one analysed function (`raptors-asm simd`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsaRow {
    pub side: String,
    pub arch: String,
    pub function: String,
    pub max_vector_bits: u64,
    /// Extensions used, most first (`AVX2 ×12`).
    pub extensions: Vec<String>,
}

/// NumPy's and Raptors's hot loops for one op × dtype × architecture × build.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoopPair {
    pub op: String,
    pub dtype: String,
    pub arch: String,
    /// `real run`, `under valgrind` (measured architecture) or `static`.
    pub build: String,
    /// (function, its hot loop), or why there is none.
    pub numpy: Result<(String, Loop), String>,
    pub raptors: Result<(String, Loop), String>,
    /// raptors-asm's differences (NumPy as side A) and its side-by-side table.
    pub differences: Vec<Difference>,
    pub comparison: String,
    /// The two loop bodies in columns (`raptors_asm::compare::bodies_side_by_side`).
    #[serde(default)]
    pub bodies: String,
}

fn not_predicted<T>() -> Result<T, String> {
    Err("not in this report (written before predictions existed)".into())
}

fn timings_elsewhere() -> Result<Results, String> {
    Err("the timings are in timings.json".into())
}

/// Everything the report is rendered from (written as `report.json`, the timings aside).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportInput {
    pub provenance: Provenance,
    pub quick: bool,
    pub command: String,
    pub in_container: bool,
    pub host: String,
    /// Analysed architectures and whether each was measured (else static).
    pub archs: Vec<(String, bool)>,
    pub steps: Vec<StepRecord>,
    pub environment: Result<Environment, String>,
    /// The level valgrind ran Raptors at, or why callgrind did not run.
    pub valgrind: Result<ValgrindLevel, String>,
    /// Ok when the real run was sampled, else why not.
    pub sampling: Result<(), String>,
    pub executed: Vec<Executed>,
    pub isa: Vec<IsaRow>,
    pub functions: Vec<OpPicks>,
    pub loops: Vec<LoopPair>,
    /// Hot loops chosen by callgrind's per-instruction counts, with the per-element check.
    #[serde(default)]
    pub executed_loops: Vec<ExecutedLoop>,
    #[serde(skip, default = "timings_elsewhere")]
    pub timings: Result<Results, String>,
    /// perf's classified status and the fallback, as raptors-bench words it.
    pub counters: Result<String, String>,
    /// llvm-mca's predictions of every hot loop (`mca.json`), or why there are none.
    #[serde(default = "not_predicted")]
    pub mca: Result<McaSet, String>,
    /// The host model's predictions against measured cycles per element, or why not checked.
    #[serde(default = "not_predicted")]
    pub host_check: Result<HostCheck, String>,
    pub artifacts: Vec<(String, u64)>,
}

impl ReportInput {
    /// How the machine was emulated (qemu-user), if it was.
    pub fn emulation(&self) -> Option<String> {
        self.environment
            .as_ref()
            .ok()?
            .emulation
            .as_ref()
            .map(|e| e.describe())
    }

    /// The timings' typed summary, when there are timings.
    pub fn summary(&self) -> Option<ResultsSummary> {
        self.timings.as_ref().ok().map(summarize)
    }

    /// `hot_loops.json`: the chosen functions, the loops side by side, the executed
    /// instructions and the loops by execution.
    pub fn hot_loops_json(&self) -> Value {
        json!({"functions": self.functions, "loops": self.loops,
            "executed": self.executed, "executed_loops": self.executed_loops})
    }

    /// `report.json`: everything but the timings (in `timings.json`) and the provenance (the
    /// header every artifact gets).
    pub fn report_json(&self) -> serde_json::Result<Value> {
        let mut value = serde_json::to_value(self)?;
        if let Some(o) = value.as_object_mut() {
            o.remove("provenance");
        }
        Ok(value)
    }
}
