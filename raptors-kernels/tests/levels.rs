//! Property tests: every available ISA level against exact references (and so against scalar),
//! over shapes with SIMD edge sizes, unaligned heads, negative/transposed/stepped strides,
//! broadcasting, NaN/inf/-0.0 and empty inputs.

mod common;

use common::*;
use proptest::prelude::*;
use raptors_kernels::*;

const DIMS: [usize; 16] = [0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 130];
const SENT: f64 = 12345.0;

fn dim() -> impl Strategy<Value = usize> {
    prop::sample::select(DIMS.to_vec())
}

/// Inner lengths for 1-D cases: the usual edges plus long rows (several sum blocks, unrolled
/// loops, tails).
fn dim_1d() -> impl Strategy<Value = usize> {
    prop_oneof![3 => dim(), 1 => prop::sample::select(vec![1000usize, 1023, 1025, 4097, 5003])]
}

#[derive(Debug, Clone)]
struct BinCase {
    m: usize,
    n: usize,
    one_d: bool,
    la: usize,
    lb: usize,
    lo: usize,
    /// 0 same shape, 1 row (n,), 2 column (m, 1), 3 scalar ()
    bkind: usize,
    swap: bool,
    op: usize,
    seed: u64,
    special: bool,
}

fn bin_case() -> impl Strategy<Value = BinCase> {
    (
        (
            dim(),
            dim(),
            any::<bool>(),
            0..LAYOUTS.len(),
            0..LAYOUTS.len(),
            0..LAYOUTS.len(),
        ),
        (
            0usize..4,
            any::<bool>(),
            0usize..4,
            any::<u64>(),
            any::<bool>(),
            dim_1d(),
        ),
    )
        .prop_map(
            |((m, n, one_d, la, lb, lo), (bkind, swap, op, seed, special, n1))| BinCase {
                m: if one_d { 1 } else { m },
                n: if one_d { n1 } else { n },
                one_d,
                la,
                lb,
                lo,
                bkind,
                swap,
                op,
                seed,
                special,
            },
        )
}

fn check_binary<T: F>(c: &BinCase) {
    let (m, n) = (c.m, c.n);
    let op = BinaryOp::ALL[c.op];
    let av: Vec<T> = values(c.seed, m * n, c.special);
    let (abuf, aoff, ast) = lay_out(&av, m, n, LAYOUTS[c.la], T::of(SENT));
    let a = view(&abuf, aoff, ast, m, n, c.one_d);
    // The second operand and its logical (bm, bn) extent.
    let (bm, bn, b_one_d) = match c.bkind {
        0 => (m, n, c.one_d),
        1 => (1, n, true),
        2 if !c.one_d => (m, 1, false),
        _ => (1, 1, false),
    };
    let bv: Vec<T> = values(c.seed ^ 0xABCD, bm * bn, c.special);
    let (bbuf, boff, bst) = lay_out(&bv, bm, bn, LAYOUTS[c.lb], T::of(SENT));
    let b = if c.bkind == 3 || (c.bkind == 2 && c.one_d) {
        ArrayView::from_slice_strided(&bbuf, boff, Shape::scalar(), [0, 0]).unwrap()
    } else {
        view(&bbuf, boff, bst, bm, bn, b_one_d)
    };
    let (x, y) = if c.swap { (b, a) } else { (a, b) };
    let shape = broadcast_shapes(x.shape(), y.shape()).unwrap();
    assert_eq!(shape, a.shape());
    let mut expected = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let (ea, eb) = (av[i * n + j], bv[(i % bm) * bn + j % bn]);
            expected.push(if c.swap {
                op.apply(eb, ea)
            } else {
                op.apply(ea, eb)
            });
        }
    }
    let (want_buf, ooff, ost) = lay_out(&expected, m, n, LAYOUTS[c.lo], T::of(SENT));
    for level in available_levels() {
        let k = Kernels::for_level(level).unwrap();
        let r = k.binary(op, x, y).unwrap();
        assert_eq!(r.shape(), shape);
        for (idx, (&g, &w)) in r.as_slice().iter().zip(&expected).enumerate() {
            assert!(same(g, w), "{level} {op} {c:?} at {idx}: got {g}, want {w}");
        }
        let mut obuf = vec![T::of(SENT); want_buf.len()];
        k.binary_into(op, x, y, view_mut(&mut obuf, ooff, ost, shape))
            .unwrap();
        for (idx, (&g, &w)) in obuf.iter().zip(&want_buf).enumerate() {
            assert!(
                same(g, w),
                "{level} {op} into {c:?} at buffer {idx}: got {g}, want {w}"
            );
        }
        // Scalar forms, both sides, against the same reference semantics.
        let s = T::of(1.75);
        for side in [ScalarSide::Left, ScalarSide::Right] {
            let r = k.binary_scalar(op, a, s, side).unwrap();
            for (idx, (&g, &e)) in r.as_slice().iter().zip(&av).enumerate() {
                let w = match side {
                    ScalarSide::Right => op.apply(e, s),
                    ScalarSide::Left => op.apply(s, e),
                };
                assert!(same(g, w), "{level} {op} {side:?} scalar {c:?} at {idx}");
            }
        }
    }
}

