//! Reductions: contiguous sum/min/max, axis-0 (rows blocked 8 at a time) and axis-1 (per row).
//!
//! Accuracy design of `sum` (bound derived in docs/kernels.md): the input is cut into blocks of
//! `8 * 8 * W` elements (a full block gathered from the four parts read at once, [`STREAMS`]);
//! inside a block 8 independent vector accumulators each take <= 8 (<= 14 in a short last block)
//! elements per lane, are combined as a tree, summed horizontally in f64, and the block partial is
//! added into a Neumaier-compensated f64 accumulator. The error is therefore
//! bounded per block and does not grow with the number of blocks.

use crate::lanes::Lanes;
use crate::shape::sealed::Sealed;
use crate::shape::{max_nan, min_nan, Element};

/// Sequential streams a contiguous sum/min/max reads at once. The L2 prefetchers follow each
/// stream, so four keep more cache lines in flight than one: measured on Zen 3 (one thread reading 4 MiB
/// of f32 back to back), 70 µs with one stream against 55 µs with four from L3, and 600 µs
/// against 380 µs from DRAM (docs/kernels.md).
pub(crate) const STREAMS: usize = 4;

pub(crate) const SUM: u8 = 0;
pub(crate) const MIN: u8 = 1;
pub(crate) const MAX: u8 = 2;

/// Neumaier (improved Kahan-Babuska) compensated f64 summation of partial sums.
#[derive(Copy, Clone, Default)]
pub(crate) struct Neumaier {
    sum: f64,
    comp: f64,
}

impl Neumaier {
    #[inline(always)]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }
    #[inline(always)]
    pub(crate) fn result(&self) -> f64 {
        // A NaN or infinite partial makes `comp` NaN; the plain sum already has the right value.
        if self.sum.is_finite() {
            self.sum + self.comp
        } else {
            self.sum
        }
    }
}

/// # Safety
/// The CPU supports `V`'s target feature.
#[inline(always)]
unsafe fn red_v<V: Lanes, const K: u8>(x: V, y: V) -> V {
    // SAFETY: lane arithmetic only needs `V`'s target feature (caller's contract).
    unsafe {
        match K {
            SUM => V::add(x, y),
            MIN => V::min(x, y),
            _ => V::max(x, y),
        }
    }
}

#[inline(always)]
fn red_s<E: Element, const K: u8>(x: E, y: E) -> E {
    match K {
        SUM => x + y,
        MIN => min_nan(x, y),
        _ => max_nan(x, y),
    }
}

/// Elements per lane and accumulator in one sum block (NumPy's pairwise leaf uses 16; fewer keeps
/// the partials smaller and so their rounding errors).
const PER_LANE: usize = 8;

/// Horizontal sum of the lanes in f64 (exact for f32 lanes up to W = 16 within f64 range).
///
/// # Safety
/// The CPU supports `V`'s target feature.
#[inline(always)]
unsafe fn hsum_f64<V: Lanes>(v: V) -> f64 {
    let mut buf = [V::E::ZERO; 16];
    debug_assert!(V::W <= 16);
    // SAFETY: `buf` holds 16 >= W elements; the target feature is the caller's contract.
    unsafe { V::store(buf.as_mut_ptr(), v) };
    let mut f = [0f64; 16];
    for (d, s) in f.iter_mut().zip(buf.iter()).take(V::W) {
        *d = s.to_f64();
    }
    // Adjacent pairs first: lanes of different parity meet early, which cancels periodic data.
    let mut step = 1;
    while step < V::W {
        let mut i = 0;
        while i + step < V::W {
            f[i] += f[i + step];
            i += 2 * step;
        }
        step *= 2;
    }
    f[0]
}

