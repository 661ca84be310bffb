//! Which code really runs each op: one Python driver per dtype (`python/callgrind_driver.py`, ops
//! from the op table) runs every op on NumPy and then on Raptors under
//! `valgrind --tool=callgrind --dump-before=getppid --dump-instr=yes`, separated by marker calls, so
//! each op × side lands in its own profile part. Per part and library: self cost per function
//! (the hottest function is the one that runs the op) and executions per instruction address (to
//! find the hot loop by execution). Works on any host valgrind runs on (x86-64, aarch64); the forced
//! Raptors level comes from [`crate::valgrind`].

pub mod parse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

pub use parse::{parse_dump, read_dumps, Dump, FnCost};
/// Re-exported from raptors-asm (one definition, shared with its symbol-name matching).
pub use raptors_asm::names::strip_recursion;

use crate::valgrind::ValgrindLevel;

pub const CALLGRIND_SCHEMA: &str = "raptors-bench/callgrind/v1";
/// Square size and repetitions: large enough that the inner loop dominates the per-call overhead,
/// small enough that a dtype's run takes seconds to a minute.
pub const DEFAULT_SIZE: usize = 512;
pub const DEFAULT_REPS: usize = 20;

/// What to run.
#[derive(Clone, Debug)]
pub struct CallgrindOptions {
    /// Interpreter with numpy and raptors.
    pub python: PathBuf,
    /// Prepended to PYTHONPATH (tests use a stand-in `raptors`).
    pub pythonpath: Option<PathBuf>,
    pub ops: Vec<String>,
    pub dtypes: Vec<String>,
    pub size: usize,
    pub reps: usize,
    /// `RAPTORS_SIMD` under valgrind; None: the best level valgrind runs ([`valgrind::level_for_python`]).
    pub level: Option<String>,
    /// NumPy's / Raptors's extension module; None: the module the driver reports it loaded.
    pub numpy_lib: Option<PathBuf>,
    pub raptors_lib: Option<PathBuf>,
    /// Where the profile files go; kept when given (else a scratch directory, removed after parsing).
    pub work_dir: Option<PathBuf>,
    /// valgrind processes at once (one per dtype).
    pub jobs: usize,
}

impl CallgrindOptions {
    /// The defaults for `python`: the table's profile ops, f32 and f64, 512², 20 repetitions.
    pub fn new(python: impl Into<PathBuf>) -> Self {
        CallgrindOptions {
            python: python.into(),
            pythonpath: None,
            ops: crate::ops::table()
                .default_ops(crate::ops::Suite::Profile)
                .iter()
                .map(|o| o.name.clone())
                .collect(),
            dtypes: vec!["f32".into(), "f64".into()],
            size: DEFAULT_SIZE,
            reps: DEFAULT_REPS,
            level: None,
            numpy_lib: None,
            raptors_lib: None,
            work_dir: None,
            jobs: 2,
        }
    }
}

/// Self cost of one function of a library during one op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCost {
    /// As callgrind printed it (demangled; Rust names may carry their `::h…` hash).
    pub name: String,
    pub ir: u64,
    /// Runtime entry address (lowest executed address), with `--dump-instr=yes`.
    pub entry: Option<u64>,
}

/// What one library executed during one op × side part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibraryProfile {
    /// The object path callgrind printed.
    pub library: String,
    /// Instructions executed inside the library.
    pub library_ir: u64,
    /// Instructions executed by the whole process during the part (interpreter included).
    pub process_ir: u64,
    /// Every function of the library that executed, hottest first.
    pub functions: Vec<FunctionCost>,
    /// Runtime instruction address → executions, inside the library.
    pub instructions: BTreeMap<u64, u64>,
}

impl LibraryProfile {
    /// The function with the highest self cost: the one that runs the op (None only for a
    /// profile read from a file that lists no function).
    pub fn hottest(&self) -> Option<&FunctionCost> {
        self.functions.first()
    }

    /// `f`'s share of the library's instructions (0–1).
    pub fn share(&self, f: &FunctionCost) -> f64 {
        f.ir as f64 / self.library_ir.max(1) as f64
    }

    /// `(name, runtime entry)` of every executed function with a known entry (load-bias anchors).
    pub fn entries(&self) -> Vec<(String, u64)> {
        self.functions
            .iter()
            .filter_map(|f| f.entry.map(|e| (f.name.clone(), e)))
            .collect()
    }
}

