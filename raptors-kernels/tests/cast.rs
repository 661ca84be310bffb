//! The cast kernel (`cast`, `cast_into`) against a plain element loop, over contiguous and
//! strided layouts (negative, zero, transposed, stepped), odd and empty lengths, NaN, ±inf, -0.0,
//! subnormals and values outside f32's range.

mod common;

use common::*;
use proptest::prelude::*;
use raptors_kernels::*;

const DIMS: [usize; 12] = [0, 1, 2, 3, 5, 7, 8, 15, 17, 33, 64, 130];
const SENT: f64 = 12345.0;

/// `len` values with every kind of edge case mixed in (for `extreme`): NaN, ±inf, -0.0, values
/// that overflow f32, that round to f32 subnormals or to zero, and exact ties of f32 rounding.
fn data<T: F>(seed: u64, len: usize, extreme: bool) -> Vec<T> {
    let edges = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        1e39,
        -3.5e38,
        1e-40,
        -1e-46,
        f32::MAX as f64,
        1.0 + f64::EPSILON,
        // Halfway between two f32 values: rounds to even.
        1.0 + f32::EPSILON as f64 / 2.0,
    ];
    let mut r = Rng(seed ^ 0x5eed);
    values::<f64>(seed, len, true)
        .into_iter()
        .map(|x| {
            if extreme && r.next().is_multiple_of(4) {
                T::of(edges[(r.next() % edges.len() as u64) as usize])
            } else {
                T::of(x * 1.000_000_123)
            }
        })
        .collect()
}

/// The plain loop the kernel must match.
fn reference<S: F, D: F>(x: S) -> D {
    D::of(x.f())
}