/// Sum of `n` contiguous elements, returned in f64 (exact conversion of the f32/f64 partials).
///
/// # Safety
/// `p` readable for `n` elements; CPU supports `V`'s feature.
#[inline(always)]
pub(crate) unsafe fn sum<V: Lanes>(p: *const V::E, n: usize) -> f64 {
    let w = V::W;
    let mut acc = Neumaier::default();
    let mut i = 0;
    // Peel to vector alignment so the block loads never split cache lines.
    if w > 1 {
        let align = w * std::mem::size_of::<V::E>();
        let mut head = 0.0f64;
        while i < n && !(p.wrapping_add(i) as usize).is_multiple_of(align) {
            // SAFETY: i < n, inside the n readable elements.
            head += unsafe { *p.add(i) }.to_f64();
            i += 1;
        }
        acc.add(head);
    }
    let block = PER_LANE * 8 * w;
    // The full blocks, read as four parts at once: block k is the k-th piece of each part.
    let blocks = (n - i) / block;
    if blocks > 0 {
        // SAFETY: the blocks cover p + i .. p + i + blocks * block, inside the n readable
        // elements; the target feature is the caller's contract.
        unsafe { sum_parts::<V>(p.add(i), blocks, &mut acc) };
        i += blocks * block;
    }
    if i < n {
        // SAFETY: p + i .. p + n lies inside the n readable elements; target feature as above.
        acc.add(unsafe { block_sum::<V>(p.add(i), n - i) });
    }
    acc.result()
}

/// Sum of `blocks` full blocks, added block by block into `acc`. The elements are read as
/// [`STREAMS`] parts of `blocks` pieces at once; block k is the k-th piece of every part, and each
/// piece feeds two of the eight accumulators, eight vectors each. Every accumulator lane thus takes
/// `PER_LANE` elements per block, the same error bound as a contiguous block (module docs).
///
/// # Safety
/// `p` readable for `blocks * 8 * PER_LANE * W` elements; CPU supports `V`'s feature.
#[inline(always)]
unsafe fn sum_parts<V: Lanes>(p: *const V::E, blocks: usize, acc: &mut Neumaier) {
    let w = V::W;
    let piece = 2 * PER_LANE * w;
    const { assert!(STREAMS * 2 == 8) };
    for k in 0..blocks {
        // SAFETY: `zero` only needs the target feature (caller's contract).
        let z = unsafe { V::zero() };
        let mut a = [z; 8];
        for s in 0..STREAMS {
            // SAFETY: part s, piece k starts at (s * blocks + k) * piece < STREAMS * blocks *
            // piece, the readable length, and spans `piece` elements; target feature as above.
            unsafe {
                let q = p.add((s * blocks + k) * piece);
                let (mut e, mut o) = (a[2 * s], a[2 * s + 1]);
                for c in 0..PER_LANE {
                    e = V::add(e, V::load(q.add(2 * c * w)));
                    o = V::add(o, V::load(q.add((2 * c + 1) * w)));
                }
                (a[2 * s], a[2 * s + 1]) = (e, o);
            }
        }
        // SAFETY: register arithmetic and the horizontal sum; target feature as above.
        acc.add(unsafe {
            hsum_f64::<V>(V::add(
                V::add(V::add(a[0], a[1]), V::add(a[2], a[3])),
                V::add(V::add(a[4], a[5]), V::add(a[6], a[7])),
            ))
        });
    }
}

/// Sum of one block of `len` contiguous elements (see the module docs).
///
/// # Safety
/// `p` readable for `len` elements; CPU supports `V`'s feature.
#[inline(always)]
unsafe fn block_sum<V: Lanes>(p: *const V::E, len: usize) -> f64 {
    let w = V::W;
    // SAFETY: `zero` only needs the target feature (caller's contract).
    let z = unsafe { V::zero() };
    let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
    let (mut a4, mut a5, mut a6, mut a7) = (z, z, z, z);
    let mut j = 0;
    while j + 8 * w <= len {
        // SAFETY: j + 8W <= len: the eight vectors lie inside the `len` readable elements; the
        // target feature is the caller's contract.
        unsafe {
            let q = p.add(j);
            a0 = V::add(a0, V::load(q));
            a1 = V::add(a1, V::load(q.add(w)));
            a2 = V::add(a2, V::load(q.add(2 * w)));
            a3 = V::add(a3, V::load(q.add(3 * w)));
            a4 = V::add(a4, V::load(q.add(4 * w)));
            a5 = V::add(a5, V::load(q.add(5 * w)));
            a6 = V::add(a6, V::load(q.add(6 * w)));
            a7 = V::add(a7, V::load(q.add(7 * w)));
        }
        j += 8 * w;
    }
    while j + w <= len {
        // SAFETY: j + W <= len; target feature as above.
        a0 = unsafe { V::add(a0, V::load(p.add(j))) };
        j += w;
    }
    // SAFETY: register arithmetic, target feature as above.
    let v = unsafe {
        V::add(
            V::add(V::add(a0, a1), V::add(a2, a3)),
            V::add(V::add(a4, a5), V::add(a6, a7)),
        )
    };
    let mut tail = V::E::ZERO;
    while j < len {
        // SAFETY: j < len.
        tail = tail + unsafe { *p.add(j) };
        j += 1;
    }
    // SAFETY: target feature as above.
    unsafe { hsum_f64::<V>(v) + tail.to_f64() }
}

