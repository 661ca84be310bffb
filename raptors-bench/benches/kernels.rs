//! Criterion benches: every op of the op table's criterion set (`raptors-bench/ops.json`,
//! `default_in: criterion`) × dtype × {512², 1024², 2048²} (or the op's fixed shape) at the automatic
//! SIMD level and at the forced levels of this architecture (x86-64: scalar, avx2, avx512; aarch64:
//! scalar, neon), throughput in GB/s (decimal bytes read + written, from the op table).
//!
//! Budget: 0.2 s warm-up + 0.5 s measurement, 10 samples per benchmark, so the whole
//! `cargo bench -p raptors-bench` takes a few minutes on 2 cores (see README.md). Filter with
//! criterion's usual argument, e.g. `cargo bench -p raptors-bench -- 'mean_axis0/f32'`.
//! Element-wise kernels write into a preallocated output (`*_into`), so this measures the
//! kernels, not the allocator; the Python comparison covers allocation as users see it.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use raptors_bench::ops::{self, BinaryKernel, KernelCall, Op, Operand, ReduceKernel, Suite};
use raptors_kernels::{
    ArrayView, ArrayViewMut, BinaryOp, Element, Kernels, ReduceOp, ScalarSide, Shape, SimdLevel,
};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 3] = [512, 1024, 2048];

trait BenchElem: Element {
    const NAME: &'static str;
    fn from_bench_f64(x: f64) -> Self;
}
impl BenchElem for f32 {
    const NAME: &'static str = "f32";
    fn from_bench_f64(x: f64) -> Self {
        x as f32
    }
}
impl BenchElem for f64 {
    const NAME: &'static str = "f64";
    fn from_bench_f64(x: f64) -> Self {
        x
    }
}

fn binary_op(k: BinaryKernel) -> BinaryOp {
    match k {
        BinaryKernel::Add => BinaryOp::Add,
        BinaryKernel::Sub => BinaryOp::Sub,
        BinaryKernel::Mul => BinaryOp::Mul,
        BinaryKernel::Div => BinaryOp::Div,
    }
}

fn reduce_op(k: ReduceKernel) -> ReduceOp {
    match k {
        ReduceKernel::Sum => ReduceOp::Sum,
        ReduceKernel::Mean => ReduceOp::Mean,
        ReduceKernel::Min => ReduceOp::Min,
        ReduceKernel::Max => ReduceOp::Max,
    }
}

/// Forced levels worth measuring on this architecture (SSE2 is the x86-64 baseline nobody picks).
fn forced_levels() -> &'static [SimdLevel] {
    if cfg!(target_arch = "x86_64") {
        &[SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512]
    } else if cfg!(target_arch = "aarch64") {
        &[SimdLevel::Scalar, SimdLevel::Neon]
    } else {
        &[SimdLevel::Scalar]
    }
}

/// (label, kernels): the automatic level first, then the forced levels that differ from it.
fn levels() -> Vec<(String, &'static Kernels)> {
    let mut out = Vec::new();
    let auto = match Kernels::active() {
        Ok(k) => {
            out.push((format!("auto={}", k.level()), k));
            Some(k.level())
        }
        Err(e) => {
            eprintln!("note: automatic level unavailable ({e}); benchmarking forced levels only");
            None
        }
    };
    for &level in forced_levels() {
        if Some(level) == auto {
            eprintln!(
                "note: forced {level} is the automatic level here, measured once as auto={level}"
            );
            continue;
        }
        match Kernels::for_level(level) {
            Ok(k) => out.push((level.to_string(), k)),
            Err(e) => eprintln!("note: skipping forced level {level}: {e}"),
        }
    }
    out
}

/// Inputs of one shape (m, n): `x`, `y` with m·n elements, `row` with n, `col` with m.
struct Data<T> {
    m: usize,
    n: usize,
    shape: Shape,
    x: Vec<T>,
    y: Vec<T>,
    row: Vec<T>,
    col: Vec<T>,
}

impl<T: BenchElem> Data<T> {
    fn new(dims: &[usize]) -> Self {
        let (m, n, shape) = match dims {
            [n] => (1, *n, Shape::d1(*n)),
            [m, n] => (*m, *n, Shape::d2(*m, *n)),
            other => panic!("the op table allows 1-D and 2-D shapes only, got {other:?}"),
        };
        // Values in [0.5, 1.5): no overflow, no denormals, division well-defined.
        let gen = |len: usize, seed: usize| {
            (0..len)
                .map(|i| T::from_bench_f64(0.5 + ((i * 7919 + seed) % 1000) as f64 / 1000.0))
                .collect::<Vec<T>>()
        };
        Data {
            m,
            n,
            shape,
            x: gen(m * n, 1),
            y: gen(m * n, 2),
            row: gen(n, 3),
            col: gen(m, 4),
        }
    }