/// One op × dtype: what each library executed, or why nothing is known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpProfile {
    pub op: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub reps: usize,
    /// Input elements processed in each side's part (reps × elements of `x`).
    pub elements: u64,
    pub numpy: Result<LibraryProfile, String>,
    pub raptors: Result<LibraryProfile, String>,
}

impl OpProfile {
    /// Instructions executed inside each library per input element: (NumPy, Raptors).
    pub fn ir_per_element(&self) -> (Option<f64>, Option<f64>) {
        let per = |p: &Result<LibraryProfile, String>| {
            p.as_ref()
                .ok()
                .map(|l| l.library_ir as f64 / self.elements.max(1) as f64)
        };
        (per(&self.numpy), per(&self.raptors))
    }
}

/// One valgrind process (one dtype).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DtypeRun {
    pub dtype: String,
    /// The command line, for the log.
    pub command: String,
    /// Raptors's level as the driver reported it under valgrind.
    pub raptors_level: Option<String>,
    /// Extension modules the driver had loaded: module name → shared object.
    pub modules: BTreeMap<String, String>,
    /// Why this dtype has no profiles (valgrind failed, parts missing, …).
    pub error: Option<String>,
}

/// The result of [`run`] (`raptors-bench callgrind --out FILE`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallgrindRun {
    pub schema: String,
    pub valgrind_version: Option<String>,
    pub level: ValgrindLevel,
    pub size: usize,
    pub reps: usize,
    pub runs: Vec<DtypeRun>,
    pub profiles: Vec<OpProfile>,
}

impl CallgrindRun {
    pub fn profile(&self, op: &str, dtype: &str) -> Option<&OpProfile> {
        self.profiles
            .iter()
            .find(|p| p.op == op && p.dtype == dtype)
    }

    /// Per-dtype failures, one line each (empty when every valgrind run worked).
    pub fn errors(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.dtype)))
            .collect()
    }
}

/// Whether a callgrind object path is the library at `lib` (same file, or the same file name when
/// the paths differ by symlinks that cannot be resolved).
pub fn same_object(object: &str, lib: &Path) -> bool {
    let obj = Path::new(object);
    if obj == lib {
        return true;
    }
    if let (Ok(a), Ok(b)) = (obj.canonicalize(), lib.canonicalize()) {
        return a == b;
    }
    obj.file_name().is_some() && obj.file_name() == lib.file_name()
}

/// What `lib` executed in `dump`, or None if it did not run.
pub fn library_profile(dump: &Dump, lib: &Path) -> Option<LibraryProfile> {
    let mut functions: Vec<FunctionCost> = dump
        .functions
        .iter()
        .filter(|c| same_object(&c.object, lib))
        .map(|c| FunctionCost {
            name: c.function.clone(),
            ir: c.ir,
            entry: c.entry,
        })
        .collect();
    if functions.is_empty() {
        return None;
    }
    functions.sort_by(|x, y| y.ir.cmp(&x.ir).then_with(|| x.name.cmp(&y.name)));
    let library = dump
        .functions
        .iter()
        .find(|c| same_object(&c.object, lib))
        .map(|c| c.object.clone())
        .unwrap_or_default();
    let mut instructions = BTreeMap::new();
    for (object, counts) in &dump.instructions {
        if same_object(object, lib) {
            for (a, n) in counts {
                *instructions.entry(*a).or_insert(0) += n;
            }
        }
    }
    Some(LibraryProfile {
        library,
        library_ir: functions.iter().map(|f| f.ir).sum(),
        process_ir: dump.total_ir,
        functions,
        instructions,
    })
}

/// A driver-reported failure: (op, side, message).
pub type SideError = (String, String, String);