/// The ISA's plain min (K = MIN) or max (K = MAX): exact for NaN-free lanes
/// (NaN-propagating where `V::MINMAX_PROPAGATES_NAN`).
///
/// # Safety
/// The CPU supports `V`'s target feature.
#[inline(always)]
unsafe fn num_v<V: Lanes, const K: u8>(x: V, y: V) -> V {
    // SAFETY: lane arithmetic only needs `V`'s target feature (caller's contract).
    unsafe {
        match K {
            MIN => V::min_num(x, y),
            _ => V::max_num(x, y),
        }
    }
}

/// The first NaN among `n` contiguous elements, if any.
///
/// # Safety
/// `p` readable for `n` elements.
#[inline(always)]
unsafe fn first_nan<E: Element>(p: *const E, n: usize) -> Option<E> {
    // SAFETY: i < n (caller's contract).
    (0..n).map(|i| unsafe { *p.add(i) }).find(|x| x.is_nan())
}

/// The first NaN among `n` contiguous elements, found a vector at a time (NaN if there is none).
///
/// # Safety
/// `p` readable for `n` elements; CPU supports `V`'s feature.
#[inline(always)]
unsafe fn first_nan_v<V: Lanes>(p: *const V::E, n: usize) -> V::E {
    let w = V::W;
    let mut j = 0;
    while j + w <= n {
        // SAFETY: j + W <= n: the vector and its W elements are readable; target feature is the
        // caller's contract.
        unsafe {
            let v = V::load(p.add(j));
            if V::mask_any(V::nan_mask(v, v)) {
                return first_nan(p.add(j), w).unwrap_or(V::E::NAN);
            }
        }
        j += w;
    }
    // SAFETY: j .. n are readable.
    unsafe { first_nan(p.add(j), n - j) }.unwrap_or(V::E::NAN)
}

/// Eight vectors combined as a balanced tree.
///
/// # Safety
/// The CPU supports `V`'s target feature.
#[inline(always)]
unsafe fn tree8<V: Lanes, const K: u8>(x: [V; 8]) -> V {
    // SAFETY: register operations; target feature is the caller's contract.
    unsafe {
        num_v::<V, K>(
            num_v::<V, K>(num_v::<V, K>(x[0], x[1]), num_v::<V, K>(x[2], x[3])),
            num_v::<V, K>(num_v::<V, K>(x[4], x[5]), num_v::<V, K>(x[6], x[7])),
        )
    }
}

/// Lanes where any of eight vectors holds a NaN (one unordered compare per two vectors).
///
/// # Safety
/// The CPU supports `V`'s target feature.
#[inline(always)]
unsafe fn nan_mask8<V: Lanes>(x: &[V; 8]) -> V::Mask {
    // SAFETY: register operations; target feature is the caller's contract.
    unsafe {
        V::mask_or(
            V::mask_or(V::nan_mask(x[0], x[1]), V::nan_mask(x[2], x[3])),
            V::mask_or(V::nan_mask(x[4], x[5]), V::nan_mask(x[6], x[7])),
        )
    }
}

