//! raptors-kernels from plain Rust on an `ndarray` matrix (feature `ndarray`).
//!
//! Run: `cargo run -p raptors-kernels --example ndarray_matrix --features ndarray`
//!
//! Builds a 1000 x 300 f32 matrix, then calls the kernels on it, on its transpose and on a
//! reversed, stepped slice - all zero-copy views - and checks every result against a plain f64
//! loop over the same elements, exiting non-zero on any disagreement.

use std::process::ExitCode;

use raptors_kernels::ndarray::{s, Array2, ArrayView2, Axis};
use raptors_kernels::{binary, reduce, simd_level, BinaryOp, KernelError, ReduceOp, Reduced};

/// Exact-enough f64 reference sums (f32 data summed in f64 has no rounding error here: every
/// value is a multiple of 1/1024 below 1000, so partial sums stay exact in f64's 53 bits).
fn ref_sum(v: ArrayView2<'_, f32>) -> f64 {
    v.iter().map(|&x| f64::from(x)).sum()
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ndarray_matrix: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let a = Array2::<f32>::from_shape_fn((1000, 300), |(i, j)| {
        ((i * 37 + j * 101) % 977) as f32 / 1024.0 - 0.25
    });
    println!(
        "raptors-kernels {} at SIMD level {}, matrix {:?}",
        env!("CARGO_PKG_VERSION"),
        simd_level()?,
        a.dim()
    );

    let views: [(&str, ArrayView2<'_, f32>); 3] = [
        ("a", a.view()),
        ("a.t()", a.t()),
        ("a[::-1, ::3]", a.slice(s![..;-1, ..;3])),
    ];
    for (name, v) in views {
        let Reduced::Scalar(total) = reduce(ReduceOp::Sum, v.into(), None)? else {
            return Err("a full reduction returns a scalar".into());
        };
        let want = ref_sum(v) as f32;
        check(name, "sum", total, want)?;

        // Column means (axis 0) against ndarray's own mean_axis.
        let Reduced::Array(cols) = reduce(ReduceOp::Mean, v.into(), Some(0))? else {
            return Err("an axis reduction of a matrix returns an array".into());
        };
        let cols = cols.into_ndarray1()?;
        let want = v.mapv(f64::from).mean_axis(Axis(0)).ok_or("empty axis")?;
        for (j, (&got, &w)) in cols.iter().zip(want.iter()).enumerate() {
            check(name, &format!("mean axis 0 [{j}]"), got, w as f32)?;
        }

        // Row maxima.
        let Reduced::Array(rows) = reduce(ReduceOp::Max, v.into(), Some(1))? else {
            return Err("an axis reduction of a matrix returns an array".into());
        };
        let want = v.map_axis(Axis(1), |r| r.fold(f32::NEG_INFINITY, |m, &x| m.max(x)));
        if rows.into_ndarray1()? != want {
            return Err(format!("{name}: max over axis 1 differs from ndarray").into());
        }
        println!(
            "{name:>13} {:?}: sum {total:.4}, mean/max per axis ok",
            v.dim()
        );
    }

    // Element-wise with broadcasting: every row minus the column means, bit-identical to ndarray.
    let means = a.mean_axis(Axis(0)).ok_or("empty axis")?;
    let centred = binary(BinaryOp::Sub, a.view().into(), means.view().into())?.into_ndarray2()?;
    if centred != &a - &means {
        return Err("a - means differs from ndarray's".into());
    }
    // Wrong shapes give NumPy's error, not a panic.
    let e = binary(BinaryOp::Add, a.view().into(), a.t().into()).unwrap_err();
    assert!(matches!(e, KernelError::BroadcastMismatch { .. }));
    println!("broadcast a - mean(a, axis=0) ok; mismatched shapes: \"{e}\"");
    Ok(())
}

/// Sums and means are within a few f32 ulps of the exact value (docs/kernels.md bounds).
fn check(view: &str, what: &str, got: f32, want: f32) -> Result<(), String> {
    let tol = 4.0 * f32::EPSILON * want.abs().max(1.0);
    if (got - want).abs() <= tol {
        Ok(())
    } else {
        Err(format!("{view}: {what} = {got}, expected {want}"))
    }
}
