//! Criterion benches: every kernel × dtype × {512², 1024², 2048²} at the automatic SIMD level and at
//! forced levels (scalar, avx2, avx512), throughput in GB/s (decimal bytes read + written).
//!
//! Budget: 0.2 s warm-up + 0.5 s measurement, 10 samples per benchmark, so the whole
//! `cargo bench -p raptors-bench` takes a few minutes on 2 cores (see README.md). Filter with
//! criterion's usual argument, e.g. `cargo bench -p raptors-bench -- 'mean_axis0/f32'`.
//! The element-wise kernels write into a preallocated output (`*_into`), so this measures the
//! kernels, not the allocator; the Python comparison covers allocation as users see it.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
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

#[derive(Clone, Copy)]
enum Kind {
    Binary(BinaryOp),
    AddRow,
    AddCol,
    Scale,
    Reduce(ReduceOp),
    ReduceAxis(ReduceOp, isize),
}

const KERNELS: [(&str, Kind); 15] = [
    ("add", Kind::Binary(BinaryOp::Add)),
    ("sub", Kind::Binary(BinaryOp::Sub)),
    ("mul", Kind::Binary(BinaryOp::Mul)),
    ("div", Kind::Binary(BinaryOp::Div)),
    ("add_row", Kind::AddRow),
    ("add_col", Kind::AddCol),
    ("scale", Kind::Scale),
    ("sum", Kind::Reduce(ReduceOp::Sum)),
    ("mean", Kind::Reduce(ReduceOp::Mean)),
    ("min", Kind::Reduce(ReduceOp::Min)),
    ("max", Kind::Reduce(ReduceOp::Max)),
    ("sum_axis0", Kind::ReduceAxis(ReduceOp::Sum, 0)),
    ("sum_axis1", Kind::ReduceAxis(ReduceOp::Sum, 1)),
    ("mean_axis0", Kind::ReduceAxis(ReduceOp::Mean, 0)),
    ("mean_axis1", Kind::ReduceAxis(ReduceOp::Mean, 1)),
];

/// Bytes an ideal kernel moves per call: inputs read once, output written once.
fn bytes(kind: Kind, n: usize, elem: usize) -> u64 {
    let big = n * n;
    let count = match kind {
        Kind::Binary(_) => 3 * big,
        Kind::AddRow | Kind::AddCol => 2 * big + n,
        Kind::Scale => 2 * big,
        Kind::Reduce(_) => big,
        Kind::ReduceAxis(..) => big + n,
    };
    (count * elem) as u64
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
    for level in [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512] {
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

fn run_one<T: BenchElem>(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    label: &str,
    k: &'static Kernels,
    kind: Kind,
    n: usize,
    data: &(Vec<T>, Vec<T>, Vec<T>),
) {
    let (a, b, vec) = data;
    let shape = Shape::d2(n, n);
    let mut out = vec![T::from_bench_f64(0.0); n * n];
    let av = || ArrayView::from_slice(a, shape).expect("n*n elements");
    let two = T::from_bench_f64(2.5);
    // Errors would make the numbers meaningless: check once, outside the timed loop.
    let check = match kind {
        Kind::Binary(op) => k.binary_into(
            op,
            av(),
            ArrayView::from_slice(b, shape).expect("n*n"),
            ArrayViewMut::from_slice(&mut out, shape).expect("n*n"),
        ),
        Kind::Scale => k.binary_scalar_into(
            BinaryOp::Mul,
            av(),
            two,
            ScalarSide::Right,
            ArrayViewMut::from_slice(&mut out, shape).expect("n*n"),
        ),
        _ => Ok(()),
    };
    if let Err(e) = check {
        eprintln!("note: {label} failed ({e}); not benchmarked");
        return;
    }
    match kind {
        Kind::Binary(op) => g.bench_function(label, |bch| {
            let bv = ArrayView::from_slice(b, shape).expect("n*n");
            bch.iter(|| {
                let o = ArrayViewMut::from_slice(&mut out, shape).expect("n*n");
                black_box(k.binary_into(op, av(), bv, o)).ok();
            })
        }),
        Kind::AddRow | Kind::AddCol => g.bench_function(label, |bch| {
            let vshape = if matches!(kind, Kind::AddRow) {
                Shape::d1(n)
            } else {
                Shape::d2(n, 1)
            };
            let vv = ArrayView::from_slice(vec, vshape).expect("n elements");
            bch.iter(|| {
                let o = ArrayViewMut::from_slice(&mut out, shape).expect("n*n");
                black_box(k.binary_into(BinaryOp::Add, av(), vv, o)).ok();
            })
        }),
        Kind::Scale => g.bench_function(label, |bch| {
            bch.iter(|| {
                let o = ArrayViewMut::from_slice(&mut out, shape).expect("n*n");
                black_box(k.binary_scalar_into(
                    BinaryOp::Mul,
                    av(),
                    black_box(two),
                    ScalarSide::Right,
                    o,
                ))
                .ok();
            })
        }),
        Kind::Reduce(op) => g.bench_function(label, |bch| {
            bch.iter(|| black_box(k.reduce(op, av(), None)).ok())
        }),
        Kind::ReduceAxis(op, axis) => g.bench_function(label, |bch| {
            let mut o = vec![T::from_bench_f64(0.0); n];
            bch.iter(|| {
                let ov = ArrayViewMut::from_slice(&mut o, Shape::d1(n)).expect("n elements");
                black_box(k.reduce_into(op, av(), axis, ov)).ok();
            })
        }),
    };
}

fn bench_dtype<T: BenchElem>(c: &mut Criterion, levels: &[(String, &'static Kernels)]) {
    for n in SIZES {
        // Values in [0.5, 1.5): no overflow, no denormals, division well-defined.
        let gen = |seed: usize| {
            (0..n * n)
                .map(|i| T::from_bench_f64(0.5 + ((i * 7919 + seed) % 1000) as f64 / 1000.0))
                .collect::<Vec<T>>()
        };
        let data = (
            gen(1),
            gen(2),
            gen(3).into_iter().take(n).collect::<Vec<T>>(),
        );
        for (name, kind) in KERNELS {
            let mut g = c.benchmark_group(format!("{name}/{}/{n}", T::NAME));
            g.throughput(Throughput::BytesDecimal(bytes(
                kind,
                n,
                std::mem::size_of::<T>(),
            )));
            for (label, k) in levels {
                run_one::<T>(&mut g, label, k, kind, n, &data);
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