/// NaN-propagating min (K = MIN) or max (K = MAX) of `n >= 1` contiguous elements.
///
/// Eight vectors per step, loaded from vector-aligned addresses, are combined as a tree and
/// folded into two alternating accumulators (one dependent instruction per eight loads). The
/// steps are read as [`STREAMS`] parts at once, one step of each per iteration. Where the ISA's
/// min/max does not propagate NaN (x86) the plain instruction is used and the inputs are checked
/// for NaN with one unordered compare per two vectors, so NaN-free data pays two instructions per
/// vector instead of four. A NaN makes the result the first NaN in array order: the one-stream
/// loops return it from the step that holds it, the four-part loop after it ends.
///
/// # Safety
/// `p` readable for `n >= 1` elements; CPU supports `V`'s feature.
#[inline(always)]
pub(crate) unsafe fn minmax<V: Lanes, const K: u8>(p: *const V::E, n: usize) -> V::E {
    let w = V::W;
    let check = !V::MINMAX_PROPAGATES_NAN;
    if n < w {
        // SAFETY: n >= 1 (contract), so element 0 is readable.
        let mut r = unsafe { *p };
        for i in 1..n {
            // SAFETY: i < n.
            r = red_s::<V::E, K>(r, unsafe { *p.add(i) });
        }
        return r;
    }
    // SAFETY: n >= W elements are readable; the target feature is the caller's contract.
    let first = unsafe { V::load(p) };
    // SAFETY: register operations; target feature as above.
    if check && unsafe { V::mask_any(V::nan_mask(first, first)) } {
        // SAFETY: the first W <= n elements are readable.
        return unsafe { first_nan(p, w) }.unwrap_or(V::E::NAN);
    }
    let (mut a0, mut a1) = (first, first);
    // The first (unaligned) vector covered elements 0..W; min/max being idempotent, the loop
    // may start at the first vector-aligned element h < W instead of 0, so that none of its
    // loads splits a cache line (NumPy's arrays sit 16 bytes past a 64-byte line: every other
    // 32-byte load would).
    let align = w * std::mem::size_of::<V::E>();
    let mis = (p as usize) % align;
    let mut j = if mis.is_multiple_of(std::mem::size_of::<V::E>()) && mis != 0 {
        (align - mis) / std::mem::size_of::<V::E>()
    } else {
        0
    };
    let step = 8 * w;
    // Four streams at once (module docs): part `s` covers `per` steps from `j + s * per * step`;
    // the steps left over after them (< STREAMS) take the one-stream loop below.
    let per = (n - j) / step / STREAMS;
    if per > 0 {
        // NaN is looked for once after the loop, not per step: an exit inside the loop lets the
        // compiler sink the min/max past it, keeping all 32 vectors live and spilling them
        // (measured 0.57x). A NaN found there means a NaN result; which one is chosen below.
        // SAFETY: register operations; `first` holds no NaN (checked above), so this is a mask
        // with no lane set.
        let mut seen = unsafe { V::nan_mask(first, first) };
        for k in 0..per {
            // SAFETY: j + (STREAMS * per) * step <= n, so each part's step k (s < STREAMS,
            // k < per) lies inside the readable elements; target feature as above.
            unsafe {
                // A loop, not `array::from_fn`: a closure does not inherit the target feature,
                // and one this large is not inlined (30x slower, measured).
                let mut t = [first; STREAMS];
                for (s, ts) in t.iter_mut().enumerate() {
                    let q = p.add(j + (s * per + k) * step);
                    let x: [V; 8] = core::array::from_fn(|c| V::load(q.add(c * w)));
                    if check {
                        seen = V::mask_or(seen, nan_mask8(&x));
                    }
                    *ts = tree8::<V, K>(x);
                }
                const { assert!(STREAMS == 4) };
                let t = num_v::<V, K>(num_v::<V, K>(t[0], t[1]), num_v::<V, K>(t[2], t[3]));
                (a0, a1) = (a1, num_v::<V, K>(a0, t));
            }
        }
        // SAFETY: register operation; target feature as above.
        if check && unsafe { V::mask_any(seen) } {
            // The first NaN in array order, as the one-stream loops return it.
            // SAFETY: the n elements are readable; target feature as above.
            return unsafe { first_nan_v::<V>(p, n) };
        }
        j += STREAMS * per * step;
    }
    while j + step <= n {
        // SAFETY: j + 8W <= n: the eight vectors lie inside the readable elements; target feature
        // as above.
        unsafe {
            let q = p.add(j);
            let x: [V; 8] = core::array::from_fn(|k| V::load(q.add(k * w)));
            if check && V::mask_any(nan_mask8(&x)) {
                return first_nan(q, step).unwrap_or(V::E::NAN);
            }
            (a0, a1) = (a1, num_v::<V, K>(a0, tree8::<V, K>(x)));
        }
        j += step;
    }
    // The last < 8 vectors, then (min/max being idempotent) one overlapping vector for the tail.
    let mut last = |v: V, at: usize| -> Option<V::E> {
        // SAFETY: register operations; target feature as above.
        unsafe {
            if check && V::mask_any(V::nan_mask(v, v)) {
                // SAFETY: `at .. at + W` is the vector just loaded, inside the n elements.
                return Some(first_nan(p.add(at), w).unwrap_or(V::E::NAN));
            }
            a0 = num_v::<V, K>(a0, v);
        }
        None
    };
    while j + w <= n {
        // SAFETY: j + W <= n; target feature as above.
        if let Some(nan) = last(unsafe { V::load(p.add(j)) }, j) {
            return nan;
        }
        j += w;
    }
    if j < n {
        // SAFETY: n >= W, so n - W .. n is a readable vector; target feature as above.
        if let Some(nan) = last(unsafe { V::load(p.add(n - w)) }, n - w) {
            return nan;
        }
    }
    // SAFETY: register operations; target feature as above.
    unsafe {
        let v = num_v::<V, K>(a0, a1);
        match K {
            MIN => V::hmin(v),
            _ => V::hmax(v),
        }
    }
}