#[derive(Debug, Clone)]
struct RedCase {
    m: usize,
    n: usize,
    one_d: bool,
    layout: usize,
    out_layout: usize,
    op: usize,
    /// None, or the raw axis (may be negative).
    axis: Option<isize>,
    seed: u64,
    special: bool,
}

fn red_case() -> impl Strategy<Value = RedCase> {
    (
        (
            dim(),
            dim(),
            any::<bool>(),
            0..LAYOUTS.len(),
            0..LAYOUTS.len(),
        ),
        (
            0usize..4,
            prop::option::of(-2isize..2),
            any::<u64>(),
            prop::bool::weighted(0.3),
            dim_1d(),
        ),
    )
        .prop_map(
            |((m, n, one_d, layout, out_layout), (op, axis, seed, special, n1))| RedCase {
                m: if one_d { 1 } else { m },
                n: if one_d { n1 } else { n },
                one_d,
                layout,
                out_layout,
                op,
                axis: if one_d {
                    axis.map(|a| a.clamp(-1, 0))
                } else {
                    axis
                },
                seed,
                special,
            },
        )
}

/// Checks a reduction result `got` of the values `group` against exact references.
fn check_group<T: F>(op: ReduceOp, group: &[T], got: T, ctx: &dyn Fn() -> String) {
    let xs = || group.iter().map(|v| v.f());
    if group.iter().any(|v| v.isnan()) {
        assert!(got.isnan(), "{}: want NaN, got {got}", ctx());
        return;
    }
    match op {
        ReduceOp::Min | ReduceOp::Max => {
            let w = group.iter().copied().reduce(|a, b| match op {
                ReduceOp::Min if b < a => b,
                ReduceOp::Max if b > a => b,
                _ => a,
            });
            assert!(w == Some(got), "{}: want {w:?}, got {got}", ctx());
        }
        ReduceOp::Sum | ReduceOp::Mean => {
            let cnt = group.len() as f64;
            let exact = fsum(xs());
            let abs_sum: f64 = xs().map(f64::abs).sum();
            let div = if op == ReduceOp::Mean { cnt } else { 1.0 };
            let want = exact / div;
            if !want.is_finite() {
                assert!(same(got, T::of(want)), "{}: want {want}, got {got}", ctx());
                return;
            }
            // Documented bound (docs/kernels.md): 32 u sum|x| for blocked sums, (m/8 + 4) u
            // sum|x| for the axis-0 kernel, plus the final rounding of the result.
            let c = 32.0 + cnt / 8.0;
            let tol = c * T::EPS * abs_sum / div + ulp::<T>(want);
            let err = (got.f() - want).abs();
            assert!(
                err <= tol,
                "{}: want {want}, got {got}, err {err:e} > tol {tol:e}",
                ctx()
            );
        }
    }
}