#[derive(Debug, Clone)]
struct Case {
    m: usize,
    n: usize,
    one_d: bool,
    src_layout: usize,
    /// Broadcast the source: row stride 0 (every row the same), or both strides 0.
    zero_strides: u8,
    out_layout: usize,
    seed: u64,
    extreme: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(DIMS.to_vec()),
        prop::sample::select(DIMS.to_vec()),
        any::<bool>(),
        0..LAYOUTS.len(),
        0u8..3,
        0..LAYOUTS.len(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(
            |(m, n, one_d, src_layout, zero_strides, out_layout, seed, extreme)| Case {
                m: if one_d { 1 } else { m },
                n,
                one_d,
                src_layout,
                zero_strides,
                out_layout,
                seed,
                extreme,
            },
        )
}

fn check<S: F, D: F>(c: &Case) {
    let (m, n) = (c.m, c.n);
    let shape = if c.one_d {
        Shape::d1(n)
    } else {
        Shape::d2(m, n)
    };
    let vals: Vec<S> = data(c.seed, m * n, c.extreme);
    let (sbuf, soff, sstr) = lay_out(&vals, m, n, LAYOUTS[c.src_layout], S::of(SENT));
    let mut src = view(&sbuf, soff, sstr, m, n, c.one_d);
    if m * n > 0 {
        // Zero strides: every row is row 0 (1), or every element is element 0 (2).
        let st = src.strides();
        let zs = match (c.zero_strides, c.one_d) {
            (2, _) => [0, 0],
            (1, false) => [0, st[1]],
            _ => st,
        };
        src = ArrayView::from_slice_strided(&sbuf, soff, shape, zs).unwrap();
    }
    // The value the view shows at (i, j) (i == 0 for 1-D).
    let logical = |i: usize, j: usize| -> S {
        match c.zero_strides {
            2 => vals[0],
            1 => vals[j],
            _ => vals[i * n + j],
        }
    };
    let (mut obuf, ooff, ostr) = lay_out(
        &vec![D::of(-1.0); m * n],
        m,
        n,
        LAYOUTS[c.out_layout],
        D::of(SENT),
    );
    cast_into(src, view_mut(&mut obuf, ooff, ostr, shape)).unwrap();
    let mut written = vec![false; obuf.len()];
    for i in 0..m {
        for j in 0..n {
            let at = (ooff as isize + i as isize * ostr[0] + j as isize * ostr[1]) as usize;
            let x = logical(i, j);
            let want: D = reference(x);
            assert!(
                same(obuf[at], want),
                "({i}, {j}): {} -> {} (want {})",
                x,
                obuf[at],
                want
            );
            written[at] = true;
        }
    }
    for (k, &w) in written.iter().enumerate() {
        if !w {
            assert!(
                same(obuf[k], D::of(SENT)),
                "element {k} outside out changed"
            );
        }
    }
    // The allocating form gives the same values, C-contiguous.
    let r: Array<D> = cast(src);
    assert_eq!(r.shape(), shape);
    for i in 0..m {
        for j in 0..n {
            let x = logical(i, j);
            assert!(same(r.as_slice()[i * n + j], reference::<S, D>(x)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn f64_to_f32(c in case()) { check::<f64, f32>(&c); }

    #[test]
    fn f32_to_f64(c in case()) { check::<f32, f64>(&c); }

    #[test]
    fn f32_to_f32(c in case()) { check::<f32, f32>(&c); }

    #[test]
    fn f64_to_f64(c in case()) { check::<f64, f64>(&c); }
}

/// Long contiguous inputs take the threaded path (above `par::PAR_MIN_BYTES`); odd lengths.
#[test]
fn long_contiguous_inputs() {
    for len in [1 << 17, (1 << 17) + 3, 300_001] {
        let src: Vec<f64> = data(len as u64, len, true);
        let a = ArrayView::from_slice(&src, Shape::d1(len)).unwrap();
        let r: Array<f32> = cast(a);
        assert!(r
            .as_slice()
            .iter()
            .zip(&src)
            .all(|(&d, &s)| same(d, s as f32)));
    }
}

#[test]
fn rounding_and_special_values() {
    let src = [
        f64::NAN,
        f64::INFINITY,
        -0.0,
        1e39,
        1e-46,
        1.0 + f32::EPSILON as f64 / 2.0,
        1.0 + 1.5 * f32::EPSILON as f64,
        0.1,
    ];
    let r: Array<f32> = cast(ArrayView::from_slice(&src, Shape::d1(src.len())).unwrap());
    let r = r.as_slice();
    assert!(r[0].is_nan());
    assert_eq!(r[1], f32::INFINITY);
    assert!(r[2] == 0.0 && r[2].is_sign_negative());
    assert_eq!(r[3], f32::INFINITY, "beyond f32::MAX rounds to inf");
    assert!(
        r[4] == 0.0 && r[4].is_sign_positive(),
        "below half the smallest subnormal"
    );
    assert_eq!(r[5], 1.0, "a tie rounds to even");
    assert_eq!(r[6], 1.0 + 2.0 * f32::EPSILON, "a tie rounds to even");
    assert_eq!(r[7], 0.1f32);
    // f32 -> f64 is exact.
    let back: Array<f64> = cast(ArrayView::from_slice(&[0.1f32], Shape::d1(1)).unwrap());
    assert_eq!(back.as_slice()[0], 0.1f32 as f64);
}

#[test]
fn shape_mismatch_leaves_out_untouched() {
    let src = [1.0f32, 2.0, 3.0, 4.0];
    let mut out = [9.0f64; 4];
    let e = cast_into(
        ArrayView::from_slice(&src, Shape::d2(2, 2)).unwrap(),
        ArrayViewMut::from_slice(&mut out, Shape::d1(4)).unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        KernelError::OutShapeMismatch {
            expected: Shape::d2(2, 2),
            got: Shape::d1(4)
        }
    );
    assert_eq!(out, [9.0; 4]);
}

#[test]
fn zero_d_and_empty() {
    let r: Array<f32> = cast(ArrayView::from_slice(&[2.5f64], Shape::scalar()).unwrap());
    assert_eq!((r.shape(), r.as_slice()), (Shape::scalar(), &[2.5f32][..]));
    let empty: [f32; 0] = [];
    let r: Array<f64> = cast(ArrayView::from_slice(&empty, Shape::d2(0, 5)).unwrap());
    assert_eq!(r.shape(), Shape::d2(0, 5));
    assert!(r.as_slice().is_empty());
}
