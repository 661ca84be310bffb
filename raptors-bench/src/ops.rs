//! The one op table (`raptors-bench/ops.json`): every op the project measures, once. The
//! comparison runner and the counters/callgrind drivers (Python) read the same file; the
//! criterion benches, the callgrind attribution and symbol mapping read it through this module.
//! Field by field: raptors-bench/README.md, "The op table".

use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The table as shipped (embedded so every binary and test sees the same bytes).
pub const OPS_JSON: &str = include_str!("../ops.json");
pub const OPS_SCHEMA: &str = "raptors-bench/ops/v1";

/// Names the expressions may use; each side gets its own arrays (Raptors: `raptors.asarray` of
/// the NumPy data, zero-copy) and `mod` is that side's module. `y_inv` (1 / y) and `y_neg` (−y)
/// are the operands of in-place ops' undo statements (built only for ops that use them).
pub const VARIABLES: [&str; 8] = ["x", "y", "row", "col", "o", "mod", "y_inv", "y_neg"];

/// The regime every cell is measured in by default, and the one reports show when they show one:
/// back-to-back calls in their steady state.
pub const HOT: &str = "hot";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpTable {
    pub schema: String,
    pub about: String,
    pub dtypes: Vec<DType>,
    pub ops: Vec<Op>,
    /// How a timed sample is taken (`raptors-bench compare`): `hot` first. Field by field:
    /// raptors-bench/README.md, "Timing regimes".
    #[serde(default)]
    pub regimes: Vec<Regime>,
    /// The cells a default comparison also measures in the regimes marked `headline`.
    #[serde(default)]
    pub headline: Vec<HeadlineCell>,
}

/// Which cells a regime measures when `--regimes` is not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegimeDefault {
    /// Every cell.
    All,
    /// The headline cells.
    Headline,
    /// Only headline cells that list it in their `regimes`.
    Listed,
}

/// A timing regime: what a timed sample is and what precedes it (the same for both sides).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    pub name: String,
    pub about: String,
    pub default_on: RegimeDefault,
    /// Calls per timed sample; `None`: a batch calibrated to `--target-sample-ms` after untimed
    /// lead-in calls (the steady state).
    pub calls: Option<u32>,
    /// Before each sample: at least this much other work (NumPy on small arrays, inputs stay
    /// in cache), untimed.
    pub work_ms: Option<f64>,
    /// Before each sample: read a scratch buffer of this many times the last-level cache, untimed,
    /// so the inputs come from DRAM.
    pub evict_llc_multiple: Option<f64>,
}

/// A cell measured in the `headline` regimes too (and the `listed` ones it names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadlineCell {
    pub op: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Regimes with `default_on: listed` this cell is also measured in (e.g. `burst`).
    pub regimes: Vec<String>,
}

/// An op that writes its result into one of its inputs (`x *= y`). Every timed call must start
/// from valid values, so calls alternate between the op and `undo`, the same operation with the
/// inverse operand (`x *= y_inv`): the target stays within one step of its initial values however
/// many calls run, and each call costs what the op costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InPlace {
    /// The input the op writes (each side gets its own copy of it).
    pub target: Operand,
    /// Python statement that undoes one call, run on both sides.
    pub undo: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DType {
    /// `f32`, `f64`: the name every tool and file uses.
    pub name: String,
    /// NumPy's dtype name (`np.dtype(numpy)`).
    pub numpy: String,
    pub itemsize: u64,
    /// NumPy's C type prefix of its inner loops (`FLOAT_add`, `DOUBLE_add`).
    pub numpy_loop_prefix: String,
}

/// An input array an op reads. Shapes for an op of shape (m, n): `x`, `y` (m, n); `row` (n,);
/// `col` (m, 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    X,
    Y,
    Row,
    Col,
}

impl Operand {
    /// Elements of this operand for an op of `shape` (rows and columns as [`rows_cols`] reads them).
    fn elements(self, shape: &[usize]) -> u64 {
        let (m, n) = rows_cols(shape);
        match self {
            Operand::X | Operand::Y => m * n,
            Operand::Row => n,
            Operand::Col => m,
        }
    }
}