/// Rows per pass of the axis-0 kernel (tree-combined in registers before touching `out`).
pub(crate) const AXIS0_ROWS: usize = 8;

/// Combines `rows` (1..=8) row vectors at column offset `j` as a balanced tree.
///
/// # Safety
/// `r[k] + j .. r[k] + j + W` readable for `k < rows`; CPU supports `V`'s feature.
#[inline(always)]
unsafe fn rows_v<V: Lanes, const K: u8>(r: &[*const V::E; AXIS0_ROWS], rows: usize, j: usize) -> V {
    if rows == AXIS0_ROWS {
        // SAFETY: all 8 rows are readable at j..j+W (caller's contract, rows == 8).
        let mut v: [V; AXIS0_ROWS] = core::array::from_fn(|k| unsafe { V::load(r[k].add(j)) });
        // Balanced tree over adjacent rows (fully unrolled: the array size is a constant).
        let mut w = AXIS0_ROWS;
        while w > 1 {
            w /= 2;
            for k in 0..w {
                // SAFETY: register operation; target feature is the caller's contract.
                v[k] = unsafe { red_v::<V, K>(v[2 * k], v[2 * k + 1]) };
            }
        }
        v[0]
    } else {
        // SAFETY: rows >= 1 rows are readable at j..j+W (caller's contract).
        let mut v = unsafe { V::load(r[0].add(j)) };
        for q in r.iter().take(rows).skip(1) {
            // SAFETY: q is one of the first `rows` row pointers, readable at j..j+W.
            v = unsafe { red_v::<V, K>(v, V::load(q.add(j))) };
        }
        v
    }
}