/// Maps one run's parts to ops: part 1 is set-up, then (NumPy, Raptors) per op, then teardown.
/// `ops` are (op, shape) in the driver's order; `errors` are the driver's per-op exceptions.
pub fn attribute(
    dumps: &[Dump],
    ops: &[(String, Vec<usize>)],
    dtype: &str,
    reps: usize,
    numpy_lib: &Path,
    raptors_lib: &Path,
    errors: &[SideError],
) -> Result<Vec<OpProfile>> {
    let expected = 2 + 2 * ops.len();
    if dumps.len() != expected {
        bail!(
            "expected {expected} callgrind parts (set-up, 2 per op, teardown), got {}: a marker \
             call was missed or something else called getppid",
            dumps.len()
        );
    }
    let side = |i: usize, lib: &Path, op: &str, name: &str| -> Result<LibraryProfile, String> {
        if let Some((_, _, msg)) = errors.iter().find(|(o, s, _)| o == op && s == name) {
            return Err(format!("the {name} call raised {msg}"));
        }
        library_profile(&dumps[i], lib).ok_or_else(|| {
            let objects: Vec<&str> = dumps[i]
                .objects()
                .into_iter()
                .map(|(o, _)| o.rsplit('/').next().unwrap_or(o))
                .collect();
            format!(
                "no instruction of {} ran during the op (objects that ran: {})",
                lib.display(),
                objects.join(", ")
            )
        })
    };
    let table = crate::ops::table();
    ops.iter()
        .enumerate()
        .map(|(k, (op, shape))| {
            let per_call = table.op(op)?.elements_per_call(shape);
            Ok(OpProfile {
                op: op.clone(),
                dtype: dtype.to_string(),
                shape: shape.clone(),
                reps,
                elements: per_call * reps as u64,
                numpy: side(1 + 2 * k, numpy_lib, op, "numpy"),
                raptors: side(2 + 2 * k, raptors_lib, op, "raptors"),
            })
        })
        .collect()
}

/// The driver's stdout.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriverOutput {
    pub errors: Vec<SideError>,
    pub simd_level: Option<String>,
    pub modules: BTreeMap<String, String>,
}

pub fn parse_driver_output(stdout: &str) -> DriverOutput {
    let mut out = DriverOutput::default();
    for line in stdout.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(l) = v.get("simd_level").and_then(|l| l.as_str()) {
            out.simd_level = Some(l.to_string());
        }
        if let Some(m) = v.get("modules").and_then(|m| m.as_object()) {
            for (k, p) in m {
                if let Some(p) = p.as_str() {
                    out.modules.insert(k.clone(), p.to_string());
                }
            }
        }
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        if let (Some(op), Some(side), Some(err)) = (s("op"), s("side"), s("error")) {
            out.errors.push((op, side, err));
        }
    }
    out
}

/// NumPy's umath module and the one Raptors extension module among the driver's loaded modules.
pub fn reported_libraries(
    modules: &BTreeMap<String, String>,
) -> (Option<PathBuf>, Option<PathBuf>) {
    let numpy = [
        "numpy._core._multiarray_umath",
        "numpy.core._multiarray_umath",
    ]
    .iter()
    .find_map(|m| modules.get(*m))
    .map(PathBuf::from);
    let raptors: Vec<&String> = modules
        .iter()
        .filter(|(k, _)| *k == "raptors" || k.starts_with("raptors."))
        .map(|(_, v)| v)
        .collect();
    let raptors = match raptors.as_slice() {
        [one] => Some(PathBuf::from(one)),
        _ => None,
    };
    (numpy, raptors)
}

mod runner;
pub use runner::{command_line, driver_command, run};

/// One line per op × side: hottest function, its share, Ir per element.
pub fn summary_text(r: &CallgrindRun) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "callgrind, {}² × {} repetitions; {}\n",
        r.size, r.reps, r.level.note
    );
    for p in &r.profiles {
        for (side, lib) in [("numpy", &p.numpy), ("raptors", &p.raptors)] {
            let _ = match lib.as_ref().map(|l| (l, l.hottest())) {
                Ok((l, Some(h))) => writeln!(
                    s,
                    "{:<18} {} {:<7} {:5.1} % {}  ({:.3} Ir/element in the library)",
                    p.op,
                    p.dtype,
                    side,
                    100.0 * l.share(h),
                    h.name,
                    l.library_ir as f64 / p.elements.max(1) as f64
                ),
                Ok((_, None)) => writeln!(s, "{:<18} {} {:<7} — no function", p.op, p.dtype, side),
                Err(e) => writeln!(s, "{:<18} {} {:<7} — {e}", p.op, p.dtype, side),
            };
        }
    }
    for e in r.errors() {
        let _ = writeln!(s, "FAILED {e}");
    }
    s
}

#[cfg(test)]
mod tests;