/// How many elements the result has, for an op of shape (m, n).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultSize {
    /// m · n (element-wise ops).
    Full,
    /// n: one per column (reductions over axis 0).
    PerColumn,
    /// m: one per row (reductions over axis 1).
    PerRow,
    /// One value, returned rather than stored: counted as no bytes written.
    Scalar,
}

/// Which tools run an op when none is named (`--ops` selects any op explicitly).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suite {
    /// `raptors-bench compare` (and `cargo xtask bench`).
    Compare,
    /// `cargo xtask profile` (callgrind, disassembly, loops).
    Profile,
    /// `cargo bench -p raptors-bench`.
    Criterion,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryKernel {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReduceKernel {
    Sum,
    Mean,
    Min,
    Max,
}

/// The raptors-kernels call an op amounts to (what the criterion benches time).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case", deny_unknown_fields)]
pub enum KernelCall {
    /// `x op rhs`, broadcasting `rhs`.
    Binary { op: BinaryKernel, rhs: Operand },
    /// `x op scalar`.
    BinaryScalar { op: BinaryKernel, scalar: f64 },
    /// Reduction over everything (`axis: null`) or one axis.
    Reduce { op: ReduceKernel, axis: Option<u8> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    pub name: String,
    /// Python expression timed on the NumPy side.
    pub numpy: String,
    /// Python expression timed on the Raptors side.
    pub raptors: String,
    /// Set for in-place ops (`x *= y`): what is written and how a call is undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inplace: Option<InPlace>,
    /// SIMD levels (`RAPTORS_SIMD` values, `auto` = not forced) the comparison measures the op at;
    /// `None`: every requested level. In-place ops run their out-of-place twin's kernels, whose
    /// forced levels the matrix measures already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
    /// Arrays read once each by an ideal kernel (an operand used twice is listed twice).
    pub reads: Vec<Operand>,
    pub result: ResultSize,
    /// The result is written into the preallocated `o` (the `out=` forms): no allocation.
    pub out: bool,
    /// A fixed shape instead of the requested square sizes (e.g. `[8]`: per-call overhead).
    pub shape: Option<Vec<usize>>,
    pub dtypes: Vec<String>,
    pub kernel: KernelCall,
    /// Stems of the raptors-kernels entry points that run the op, most likely first: the kernels
    /// are named `…::arch::<isa>::<level>::<stem>_<dtype>` (`…::x86_64::avx2::sum_axis0_f32`).
    pub raptors_kernels: Vec<String>,
    /// Stems of NumPy's inner loops, most likely first: `<numpy_loop_prefix>_<stem>` plus a
    /// dispatch suffix (`FLOAT_add_X86_V3`, aarch64 `FLOAT_add`).
    pub numpy_loops: Vec<String>,
    pub default_in: Vec<Suite>,
}

impl Op {
    /// The array shape of one call for the square size `size` (or the op's fixed shape).
    pub fn shape_for(&self, size: usize) -> Vec<usize> {
        self.shape.clone().unwrap_or_else(|| vec![size, size])
    }

    /// Bytes read and written per call by the ideal kernel (inputs once, result once).
    pub fn bytes_per_call(&self, shape: &[usize], itemsize: u64) -> (u64, u64) {
        let (m, n) = rows_cols(shape);
        let read: u64 = self.reads.iter().map(|o| o.elements(shape)).sum();
        let written = match self.result {
            ResultSize::Full => m * n,
            ResultSize::PerColumn => n,
            ResultSize::PerRow => m,
            ResultSize::Scalar => 0,
        };
        (read * itemsize, written * itemsize)
    }

    /// Bytes of the distinct arrays a call touches, its working set: each input once however often
    /// it is read, and the result unless it is written into an input (in-place ops). What decides
    /// whether a call's data can stay in a cache; `bytes_per_call` is what moves.
    pub fn working_set_bytes(&self, shape: &[usize], itemsize: u64) -> u64 {
        let mut inputs = self.reads.clone();
        inputs.sort_by_key(|o| *o as u8);
        inputs.dedup();
        let (_, written) = self.bytes_per_call(shape, itemsize);
        let result = if self.inplace.is_some() { 0 } else { written };
        inputs.iter().map(|o| o.elements(shape)).sum::<u64>() * itemsize + result
    }

    /// Elements of the op's main input `x` per call (the denominator of "per element" counts).
    pub fn elements_per_call(&self, shape: &[usize]) -> u64 {
        let (m, n) = rows_cols(shape);
        m * n
    }

    /// Regexes over demangled names (Rust hash removed) for Raptors's kernel of this op at an
    /// ISA level (`avx2`, `avx512`, `sse2`, `neon`, `scalar`), most specific first.
    pub fn raptors_symbol_patterns(&self, dtype: &str, level: &str) -> Vec<String> {
        let stems = self.raptors_kernels.join("|");
        let level = regex_escape(level);
        vec![
            format!(r"::{level}::({stems})_{dtype}$"),
            format!(r"::{level}::.*({stems}).*{dtype}"),
        ]
    }

    /// Regexes for NumPy's inner loops of this op (any dispatch suffix), in `numpy_loops` order.
    pub fn numpy_symbol_patterns(&self, dtype: &DType) -> Vec<String> {
        self.numpy_loops
            .iter()
            .map(|stem| format!("^{}_{stem}(_[A-Z0-9_]+)?$", dtype.numpy_loop_prefix))
            .collect()
    }
}

/// (rows, columns) of a 1-D or 2-D shape; a 1-D shape is one row.
fn rows_cols(shape: &[usize]) -> (u64, u64) {
    match shape {
        [n] => (1, *n as u64),
        [m, n] => (*m as u64, *n as u64),
        other => (1, other.iter().product::<usize>() as u64),
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

impl OpTable {
    /// Parses and checks a table (unique names, known dtypes, a tool set per op).
    pub fn parse(text: &str) -> Result<OpTable> {
        let t: OpTable = serde_json::from_str(text).context("op table: malformed JSON")?;
        if t.schema != OPS_SCHEMA {
            bail!("op table: schema {:?}, expected {OPS_SCHEMA:?}", t.schema);
        }
        for (i, op) in t.ops.iter().enumerate() {
            if t.ops[..i].iter().any(|o| o.name == op.name) {
                bail!("op table: op {:?} is listed twice", op.name);
            }
            for d in &op.dtypes {
                if !t.dtypes.iter().any(|x| &x.name == d) {
                    bail!("op table: op {:?} lists unknown dtype {d:?}", op.name);
                }
            }
            if op.reads.is_empty() || op.raptors_kernels.is_empty() || op.numpy_loops.is_empty() {
                bail!(
                    "op table: op {:?} needs reads, raptors_kernels and numpy_loops",
                    op.name
                );
            }
            if matches!(&op.shape, Some(s) if s.is_empty() || s.len() > 2) {
                bail!(
                    "op table: op {:?}: a fixed shape has 1 or 2 dimensions",
                    op.name
                );
            }
            if let Some(ip) = &op.inplace {
                if !op.reads.contains(&ip.target) || ip.undo.trim().is_empty() {
                    bail!(
                        "op table: in-place op {:?} must read its target and name an undo statement",
                        op.name
                    );
                }
            }
        }
        t.check_regimes()?;
        Ok(t)
    }

    fn check_regimes(&self) -> Result<()> {
        for (i, r) in self.regimes.iter().enumerate() {
            if self.regimes[..i].iter().any(|o| o.name == r.name) {
                bail!("op table: regime {:?} is listed twice", r.name);
            }
            if r.calls == Some(0) || (r.work_ms.is_some() && r.evict_llc_multiple.is_some()) {
                bail!(
                    "op table: regime {:?}: calls >= 1, and work or eviction, not both",
                    r.name
                );
            }
            if r.calls.is_none() && (r.work_ms.is_some() || r.evict_llc_multiple.is_some()) {
                bail!(
                    "op table: regime {:?}: a calibrated batch has lead-in calls, nothing else before it",
                    r.name
                );
            }
        }
        if !self.regimes.is_empty() {
            let hot = self.regime(HOT)?;
            if hot.calls.is_some() || hot.default_on != RegimeDefault::All {
                bail!("op table: regime {HOT:?} is the calibrated steady state on every cell");
            }
        }
        for (i, h) in self.headline.iter().enumerate() {
            let op = self.op(&h.op)?;
            let what = format!("headline cell {}/{}/{:?}", h.op, h.dtype, h.shape);
            if !op.dtypes.contains(&h.dtype) {
                bail!("op table: {what}: the op has no dtype {:?}", h.dtype);
            }
            if h.shape.is_empty() || h.shape.len() > 2 || h.shape.contains(&0) {
                bail!("op table: {what}: a shape has 1 or 2 non-zero dimensions");
            }
            if op.shape.as_ref().is_some_and(|s| s != &h.shape) {
                bail!(
                    "op table: {what}: the op has the fixed shape {:?}",
                    op.shape
                );
            }
            for r in &h.regimes {
                if self.regime(r)?.default_on != RegimeDefault::Listed {
                    bail!("op table: {what}: {r:?} is not a `listed` regime");
                }
            }
            if self.headline[..i]
                .iter()
                .any(|o| o.op == h.op && o.dtype == h.dtype && o.shape == h.shape)
            {
                bail!("op table: {what} is listed twice");
            }
        }
        Ok(())
    }

    pub fn regime(&self, name: &str) -> Result<&Regime> {
        self.regimes
            .iter()
            .find(|r| r.name == name)
            .with_context(|| {
                let known: Vec<&str> = self.regimes.iter().map(|r| r.name.as_str()).collect();
                format!("unknown regime {name:?}; known: {}", known.join(", "))
            })
    }

    /// Position of a regime in the table (reports list regimes in this order); unknown last.
    pub fn regime_rank(&self, name: &str) -> usize {
        self.regimes
            .iter()
            .position(|r| r.name == name)
            .unwrap_or(self.regimes.len())
    }

    pub fn op(&self, name: &str) -> Result<&Op> {
        self.ops.iter().find(|o| o.name == name).with_context(|| {
            format!(
                "unknown op {name:?}; known ops: {}",
                self.names().join(", ")
            )
        })
    }

    pub fn dtype(&self, name: &str) -> Result<&DType> {
        self.dtypes
            .iter()
            .find(|d| d.name == name)
            .with_context(|| {
                let known: Vec<&str> = self.dtypes.iter().map(|d| d.name.as_str()).collect();
                format!("unknown dtype {name:?}; known: {}", known.join(", "))
            })
    }

    pub fn names(&self) -> Vec<&str> {
        self.ops.iter().map(|o| o.name.as_str()).collect()
    }

    /// The ops a tool runs when none is named, in table order.
    pub fn default_ops(&self, suite: Suite) -> Vec<&Op> {
        self.ops
            .iter()
            .filter(|o| o.default_in.contains(&suite))
            .collect()
    }

    /// Names of [`default_ops`](Self::default_ops), comma-separated (CLI defaults).
    pub fn default_list(&self, suite: Suite) -> String {
        let names: Vec<&str> = self
            .default_ops(suite)
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        names.join(",")
    }
}

/// The embedded table (`ops.json`), parsed once. A test parses the same bytes, so a broken table
/// fails `cargo test` before any tool runs.
pub fn table() -> &'static OpTable {
    static TABLE: OnceLock<OpTable> = OnceLock::new();
    TABLE.get_or_init(|| match OpTable::parse(OPS_JSON) {
        Ok(t) => t,
        // Unreachable in a tested build: `tests::embedded_table_parses` parses these bytes.
        Err(e) => panic!("raptors-bench/ops.json is invalid: {e:#}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses() {
        let t = OpTable::parse(OPS_JSON).unwrap();
        assert_eq!(&t, table());
        assert!(t.ops.len() >= 11);
    }

    #[test]
    fn bytes_match_the_ideal_kernel() {
        let t = table();
        let b = |op: &str, shape: &[usize]| t.op(op).unwrap().bytes_per_call(shape, 4);
        // (read, written) for 512² f32: the figures the runner used to compute itself.
        let n = 512 * 512 * 4;
        assert_eq!(b("sum", &[512, 512]), (n, 0));
        assert_eq!(b("mean_axis0", &[512, 512]), (n, 512 * 4));
        assert_eq!(b("mean_axis1", &[512, 512]), (n, 512 * 4));
        assert_eq!(b("broadcast_add_row", &[512, 512]), (n + 512 * 4, n));
        assert_eq!(b("broadcast_add_col", &[512, 512]), (n + 512 * 4, n));
        assert_eq!(b("add", &[512, 512]), (2 * n, n));
        assert_eq!(b("scale_out", &[512, 512]), (n, n));
        assert_eq!(b("add_tiny", &[8]), (64, 32));
        // The working set counts each array once: an in-place op's result is its input.
        let ws = |op: &str| t.op(op).unwrap().working_set_bytes(&[512, 512], 4);
        assert_eq!(ws("add"), 3 * n);
        assert_eq!(ws("sum"), n);
        assert_eq!(ws("broadcast_add_row"), 2 * n + 512 * 4);
        let inplace: Vec<&Op> = t.ops.iter().filter(|o| o.inplace.is_some()).collect();
        assert!(!inplace.is_empty());
        for op in inplace {
            let (read, written) = op.bytes_per_call(&[512, 512], 4);
            assert_eq!(op.working_set_bytes(&[512, 512], 4), read, "{}", op.name);
            assert!(written > 0, "{}", op.name);
        }
        assert_eq!(t.op("add_tiny").unwrap().shape_for(2048), vec![8]);
        assert_eq!(t.op("add").unwrap().shape_for(64), vec![64, 64]);
    }

    #[test]
    fn defaults_per_tool() {
        let t = table();
        assert_eq!(
            t.default_list(Suite::Profile),
            "sum,mean,mean_axis0,mean_axis1,broadcast_add_row,broadcast_add_col,add,scale"
        );
        assert_eq!(
            t.default_list(Suite::Compare),
            "sum,mean,mean_axis0,mean_axis1,broadcast_add_row,broadcast_add_col,add,add_out,scale,scale_out,add_tiny,\
             iadd,isub,imul,idiv,iadd_scalar,isub_scalar,imul_scalar,idiv_scalar"
        );
        assert!(t
            .default_ops(Suite::Criterion)
            .iter()
            .all(|o| o.name != "add_out"));
    }

    #[test]
    fn symbol_patterns_follow_the_stems() {
        let t = table();
        let re = |p: &str| {
            let r = regex::Regex::new(p).unwrap();
            move |s: &str| r.is_match(s)
        };
        let op = t.op("mean_axis0").unwrap();
        let p = op.raptors_symbol_patterns("f32", "avx2");
        assert_eq!(p[0], r"::avx2::(sum_axis0)_f32$");
        assert!(re(&p[0])(
            "raptors_kernels::arch::x86_64::avx2::sum_axis0_f32"
        ));
        let p = op.raptors_symbol_patterns("f32", "neon");
        assert!(re(&p[0])(
            "raptors_kernels::arch::aarch64::neon::sum_axis0_f32"
        ));
        let f32t = t.dtype("f32").unwrap();
        let p = t.op("scale").unwrap().numpy_symbol_patterns(f32t);
        assert_eq!(p, vec!["^FLOAT_multiply(_[A-Z0-9_]+)?$".to_string()]);
        assert!(t
            .op("cumsum")
            .unwrap_err()
            .to_string()
            .contains("known ops: sum"));
        assert!(t.dtype("f16").is_err());
    }

    #[test]
    fn bad_tables_are_errors() {
        let good: serde_json::Value = serde_json::from_str(OPS_JSON).unwrap();
        let mut dup = good.clone();
        let first = dup["ops"][0].clone();
        dup["ops"].as_array_mut().unwrap().push(first);
        assert!(OpTable::parse(&dup.to_string())
            .unwrap_err()
            .to_string()
            .contains("listed twice"));
        let mut bad_dtype = good.clone();
        bad_dtype["ops"][0]["dtypes"] = serde_json::json!(["f16"]);
        assert!(OpTable::parse(&bad_dtype.to_string()).is_err());
        let mut unknown_field = good;
        unknown_field["ops"][0]["bytes"] = serde_json::json!(4);
        assert!(OpTable::parse(&unknown_field.to_string()).is_err());
        assert!(OpTable::parse("{}").is_err());
    }
}
