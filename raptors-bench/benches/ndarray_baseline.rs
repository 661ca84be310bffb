//! Criterion baseline against `ndarray`, what Rust users hold their data in today: ndarray's own
//! `sum()`, `mean_axis(Axis(0 | 1))` and `&a + &b` next to Raptors's kernels called on the same
//! `ndarray` matrices (zero-copy through `raptors-kernels`'s `ndarray` feature), f32 and f64,
//! 512², 1024² and 2048².
//!
//! Both sides allocate their result, as a user's call does (`&a + &b` against `binary`,
//! `mean_axis` against `reduce(.., Some(axis))`). Raptors runs at the automatic SIMD level, once
//! on one thread (`raptors-1t`) and once with its default thread count (`raptors`:
//! `RAPTORS_THREADS`, else all cores); ndarray is single-threaded. Same budget as the kernel
//! benches: 0.2 s warm-up + 0.5 s measurement, 10 samples per benchmark.
//! Run: `cargo bench -p raptors-bench --bench ndarray_baseline`; recorded results:
//! `benchmarks/results/ndarray-baseline-*.md`.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use raptors_kernels::ndarray::{Array1, Array2, Axis};
use raptors_kernels::{binary, reduce, set_threads, threads, BinaryOp, Kernels, ReduceOp, Reduced};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 3] = [512, 1024, 2048];

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Runs `raptors` on one thread and on the default thread count (`default_threads`).
fn raptors_both<R>(g: &mut Group<'_>, default_threads: usize, mut f: impl FnMut() -> R) {
    for (label, t) in [("raptors-1t", 1), ("raptors", default_threads)] {
        set_threads(t);
        g.bench_function(label, |b| b.iter(&mut f));
    }
    set_threads(default_threads);
}

/// One dtype: every op at every size, ndarray first, then Raptors on the same arrays.
macro_rules! bench_dtype {
    ($c:expr, $t:ty, $name:literal, $default_threads:expr) => {{
        let esz = std::mem::size_of::<$t>();
        for n in SIZES {
            // Values in [0.5, 1.5): no overflow, no denormals (as in benches/kernels.rs).
            let gen = |seed: usize| {
                Array2::<$t>::from_shape_fn((n, n), |(i, j)| {
                    (0.5 + (((i * n + j) * 7919 + seed) % 1000) as f64 / 1000.0) as $t
                })
            };
            let (a, b) = (gen(1), gen(2));
            // Raptors must agree before it is timed (one check outside the timed loops).
            let Ok(Reduced::Array(m0)) = reduce(ReduceOp::Mean, a.view().into(), Some(0)) else {
                panic!("raptors mean axis 0 failed");
            };
            let want: Array1<$t> = a.mean_axis(Axis(0)).expect("n > 0");
            let close = m0
                .as_slice()
                .iter()
                .zip(want.iter())
                .all(|(x, y)| (x - y).abs() <= 1e-4 * y.abs());
            assert!(close, "raptors and ndarray disagree on mean_axis(0)");

            let big = (n * n * esz) as u64;
            let line = (n * esz) as u64;
            let mut g = $c.benchmark_group(format!("sum/{}/{n}", $name));
            g.throughput(Throughput::BytesDecimal(big));
            g.bench_function("ndarray", |bch| bch.iter(|| black_box(&a).sum()));
            raptors_both(&mut g, $default_threads, || {
                black_box(reduce(ReduceOp::Sum, black_box(&a).view().into(), None)).ok()
            });
            g.finish();

            for axis in [0usize, 1] {
                let mut g = $c.benchmark_group(format!("mean_axis{axis}/{}/{n}", $name));
                g.throughput(Throughput::BytesDecimal(big + line));
                g.bench_function("ndarray", |bch| {
                    bch.iter(|| black_box(&a).mean_axis(Axis(axis)))
                });
                raptors_both(&mut g, $default_threads, || {
                    let v = black_box(&a).view().into();
                    black_box(reduce(ReduceOp::Mean, v, Some(axis as isize))).ok()
                });
                g.finish();
            }

            let mut g = $c.benchmark_group(format!("add/{}/{n}", $name));
            g.throughput(Throughput::BytesDecimal(3 * big));
            g.bench_function("ndarray", |bch| bch.iter(|| black_box(&a) + black_box(&b)));
            raptors_both(&mut g, $default_threads, || {
                let (x, y) = (black_box(&a).view().into(), black_box(&b).view().into());
                black_box(binary(BinaryOp::Add, x, y)).ok()
            });
            g.finish();
        }
    }};
}

fn benches(c: &mut Criterion) {
    if let Err(e) = Kernels::active() {
        eprintln!("note: raptors cannot run here ({e}); nothing to compare");
        return;
    }
    let default_threads = threads();
    bench_dtype!(c, f32, "f32", default_threads);
    bench_dtype!(c, f64, "f64", default_threads);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(500))
        .sample_size(10)
        .without_plots()
}

criterion_group! {
    name = ndarray_baseline;
    config = config();
    targets = benches
}
criterion_main!(ndarray_baseline);