    fn operand(&self, o: Operand) -> ArrayView<'_, T> {
        let (data, shape) = match o {
            Operand::X => (&self.x, self.shape),
            Operand::Y => (&self.y, self.shape),
            Operand::Row => (&self.row, Shape::d1(self.n)),
            Operand::Col => (&self.col, Shape::d2(self.m, 1)),
        };
        ArrayView::from_slice(data, shape).expect("sizes match the shape")
    }
}

fn run_one<T: BenchElem>(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    label: &str,
    k: &'static Kernels,
    call: KernelCall,
    d: &Data<T>,
) {
    let mut out = vec![T::from_bench_f64(0.0); d.m * d.n];
    let x = || d.operand(Operand::X);
    // Errors would make the numbers meaningless: check once, outside the timed loop.
    let check = match call {
        KernelCall::Binary { op, rhs } => k.binary_into(
            binary_op(op),
            x(),
            d.operand(rhs),
            ArrayViewMut::from_slice(&mut out, d.shape).expect("m*n"),
        ),
        KernelCall::BinaryScalar { op, scalar } => k.binary_scalar_into(
            binary_op(op),
            x(),
            T::from_bench_f64(scalar),
            ScalarSide::Right,
            ArrayViewMut::from_slice(&mut out, d.shape).expect("m*n"),
        ),
        KernelCall::Reduce { op, axis } => k
            .reduce(reduce_op(op), x(), axis.map(isize::from))
            .map(|_| ()),
    };
    if let Err(e) = check {
        eprintln!("note: {label} failed ({e}); not benchmarked");
        return;
    }
    match call {
        KernelCall::Binary { op, rhs } => g.bench_function(label, |bch| {
            let r = d.operand(rhs);
            bch.iter(|| {
                let o = ArrayViewMut::from_slice(&mut out, d.shape).expect("m*n");
                black_box(k.binary_into(binary_op(op), x(), r, o)).ok();
            })
        }),
        KernelCall::BinaryScalar { op, scalar } => g.bench_function(label, |bch| {
            let s = T::from_bench_f64(scalar);
            bch.iter(|| {
                let o = ArrayViewMut::from_slice(&mut out, d.shape).expect("m*n");
                black_box(k.binary_scalar_into(
                    binary_op(op),
                    x(),
                    black_box(s),
                    ScalarSide::Right,
                    o,
                ))
                .ok();
            })
        }),
        KernelCall::Reduce { op, axis: None } => g.bench_function(label, |bch| {
            bch.iter(|| black_box(k.reduce(reduce_op(op), x(), None)).ok())
        }),
        KernelCall::Reduce {
            op,
            axis: Some(axis),
        } => g.bench_function(label, |bch| {
            let len = if axis == 0 { d.n } else { d.m };
            let mut o = vec![T::from_bench_f64(0.0); len];
            bch.iter(|| {
                let ov = ArrayViewMut::from_slice(&mut o, Shape::d1(len)).expect("len elements");
                black_box(k.reduce_into(reduce_op(op), x(), isize::from(axis), ov)).ok();
            })
        }),
    };
}

fn shapes(op: &Op) -> Vec<Vec<usize>> {
    match &op.shape {
        Some(fixed) => vec![fixed.clone()],
        None => SIZES.iter().map(|&n| vec![n, n]).collect(),
    }
}

fn bench_dtype<T: BenchElem>(c: &mut Criterion, levels: &[(String, &'static Kernels)]) {
    let table = ops::table();
    let itemsize = table
        .dtype(T::NAME)
        .expect("f32 and f64 are in the table")
        .itemsize;
    let ops: Vec<&Op> = table
        .default_ops(Suite::Criterion)
        .into_iter()
        .filter(|o| o.dtypes.iter().any(|d| d == T::NAME))
        .collect();
    let mut all_shapes: Vec<Vec<usize>> = ops.iter().flat_map(|o| shapes(o)).collect();
    all_shapes.sort();
    all_shapes.dedup();
    for dims in all_shapes {
        let data = Data::<T>::new(&dims);
        let label: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        // Square sizes are named by their side (`add/f32/512`), fixed shapes by their dimensions.
        let size = if dims.len() == 2 && dims[0] == dims[1] {
            label[0].clone()
        } else {
            label.join("x")
        };
        for op in ops.iter().filter(|o| shapes(o).contains(&dims)) {
            let mut g = c.benchmark_group(format!("{}/{}/{size}", op.name, T::NAME));
            let (read, written) = op.bytes_per_call(&dims, itemsize);
            g.throughput(Throughput::BytesDecimal(read + written));
            for (label, k) in levels {
                run_one::<T>(&mut g, label, k, op.kernel, &data);
            }
            g.finish();
        }
    }
}

fn benches(c: &mut Criterion) {
    let levels = levels();
    if levels.is_empty() {
        eprintln!("note: no SIMD level can run here; nothing to benchmark");
        return;
    }
    bench_dtype::<f32>(c, &levels);
    bench_dtype::<f64>(c, &levels);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(500))
        .sample_size(10)
        .without_plots()
}

criterion_group! {
    name = kernel_benches;
    config = config();
    targets = benches
}
criterion_main!(kernel_benches);