/// Column reduction of an (m, n) matrix whose rows are contiguous (row stride `rs` elements, any
/// sign): `out[j] = reduce_i a[i, j]`, `out` contiguous, `m >= 1`. Rows are consumed 8 at a time
/// (8 sequential streams), combined as a tree in registers, and folded into `out`, which stays in
/// L1/L2 as the accumulator; four vectors of columns are processed per step.
///
/// # Safety
/// Every `p + i*rs + j` (i < m, j < n) readable, `out` writable for `n`; CPU supports `V`.
#[inline(always)]
pub(crate) unsafe fn axis0<V: Lanes, const K: u8>(
    p: *const V::E,
    m: usize,
    n: usize,
    rs: isize,
    out: *mut V::E,
) {
    // Peel columns until the first row is vector-aligned (malloc'd arrays sit 16 bytes past a
    // 64-byte line; rows whose stride is a multiple of the vector size then all load aligned
    // instead of splitting cache lines on every AVX-512 load).
    let align = V::W * std::mem::size_of::<V::E>();
    // h < W <= n / 4: the peeled columns are a prefix of the n columns.
    let h = if V::W > 1 && n >= 4 * V::W {
        let mis = (p as usize) % align;
        if mis.is_multiple_of(std::mem::size_of::<V::E>()) && mis != 0 {
            (align - mis) / std::mem::size_of::<V::E>()
        } else {
            0
        }
    } else {
        0
    };
    // SAFETY: columns 0..h and h..n are sub-ranges of the n readable columns of every row and
    // of the n writable elements of `out` (h <= n, see above); target feature forwarded.
    unsafe {
        if h > 0 {
            axis0_cols::<V, K>(p, m, h, rs, out);
        }
        axis0_cols::<V, K>(p.add(h), m, n - h, rs, out.add(h));
    }
}

/// [`axis0`] without the alignment peel.
///
/// # Safety
/// As [`axis0`].
#[inline(always)]
unsafe fn axis0_cols<V: Lanes, const K: u8>(
    p: *const V::E,
    m: usize,
    n: usize,
    rs: isize,
    out: *mut V::E,
) {
    let w = V::W;
    let mut r0 = 0;
    while r0 < m {
        let rows = AXIS0_ROWS.min(m - r0);
        let mut r = [p; AXIS0_ROWS];
        for (k, slot) in r.iter_mut().enumerate().take(rows) {
            // Unused slots keep `p` and are never read (`rows_v` reads the first `rows`).
            *slot = p.wrapping_offset((r0 + k) as isize * rs);
        }
        let first = r0 == 0;
        let mut j = 0;
        while j + 4 * w <= n {
            for c in 0..4 {
                let jj = j + c * w;
                // SAFETY: jj + W <= n: the vector lies inside columns 0..n of the rows r0..r0+rows
                // (< m, each readable over n columns) and of `out` (n writable); target feature
                // is the caller's contract.
                unsafe {
                    let mut v = rows_v::<V, K>(&r, rows, jj);
                    if !first {
                        v = red_v::<V, K>(V::load(out.add(jj)), v);
                    }
                    V::store(out.add(jj), v);
                }
            }
            j += 4 * w;
        }
        while j + w <= n {
            // SAFETY: j + W <= n, as above.
            unsafe {
                let mut v = rows_v::<V, K>(&r, rows, j);
                if !first {
                    v = red_v::<V, K>(V::load(out.add(j)), v);
                }
                V::store(out.add(j), v);
            }
            j += w;
        }
        while j < n {
            // SAFETY: j < n: column j of the rows in use is readable and `out[j]` writable.
            unsafe {
                let mut s = *r[0].add(j);
                for q in r.iter().take(rows).skip(1) {
                    s = red_s::<V::E, K>(s, *q.add(j));
                }
                if !first {
                    s = red_s::<V::E, K>(*out.add(j), s);
                }
                *out.add(j) = s;
            }
            j += 1;
        }
        r0 += rows;
    }
}

/// Row reduction of an (m, n) matrix with contiguous rows: `out[i*os] = reduce_j a[i, j]`, sums
/// divided by `div` in f64 (1 for sum, n for mean). Min/max need `n >= 1`.
///
/// # Safety
/// As for [`axis0`], with `out + i*os` writable for `i < m`.
#[inline(always)]
pub(crate) unsafe fn axis1<V: Lanes, const K: u8>(
    p: *const V::E,
    m: usize,
    n: usize,
    rs: isize,
    out: *mut V::E,
    os: isize,
    div: f64,
) {
    for i in 0..m {
        // SAFETY: row i < m is readable over its n contiguous elements and `out + i*os` is
        // writable (caller's contract); min/max get n >= 1 (ditto); target feature forwarded.
        unsafe {
            let row = p.offset(i as isize * rs);
            let r = match K {
                SUM => V::E::from_f64(sum::<V>(row, n) / div),
                _ => minmax::<V, K>(row, n),
            };
            *out.offset(i as isize * os) = r;
        }
    }
}
