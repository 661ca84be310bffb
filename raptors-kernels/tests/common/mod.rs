//! Shared test helpers: float trait, deterministic data, layouts and exact references.
#![allow(dead_code)]

use raptors_kernels::{ArrayView, ArrayViewMut, Element, Shape};

/// What the tests need from f32/f64 beyond the crate's sealed `Element`.
pub trait F: Element {
    const EPS: f64;
    fn of(x: f64) -> Self;
    fn f(self) -> f64;
    fn bits(self) -> u64;
    fn isnan(self) -> bool;
}
impl F for f32 {
    const EPS: f64 = f32::EPSILON as f64 / 2.0;
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f(self) -> f64 {
        self as f64
    }
    fn bits(self) -> u64 {
        self.to_bits() as u64
    }
    fn isnan(self) -> bool {
        self.is_nan()
    }
}
impl F for f64 {
    const EPS: f64 = f64::EPSILON / 2.0;
    fn of(x: f64) -> Self {
        x
    }
    fn f(self) -> f64 {
        self
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn isnan(self) -> bool {
        self.is_nan()
    }
}

/// Same bits, or both NaN.
pub fn same<T: F>(a: T, b: T) -> bool {
    a.bits() == b.bits() || (a.isnan() && b.isnan())
}

/// SplitMix64: deterministic data from a proptest-chosen seed (cheap to shrink).
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `len` values in [-100, 100); with `special`, ~3 % are NaN, ±inf or -0.0.
pub fn values<T: F>(seed: u64, len: usize, special: bool) -> Vec<T> {
    let mut r = Rng(seed);
    (0..len)
        .map(|_| {
            if special && r.next().is_multiple_of(32) {
                [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0][(r.next() % 4) as usize]
            } else {
                (r.unit() - 0.5) * 200.0
            }
        })
        .map(T::of)
        .collect()
}

/// How a logical (m, n) matrix is laid out in its buffer.
#[derive(Copy, Clone, Debug)]
pub enum Layout {
    /// C order starting `offset` elements into the buffer (unaligned heads).
    Contig(usize),
    /// Fortran order (a transposed C array).
    Transposed,
    /// Rows stored in reverse order (negative row stride).
    NegRows,
    /// Each row stored reversed (inner stride -1).
    NegCols,
    /// Every second element in both axes.
    Step2,
}

pub const LAYOUTS: [Layout; 7] = [
    Layout::Contig(0),
    Layout::Contig(1),
    Layout::Contig(3),
    Layout::Transposed,
    Layout::NegRows,
    Layout::NegCols,
    Layout::Step2,
];

/// Buffer, offset and strides holding `vals` (row-major m x n) in `layout`; the rest of the
/// buffer is a sentinel.
pub fn lay_out<T: F>(
    vals: &[T],
    m: usize,
    n: usize,
    layout: Layout,
    sentinel: T,
) -> (Vec<T>, usize, [isize; 2]) {
    let (mi, ni) = (m as isize, n as isize);
    let (len, offset, strides): (usize, isize, [isize; 2]) = match layout {
        Layout::Contig(off) => (m * n + off, off as isize, [ni, 1]),
        Layout::Transposed => (m * n, 0, [1, mi]),
        Layout::NegRows => (m * n, ((mi - 1) * ni).max(0), [-ni, 1]),
        Layout::NegCols => (m * n, (ni - 1).max(0), [ni, -1]),
        Layout::Step2 => (4 * m * n, 0, [4 * ni.max(1), 2]),
    };
    let offset = if m * n == 0 { 0 } else { offset };
    let mut buf = vec![sentinel; len];
    for i in 0..m {
        for j in 0..n {
            let at = offset + i as isize * strides[0] + j as isize * strides[1];
            buf[at as usize] = vals[i * n + j];
        }
    }
    (buf, offset as usize, strides)
}

/// A view of `buf` as made by [`lay_out`], 1-D (`one_d`, m must be 1) or 2-D.
pub fn view<'a, T: F>(
    buf: &'a [T],
    offset: usize,
    strides: [isize; 2],
    m: usize,
    n: usize,
    one_d: bool,
) -> ArrayView<'a, T> {
    if one_d {
        ArrayView::from_slice_strided(buf, offset, Shape::d1(n), [strides[1], 0]).unwrap()
    } else {
        ArrayView::from_slice_strided(buf, offset, Shape::d2(m, n), strides).unwrap()
    }
}

pub fn view_mut<'a, T: F>(
    buf: &'a mut [T],
    offset: usize,
    strides: [isize; 2],
    shape: Shape,
) -> ArrayViewMut<'a, T> {
    let s = if shape.ndim() == 1 {
        [strides[1], 0]
    } else {
        strides
    };
    ArrayViewMut::from_slice_strided(buf, offset, shape, s).unwrap()
}

/// Exact sum of f64 values rounded once (Shewchuk's algorithm, as Python's `math.fsum`).
/// Non-finite input falls back to the plain sum, which has the IEEE answer (inf or NaN).
pub fn fsum(xs: impl IntoIterator<Item = f64> + Clone) -> f64 {
    if xs.clone().into_iter().any(|x| !x.is_finite()) {
        return xs.into_iter().sum();
    }
    let mut partials: Vec<f64> = Vec::new();
    for mut x in xs {
        let mut i = 0;
        for k in 0..partials.len() {
            let mut y = partials[k];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    partials.iter().rev().fold(0.0, |acc, &p| acc + p)
}

/// Unit in the last place of `x` in type T.
pub fn ulp<T: F>(x: f64) -> f64 {
    let e = x.abs().max(f64::MIN_POSITIVE).log2().floor();
    2f64.powf(e) * T::EPS * 2.0
}

/// NumPy's pairwise summation in T (numpy/_core/src/umath/loops_utils.h.src): blocks of 128
/// with 8 accumulators, recursive halving above.
pub fn numpy_pairwise<T: F>(x: &[T]) -> T {
    let n = x.len();
    if n < 8 {
        let mut s = T::of(-0.0);
        for &v in x {
            s = s + v;
        }
        s
    } else if n <= 128 {
        let mut r = [T::of(0.0); 8];
        r.copy_from_slice(&x[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for k in 0..8 {
                r[k] = r[k] + x[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res = res + x[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_pairwise(&x[..n2]) + numpy_pairwise(&x[n2..])
    }
}
