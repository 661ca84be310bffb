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
/// the NumPy data, zero-copy) and `mod` is that side's module.
pub const VARIABLES: [&str; 6] = ["x", "y", "row", "col", "o", "mod"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpTable {
    pub schema: String,
    pub about: String,
    pub dtypes: Vec<DType>,
    pub ops: Vec<Op>,
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
        let size = |o: &Operand| match o {
            Operand::X | Operand::Y => m * n,
            Operand::Row => n,
            Operand::Col => m,
        };
        let read: u64 = self.reads.iter().map(size).sum();
        let written = match self.result {
            ResultSize::Full => m * n,
            ResultSize::PerColumn => n,
            ResultSize::PerRow => m,
            ResultSize::Scalar => 0,
        };
        (read * itemsize, written * itemsize)
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
        }
        Ok(t)
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
            "sum,mean,mean_axis0,mean_axis1,broadcast_add_row,broadcast_add_col,add,add_out,scale,scale_out,add_tiny"
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