fn check_reduce<T: F>(c: &RedCase) {
    let (m, n) = (c.m, c.n);
    let op = ReduceOp::ALL[c.op];
    let av: Vec<T> = values(c.seed, m * n, c.special);
    let (abuf, aoff, ast) = lay_out(&av, m, n, LAYOUTS[c.layout], T::of(SENT));
    let a = view(&abuf, aoff, ast, m, n, c.one_d);
    // Groups of logical values reduced into each output element.
    let ax = c.axis.map(|x| {
        if x < 0 {
            x + a.shape().ndim() as isize
        } else {
            x
        }
    });
    let groups: Vec<Vec<T>> = match (ax, c.one_d) {
        (None, _) | (Some(_), true) => vec![av.clone()],
        (Some(0), false) => (0..n)
            .map(|j| (0..m).map(|i| av[i * n + j]).collect())
            .collect(),
        _ => (0..m).map(|i| av[i * n..(i + 1) * n].to_vec()).collect(),
    };
    let empty_err = matches!(op, ReduceOp::Min | ReduceOp::Max) && groups.iter().any(Vec::is_empty)
        || matches!(op, ReduceOp::Min | ReduceOp::Max) && (m * n == 0) && (ax.is_none() || c.one_d)
        || matches!(op, ReduceOp::Min | ReduceOp::Max) && ax == Some(0) && m == 0
        || matches!(op, ReduceOp::Min | ReduceOp::Max) && ax == Some(1) && n == 0;
    for level in available_levels() {
        let k = Kernels::for_level(level).unwrap();
        let ctx = |g: usize| format!("{level} {op} {c:?} group {g}");
        let res = k.reduce(op, a, c.axis);
        if empty_err {
            assert_eq!(
                res.unwrap_err(),
                KernelError::ZeroSizeReduction { op },
                "{}",
                ctx(0)
            );
        } else {
            match res.unwrap() {
                Reduced::Scalar(v) => {
                    assert_eq!(groups.len(), 1, "{}", ctx(0));
                    if groups[0].is_empty() {
                        let want = if op == ReduceOp::Sum {
                            T::of(0.0)
                        } else {
                            T::of(f64::NAN)
                        };
                        assert!(same(v, want), "{}", ctx(0));
                    } else {
                        check_group(op, &groups[0], v, &|| ctx(0));
                    }
                }
                Reduced::Array(r) => {
                    assert_eq!(r.as_slice().len(), groups.len(), "{}", ctx(0));
                    for (g, (&v, grp)) in r.as_slice().iter().zip(&groups).enumerate() {
                        if grp.is_empty() {
                            let want = if op == ReduceOp::Sum { 0.0 } else { f64::NAN };
                            assert!(same(v, T::of(want)), "{}", ctx(g));
                        } else {
                            check_group(op, grp, v, &|| ctx(g));
                        }
                    }
                }
            }
        }
        // The `_into` form with a laid-out `out`: same values, sentinel elsewhere untouched.
        if let Some(axis) = c.axis {
            let out_shape = if c.one_d {
                Shape::scalar()
            } else {
                Shape::d1(groups.len())
            };
            let len = out_shape.size();
            let (mut obuf, ooff, ost) = lay_out(
                &vec![T::of(-1.0); len],
                1,
                len,
                LAYOUTS[c.out_layout],
                T::of(SENT),
            );
            let before = obuf.clone();
            let out = if c.one_d {
                ArrayViewMut::from_slice_strided(&mut obuf, ooff, out_shape, [0, 0]).unwrap()
            } else {
                view_mut(&mut obuf, ooff, ost, out_shape)
            };
            let r = k.reduce_into(op, a, axis, out);
            if empty_err {
                assert!(r.is_err(), "{}", ctx(0));
                assert!(
                    obuf.iter().zip(&before).all(|(x, y)| same(*x, *y)),
                    "{}",
                    ctx(0)
                );
                continue;
            }
            r.unwrap();
            for (g, grp) in groups.iter().enumerate().take(len) {
                let at = (ooff as isize + g as isize * if c.one_d { 0 } else { ost[1] }) as usize;
                let v = obuf[at];
                if grp.is_empty() {
                    let want = if op == ReduceOp::Sum { 0.0 } else { f64::NAN };
                    assert!(same(v, T::of(want)), "{} into", ctx(g));
                } else {
                    check_group(op, grp, v, &|| format!("{} into", ctx(g)));
                }
            }
            let touched = obuf
                .iter()
                .zip(&before)
                .filter(|(x, y)| !same(**x, **y))
                .count();
            assert!(touched <= len, "{}: wrote outside out", ctx(0));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn binary_f32(c in bin_case()) { check_binary::<f32>(&c) }
    #[test]
    fn binary_f64(c in bin_case()) { check_binary::<f64>(&c) }
    #[test]
    fn reduce_f32(c in red_case()) { check_reduce::<f32>(&c) }
    #[test]
    fn reduce_f64(c in red_case()) { check_reduce::<f64>(&c) }
}

/// Sizes around block/vector boundaries for the 1-D contiguous kernels at every offset head.
#[test]
fn contiguous_sizes_and_heads() {
    for len in (0..70).chain([127, 128, 129, 255, 256, 257, 1000, 2047, 2048, 2049, 4100]) {
        for off in 0..4 {
            let v: Vec<f32> = values(len as u64, len + off, len % 3 == 0);
            let x = ArrayView::from_slice(&v[off..], Shape::d1(len)).unwrap();
            for op in ReduceOp::ALL {
                let grp = &v[off..];
                for level in available_levels() {
                    let k = Kernels::for_level(level).unwrap();
                    match k.reduce(op, x, None) {
                        Ok(Reduced::Scalar(g)) if !grp.is_empty() => {
                            check_group(op, grp, g, &|| format!("{level} {op} len {len} off {off}"))
                        }
                        Ok(_) => {
                            assert!(grp.is_empty() && matches!(op, ReduceOp::Sum | ReduceOp::Mean))
                        }
                        Err(e) => assert!(grp.is_empty(), "{e}"),
                    }
                }
            }
            let w: Vec<f64> = values(len as u64, len + off, len % 3 == 0);
            let y = ArrayView::from_slice(&w[off..], Shape::d1(len)).unwrap();
            for level in available_levels() {
                let k = Kernels::for_level(level).unwrap();
                let r = k.binary(BinaryOp::Div, y, y).unwrap();
                for (g, e) in r.as_slice().iter().zip(&w[off..]) {
                    assert!(same(*g, e / e), "{level} len {len} off {off}");
                }
            }
        }
    }
}

/// Outputs above the streaming-store threshold (and above the threading threshold), with an
/// unaligned destination, match the scalar level bit for bit; large reductions stay in bound.
#[test]
fn large_streaming_and_threaded() {
    // > 20 MiB touched (inputs + output: the streaming-store threshold), 13 MiB of f32 output.
    let len = (13 << 20) / 4 + 3;
    let a: Vec<f32> = values(1, len + 1, false);
    let b: Vec<f32> = values(2, len, false);
    let x = ArrayView::from_slice(&a[1..], Shape::d1(len)).unwrap();
    let y = ArrayView::from_slice(&b, Shape::d1(len)).unwrap();
    for level in available_levels() {
        let k = Kernels::for_level(level).unwrap();
        let mut out = vec![0f32; len + 1];
        k.binary_into(
            BinaryOp::Sub,
            x,
            y,
            ArrayViewMut::from_slice(&mut out[1..], Shape::d1(len)).unwrap(),
        )
        .unwrap();
        assert_eq!(out[0], 0.0);
        assert!(
            out[1..]
                .iter()
                .zip(&a[1..])
                .zip(&b)
                .all(|((o, p), q)| *o == p - q),
            "{level}"
        );
        // Broadcast rows/columns with streaming stores per row (rows >= 4 KiB, > 20 MiB touched).
        let (rm, rn) = (1650, 2030);
        let big = ArrayView::from_slice(&a[1..1 + rm * rn], Shape::d2(rm, rn)).unwrap();
        let row = ArrayView::from_slice(&b[..rn], Shape::d1(rn)).unwrap();
        let col = ArrayView::from_slice(&b[..rm], Shape::d2(rm, 1)).unwrap();
        let r = k.binary(BinaryOp::Sub, big, row).unwrap();
        let ok = r
            .as_slice()
            .iter()
            .enumerate()
            .all(|(i, v)| *v == a[1 + i] - b[i % rn]);
        assert!(ok, "{level} row broadcast");
        let r = k.binary(BinaryOp::Div, col, big).unwrap();
        let ok = r
            .as_slice()
            .iter()
            .enumerate()
            .all(|(i, v)| *v == b[i / rn] / a[1 + i]);
        assert!(ok, "{level} column broadcast");
        let (m, n) = (1031, 1029);
        let x2 = ArrayView::from_slice(&a[1..1 + m * n], Shape::d2(m, n)).unwrap();
        for axis in [None, Some(0), Some(1)] {
            let r = k.reduce(ReduceOp::Mean, x2, axis).unwrap();
            let groups: Vec<Vec<f32>> = match axis {
                None => vec![a[1..1 + m * n].to_vec()],
                Some(0) => (0..n)
                    .map(|j| (0..m).map(|i| a[1 + i * n + j]).collect())
                    .collect(),
                _ => (0..m)
                    .map(|i| a[1 + i * n..1 + (i + 1) * n].to_vec())
                    .collect(),
            };
            let got: Vec<f32> = match r {
                Reduced::Scalar(v) => vec![v],
                Reduced::Array(arr) => arr.into_vec(),
            };
            for (g, (v, grp)) in got.iter().zip(&groups).enumerate() {
                check_group(ReduceOp::Mean, grp, *v, &|| format!("{level} {axis:?} {g}"));
            }
        }
        // Axis-0 min/max/sum split into row bands (> 2 MiB, > 2 x 256 rows), combined per column.
        for op in [ReduceOp::Min, ReduceOp::Max, ReduceOp::Sum] {
            let Reduced::Array(r) = k.reduce(op, x2, Some(0)).unwrap() else {
                panic!("axis 0 of a matrix gives an array");
            };
            for (j, v) in r.as_slice().iter().enumerate() {
                let col: Vec<f32> = (0..m).map(|i| a[1 + i * n + j]).collect();
                check_group(op, &col, *v, &|| format!("{level} {op} axis 0 col {j}"));
            }
        }
    }
}

/// One NaN anywhere (in any of the four parts read at once, a step of eight vectors, a single
/// vector or the overlapping tail) makes a contiguous min/max NaN on every level; the x86 kernels
/// find it with a separate check.
#[test]
fn minmax_one_nan_at_every_position() {
    fn run<T: F>() {
        // AVX-512 f32 (the widest steps): one step, five single vectors, a tail; then two steps
        // in each of the four parts, three left-over steps, five vectors and a tail.
        for len in [
            8 * 16 + 5 * 16 + 7,
            4 * 2 * 8 * 16 + 3 * 8 * 16 + 5 * 16 + 7,
        ] {
            run_len::<T>(len);
        }
    }
    fn run_len<T: F>(len: usize) {
        let base: Vec<T> = values(3, len, false);
        for pos in 0..len {
            let mut v = base.clone();
            v[pos] = T::of(f64::NAN);
            let x = ArrayView::from_slice(&v, Shape::d1(len)).unwrap();
            for level in available_levels() {
                let k = Kernels::for_level(level).unwrap();
                for op in [ReduceOp::Min, ReduceOp::Max] {
                    let Ok(Reduced::Scalar(g)) = k.reduce(op, x, None) else {
                        panic!("{level} {op}: a 1-D reduction gives a scalar");
                    };
                    assert!(g.isnan(), "{level} {op} NaN at {pos} of {len}: got {g}");
                }
            }
        }
    }
    run::<f32>();
    run::<f64>();
}

/// Axis-0 reductions of short, wide matrices (too few rows for row bands, above the threading
/// threshold) are split by columns; every column still gets the exact min/max and the sum bound.
#[test]
fn axis0_column_split() {
    let (m, n) = (64, 8200); // 2 MiB of f32: several column chunks of 64-column multiples
    let mut a: Vec<f32> = values(4, m * n + 1, true);
    a[1 + 5 * n + 4100] = f32::NAN; // one NaN column in the middle of a chunk
    let x = ArrayView::from_slice(&a[1..], Shape::d2(m, n)).unwrap();
    for level in available_levels() {
        let k = Kernels::for_level(level).unwrap();
        for op in ReduceOp::ALL {
            let Reduced::Array(r) = k.reduce(op, x, Some(0)).unwrap() else {
                panic!("axis 0 of a matrix gives an array");
            };
            assert_eq!(r.as_slice().len(), n);
            for (j, v) in r.as_slice().iter().enumerate() {
                let col: Vec<f32> = (0..m).map(|i| a[1 + i * n + j]).collect();
                check_group(op, &col, *v, &|| format!("{level} {op} axis 0 col {j}"));
            }
        }
    }
}

/// `out` may be exactly an input (in-place `a += b`).
#[test]
fn in_place_exact_alias() {
    for level in available_levels() {
        let k = Kernels::for_level(level).unwrap();
        let mut a: Vec<f64> = values(9, 301, false);
        let b: Vec<f64> = values(10, 301, false);
        let want: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x * y).collect();
        let sh = Shape::d1(301);
        let p = a.as_mut_ptr();
        // SAFETY: both views cover exactly `a`; the crate allows out == input.
        let (x, out) = unsafe {
            (
                ArrayView::from_raw_parts(p, sh, [1, 0]),
                ArrayViewMut::from_raw_parts(p, sh, [1, 0]),
            )
        };
        k.binary_into(
            BinaryOp::Mul,
            x,
            ArrayView::from_slice(&b, sh).unwrap(),
            out,
        )
        .unwrap();
        assert_eq!(a, want, "{level}");
    }
}
