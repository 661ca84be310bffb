//! Layout analysis and dispatch of the public operations onto the per-ISA kernel tables.
//!
//! Every input is first brought into a 2-D (m, n) picture with element strides; C-contiguous
//! operands take flat fast paths, rows with unit inner stride take per-row SIMD kernels, and
//! anything else (negative/zero/transposed strides) takes a correct general path.

use crate::dispatch::{Kernels, Table};
use crate::error::KernelError;
use crate::generic::reduce::Neumaier;
use crate::ops::{BinaryOp, ReduceOp, Reduced, ScalarSide};
use crate::par::{self, SendPtr};
use crate::shape::{broadcast, max_nan, min_nan, normalize_axis, Element, Shape};
use crate::view::{c_strides, Array, ArrayView, ArrayViewMut};

/// One operand of an element-wise op in the (m, n) result space: strides already broadcast.
#[derive(Copy, Clone)]
struct Operand<T> {
    ptr: *const T,
    s0: isize,
    s1: isize,
}

fn broadcast_operand<T: Element>(v: &ArrayView<'_, T>, n: usize) -> Operand<T> {
    let (vm, vn) = v.shape.as_2d();
    let (s0, s1) = v.strides2d();
    Operand {
        ptr: v.ptr,
        s0: if vm == 1 { 0 } else { s0 },
        // A single column is read at j = 0 only, so any stride works; 1 enables the fast path.
        s1: if n == 1 {
            1
        } else if vn == 1 {
            0
        } else {
            s1
        },
    }
}

/// Allocates an uninitialised result of `shape`, lets `fill` write every element, returns it.
pub(crate) fn with_result<T: Element>(
    shape: Shape,
    fill: impl FnOnce(ArrayViewMut<'_, T>) -> Result<(), KernelError>,
) -> Result<Array<T>, KernelError> {
    let len = shape.size();
    let mut v: Vec<T> = crate::pool::take(len);
    advise_huge_pages(v.as_mut_ptr() as *mut u8, len * std::mem::size_of::<T>());
    // SAFETY: the capacity covers `len` elements in C order; `fill` only writes them.
    let out = unsafe { ArrayViewMut::from_raw_parts(v.as_mut_ptr(), shape, c_strides(shape)) };
    fill(out)?;
    // SAFETY: `fill` succeeded, and every kernel path writes all `len` elements of its output.
    unsafe { v.set_len(len) };
    Array::from_vec(v, shape)
}

/// Results at least this large ask the kernel for transparent huge pages.
const HUGE_MIN_BYTES: usize = 4 << 20;

/// Asks Linux to back the 2 MiB-aligned interior of a fresh large allocation with transparent huge
/// pages (NumPy does the same): in a VM a 4 KiB page fault costs microseconds, and a 32 MiB result
/// would otherwise take 8192 of them. Purely advisory: if THP is off the call fails and the
/// allocation keeps normal pages, with identical results.
fn advise_huge_pages(p: *mut u8, bytes: usize) {
    #[cfg(target_os = "linux")]
    if bytes >= HUGE_MIN_BYTES {
        const HUGE: usize = 2 << 20;
        let start = (p as usize).next_multiple_of(HUGE);
        let end = (p as usize + bytes) / HUGE * HUGE;
        if end > start {
            // SAFETY: [start, end) lies inside the allocation we own and has not been handed out;
            // madvise only changes how the kernel backs the pages, never their contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, bytes, HUGE_MIN_BYTES);
}

impl Kernels {
    /// `a op b` with NumPy broadcasting, into a new C-contiguous array.
    pub fn binary<T: Element>(
        &self,
        op: BinaryOp,
        a: ArrayView<T>,
        b: ArrayView<T>,
    ) -> Result<Array<T>, KernelError> {
        let shape = broadcast(a.shape, b.shape).ok_or(KernelError::BroadcastMismatch {
            a: a.shape,
            b: b.shape,
        })?;
        // The shape is known: skip `binary_into`'s second broadcast and out-shape check.
        with_result(shape, |out| {
            self.run_binary(op, a, b, out, shape);
            Ok(())
        })
    }

    /// `a op b` written into `out`, which must have exactly the broadcast shape.
    pub fn binary_into<T: Element>(
        &self,
        op: BinaryOp,
        a: ArrayView<T>,
        b: ArrayView<T>,
        out: ArrayViewMut<T>,
    ) -> Result<(), KernelError> {
        let Some(shape) = broadcast(a.shape, b.shape) else {
            return Err(KernelError::BroadcastMismatch {
                a: a.shape,
                b: b.shape,
            });
        };
        if out.shape != shape {
            return Err(KernelError::OutShapeMismatch {
                expected: shape,
                got: out.shape,
            });
        }
        self.run_binary(op, a, b, out, shape);
        Ok(())
    }

    /// The element-wise work once `shape` is known to be the broadcast shape and `out`'s shape.
    fn run_binary<T: Element>(
        &self,
        op: BinaryOp,
        a: ArrayView<T>,
        b: ArrayView<T>,
        out: ArrayViewMut<T>,
        shape: Shape,
    ) {
        if shape.size() == 0 {
            return;
        }
        let t = T::table(self);
        let size = shape.size();
        let esz = std::mem::size_of::<T>();
        let (bytes, nt) = traffic(&a, &b, &out);
        let full = |v: &ArrayView<T>| v.shape == shape && v.is_c_contiguous();
        let single = |v: &ArrayView<T>| v.shape.size() == 1;
        if out.is_c_contiguous() {
            let mode = if full(&a) && full(&b) {
                Some(0)
            } else if full(&a) && single(&b) {
                Some(1)
            } else if single(&a) && full(&b) {
                Some(2)
            } else {
                None
            };
            if let Some(mode) = mode {
                let f = t.binary[mode][op.index()];
                let (pa, pb, po) = (
                    SendPtr(a.ptr as *mut T),
                    SendPtr(b.ptr as *mut T),
                    SendPtr(out.ptr),
                );
                par::for_ranges(size, bytes, 64, par::CHUNKS_PER_THREAD, |s, e| {
                    let pa = if mode == 2 {
                        pa.get()
                    } else {
                        pa.get().wrapping_add(s)
                    };
                    let pb = if mode == 1 {
                        pb.get()
                    } else {
                        pb.get().wrapping_add(s)
                    };
                    // SAFETY: [s, e) lies inside the result; full operands cover the result in C order
                    // and a single-element operand is read at its one element.
                    unsafe { f(pa, pb, po.get().add(s), e - s, nt) };
                });
                return;
            }
        }
        let (m, n) = shape.as_2d();
        let (oa, ob) = (broadcast_operand(&a, n), broadcast_operand(&b, n));
        let (os0, os1) = out.strides2d();
        let os1 = if n == 1 { 1 } else { os1 };
        // Every kernel call with `nt` ends in a fence: only worth it for long rows.
        let nt = nt && n * esz >= 4096;
        let (pa, pb, po) = (
            SendPtr(oa.ptr as *mut T),
            SendPtr(ob.ptr as *mut T),
            SendPtr(out.ptr),
        );
        par::for_ranges(m, bytes, 1, par::CHUNKS_PER_THREAD, |r0, r1| {
            for i in r0..r1 {
                let i = i as isize;
                // SAFETY: row i of each operand/out is reachable (validated views, broadcast
                // strides are 0 on broadcast axes).
                unsafe {
                    let ra = pa.get().offset(i * oa.s0) as *const T;
                    let rb = pb.get().offset(i * ob.s0) as *const T;
                    let ro = po.get().offset(i * os0);
                    binary_row(t, op, ra, oa.s1, rb, ob.s1, ro, os1, n, nt);
                }
            }
        });
    }

    /// `a op s` (`ScalarSide::Right`) or `s op a` (`Left`), into a new array.
    pub fn binary_scalar<T: Element>(
        &self,
        op: BinaryOp,
        a: ArrayView<T>,
        s: T,
        side: ScalarSide,
    ) -> Result<Array<T>, KernelError> {
        with_result(a.shape, |out| self.binary_scalar_into(op, a, s, side, out))
    }

    /// `a op s` / `s op a` written into `out` (same shape as `a`).
    pub fn binary_scalar_into<T: Element>(
        &self,
        op: BinaryOp,
        a: ArrayView<T>,
        s: T,
        side: ScalarSide,
        out: ArrayViewMut<T>,
    ) -> Result<(), KernelError> {
        if out.shape != a.shape {
            return Err(KernelError::OutShapeMismatch {
                expected: a.shape,
                got: out.shape,
            });
        }
        let cell = [s];
        // SAFETY: a 0-d view of the one element of `cell`, which outlives the call.
        let sv = unsafe { ArrayView::from_raw_parts(cell.as_ptr(), Shape::scalar(), [0, 0]) };
        // A 0-d operand broadcasts to `a.shape`, which is also `out`'s shape.
        match side {
            ScalarSide::Right => self.run_binary(op, a, sv, out, a.shape),
            ScalarSide::Left => self.run_binary(op, sv, a, out, a.shape),
        }
        Ok(())
    }

    /// Reduction over all elements (`axis: None`) or one axis (negative allowed).
    pub fn reduce<T: Element>(
        &self,
        op: ReduceOp,
        a: ArrayView<T>,
        axis: Option<isize>,
    ) -> Result<Reduced<T>, KernelError> {
        let Some(axis) = axis else {
            return self.reduce_all(op, a).map(Reduced::Scalar);
        };
        let ax = normalize_axis(axis, a.shape.ndim())?;
        if a.shape.ndim() == 1 {
            return self.reduce_all(op, a).map(Reduced::Scalar);
        }
        let (m, n) = a.shape.as_2d();
        let shape = Shape::d1(if ax == 0 { n } else { m });
        with_result(shape, |out| self.reduce_into(op, a, axis, out)).map(Reduced::Array)
    }

    /// Reduction over `axis` written into `out` (shape `()` for 1-D input, else the remaining axis).
    pub fn reduce_into<T: Element>(
        &self,
        op: ReduceOp,
        a: ArrayView<T>,
        axis: isize,
        out: ArrayViewMut<T>,
    ) -> Result<(), KernelError> {
        let ax = normalize_axis(axis, a.shape.ndim())?;
        let (m, n) = a.shape.as_2d();
        let expected = if a.shape.ndim() == 1 {
            Shape::scalar()
        } else {
            Shape::d1(if ax == 0 { n } else { m })
        };
        if out.shape != expected {
            return Err(KernelError::OutShapeMismatch {
                expected,
                got: out.shape,
            });
        }
        if a.shape.ndim() == 1 {
            let v = self.reduce_all(op, a)?;
            // SAFETY: a 0-d out view addresses exactly one writable element.
            unsafe { *out.ptr = v };
            return Ok(());
        }
        let (s0, s1) = a.strides2d();
        // Reduce over the first dimension of a (possibly transposed) (rows, cols) picture.
        let (rows, cols, rs0, rs1) = if ax == 0 {
            (m, n, s0, s1)
        } else {
            (n, m, s1, s0)
        };
        if rows == 0 && matches!(op, ReduceOp::Min | ReduceOp::Max) {
            return Err(KernelError::ZeroSizeReduction { op });
        }
        if cols == 0 {
            return Ok(());
        }
        let os = out.strides2d().1;
        if rows == 0 {
            let fill = if op == ReduceOp::Sum { T::ZERO } else { T::NAN };
            for j in 0..cols {
                // SAFETY: j < cols = out length.
                unsafe { *out.ptr.offset(j as isize * os) = fill };
            }
            return Ok(());
        }
        // SAFETY: the view is valid (constructor contract), out has `cols` elements at stride os.
        unsafe { reduce_cols(T::table(self), op, a.ptr, rows, cols, rs0, rs1, out.ptr, os) };
        Ok(())
    }

    pub(crate) fn reduce_all<T: Element>(
        &self,
        op: ReduceOp,
        a: ArrayView<T>,
    ) -> Result<T, KernelError> {
        let size = a.shape.size();
        if size == 0 {
            return match op {
                ReduceOp::Sum => Ok(T::ZERO),
                ReduceOp::Mean => Ok(T::NAN),
                _ => Err(KernelError::ZeroSizeReduction { op }),
            };
        }
        let t = T::table(self);
        let (mut m, mut n) = a.shape.as_2d();
        let (mut s0, mut s1) = a.strides2d();
        // The order of a full reduction does not matter: bring a unit stride to the inner axis.
        if n == 1 {
            (m, n, s0, s1) = (1, m, 0, s0);
        } else if m > 1 && s1.abs() != 1 && s0.abs() == 1 {
            (m, n, s0, s1) = (n, m, s1, s0);
        }
        if n == 1 {
            // A single element per line is read at index 0 only: any stride is contiguous.
            s1 = 1;
        }
        if s1 == 1 && (m == 1 || s0 == n as isize) {
            (m, n, s0) = (1, m * n, 0);
        }
        let bytes = size * std::mem::size_of::<T>();
        let p = SendPtr(a.ptr as *mut T);
        let flat = m == 1 && s1 == 1;
        if matches!(op, ReduceOp::Sum | ReduceOp::Mean) {
            let total = if flat {
                // SAFETY: [s, e) lies inside the single contiguous line of `size` elements.
                par::map_reduce(
                    n,
                    bytes,
                    64,
                    |s, e| unsafe { (t.sum)(p.get().add(s), e - s) },
                    add2,
                )
            } else {
                par::map_reduce(
                    m,
                    bytes,
                    1,
                    |r0, r1| {
                        let mut acc = Neumaier::default();
                        for i in r0..r1 {
                            // SAFETY: row i of the (m, n) picture is reachable with stride s1.
                            acc.add(unsafe { line_sum(t, p.get().offset(i as isize * s0), n, s1) });
                        }
                        acc.result()
                    },
                    add2,
                )
            };
            let v = if op == ReduceOp::Mean {
                total / size as f64
            } else {
                total
            };
            return Ok(T::from_f64(v));
        }
        let k = usize::from(op == ReduceOp::Max);
        let comb = move |x: T, y: T| if k == 0 { min_nan(x, y) } else { max_nan(x, y) };
        Ok(if flat {
            // SAFETY: [s, e) (non-empty) lies inside the contiguous line.
            par::map_reduce(
                n,
                bytes,
                64,
                |s, e| unsafe { (t.minmax[k])(p.get().add(s), e - s) },
                comb,
            )
        } else {
            par::map_reduce(
                m,
                bytes,
                1,
                |r0, r1| {
                    // SAFETY: rows r0..r1 (r0 < r1) are reachable, each with n >= 1 elements.
                    let mut acc =
                        unsafe { line_minmax(t, k, p.get().offset(r0 as isize * s0), n, s1) };
                    for i in r0 + 1..r1 {
                        // SAFETY: as above.
                        let r =
                            unsafe { line_minmax(t, k, p.get().offset(i as isize * s0), n, s1) };
                        acc = comb(acc, r);
                    }
                    acc
                },
                comb,
            )
        })
    }
}

/// Bytes of distinct memory an element-wise call touches (an operand that *is* `out`, as in
/// `x *= s` or `x += y`, is one array, not two) and whether its output uses streaming stores:
/// above `par::NT_MIN_BYTES`, and never in place. Streaming stores only pay by skipping the
/// read-for-ownership of output lines; in place every output line was just loaded, so they would
/// only evict the array the next in-place call reads again (measured: in-place f32 2048² and
/// f64 1024²-2048² ops were 0.55-0.9x NumPy with them, docs/performance.md).
fn traffic<T: Element>(a: &ArrayView<T>, b: &ArrayView<T>, out: &ArrayViewMut<T>) -> (usize, bool) {
    let is_out = |v: &ArrayView<T>| {
        std::ptr::eq(v.ptr, out.ptr as *const T) && v.shape == out.shape && v.strides == out.strides
    };
    let reads = |v: &ArrayView<T>| if is_out(v) { 0 } else { v.shape.size() };
    let bytes = (reads(a) + reads(b) + out.shape.size()) * std::mem::size_of::<T>();
    let in_place = is_out(a) || is_out(b);
    (bytes, bytes > par::NT_MIN_BYTES && !in_place)
}

/// Compensated sum of two partial sums.
fn add2(x: f64, y: f64) -> f64 {
    let mut a = Neumaier::default();
    a.add(x);
    a.add(y);
    a.result()
}

/// Minimum rows per band when an axis-0 reduction is split over threads (keeps the per-band error
/// `ceil(256/8) + 3` plus the tree of band partials well inside the documented bound).
const BAND_ROWS: usize = 256;

/// Columns per chunk are a multiple of this when an axis-0 reduction with too few rows for bands
/// is split by columns: 64 elements keep every chunk's start on the first chunk's cache-line and
/// vector alignment (for f32 and f64), and row segments long enough for the prefetchers.
const COL_CHUNK: usize = 64;

/// Elements gathered per chunk on the general (strided) paths; lives on the stack.
const GATHER: usize = 256;

/// Sum of `n` elements at stride `s` (any sign or zero).
///
/// # Safety
/// `p + i*s` readable for `i < n`.
unsafe fn line_sum<T: Element>(t: &Table<T>, p: *const T, n: usize, s: isize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    if s == 1 {
        // SAFETY: stride 1: `p` is readable for n contiguous elements (contract); the table's
        // kernels run on this CPU (tables are handed out per available level).
        return unsafe { (t.sum)(p, n) };
    }
    if s == -1 {
        // SAFETY: stride -1: the n elements are the contiguous run ending at `p`, starting at
        // `p - (n - 1)`.
        return unsafe { (t.sum)(p.offset(1 - n as isize), n) };
    }
    let mut buf = [T::ZERO; GATHER];
    let mut acc = Neumaier::default();
    let mut i = 0;
    while i < n {
        let c = GATHER.min(n - i);
        for (j, slot) in buf.iter_mut().enumerate().take(c) {
            // SAFETY: i + j < n, so `p + (i+j)*s` is readable (contract).
            *slot = unsafe { *p.offset((i + j) as isize * s) };
        }
        // SAFETY: the first c <= GATHER elements of `buf` were just written.
        acc.add(unsafe { (t.sum)(buf.as_ptr(), c) });
        i += c;
    }
    acc.result()
}

/// Min (`k == 0`) or max (`k == 1`) of `n >= 1` elements at stride `s`.
///
/// # Safety
/// `p + i*s` readable for `i < n`.
unsafe fn line_minmax<T: Element>(t: &Table<T>, k: usize, p: *const T, n: usize, s: isize) -> T {
    if s == 1 {
        // SAFETY: as in `line_sum` (n >= 1 contiguous readable elements).
        return unsafe { (t.minmax[k])(p, n) };
    }
    if s == -1 {
        // SAFETY: as in `line_sum`: the contiguous run ending at `p`.
        return unsafe { (t.minmax[k])(p.offset(1 - n as isize), n) };
    }
    let mut buf = [T::ZERO; GATHER];
    let mut acc: Option<T> = None;
    let mut i = 0;
    while i < n {
        let c = GATHER.min(n - i);
        for (j, slot) in buf.iter_mut().enumerate().take(c) {
            // SAFETY: i + j < n, so `p + (i+j)*s` is readable (contract).
            *slot = unsafe { *p.offset((i + j) as isize * s) };
        }
        // SAFETY: the first c >= 1 elements of `buf` were just written.
        let r = unsafe { (t.minmax[k])(buf.as_ptr(), c) };
        acc = Some(match acc {
            None => r,
            Some(a) if k == 0 => min_nan(a, r),
            Some(a) => max_nan(a, r),
        });
        i += c;
    }
    acc.unwrap_or(T::NAN)
}

/// `v[i] = v[i] / n` for `i < len`: the quotient in f64 rounded once to `T`, which for f32 is the
/// correctly rounded f32 quotient (53 >= 2 x 24 + 2 bits), as NumPy's mean divides. A separate
/// loop over contiguous memory, so the compiler vectorises it.
///
/// # Safety
/// `v` readable and writable for `len` elements.
unsafe fn divide_in_place<T: Element>(v: *mut T, len: usize, n: usize) {
    let d = n as f64;
    for i in 0..len {
        // SAFETY: i < len (contract).
        unsafe {
            let x = v.add(i);
            *x = T::from_f64((*x).to_f64() / d);
        }
    }
}

/// `out[j*os] = reduce_i a[i*s0 + j*s1]` for `j < cols`, `rows >= 1`, `cols >= 1`.
///
/// # Safety
/// Every `p + i*s0 + j*s1` readable, every `out + j*os` writable.
#[allow(clippy::too_many_arguments)]
unsafe fn reduce_cols<T: Element>(
    t: &Table<T>,
    op: ReduceOp,
    p: *const T,
    rows: usize,
    cols: usize,
    s0: isize,
    s1: isize,
    out: *mut T,
    os: isize,
) {
    let k = match op {
        ReduceOp::Sum | ReduceOp::Mean => 0,
        ReduceOp::Min => 1,
        ReduceOp::Max => 2,
    };
    let mean = op == ReduceOp::Mean;
    let bytes = rows * cols * std::mem::size_of::<T>();
    let pp = SendPtr(p as *mut T);
    if s1 == 1 || cols == 1 {
        // Rows are contiguous: the blocked axis-0 kernel, `out` as a contiguous accumulator.
        let mut tmp: Vec<T> = Vec::new();
        let acc = if os == 1 || cols == 1 {
            out
        } else {
            // Unusual strided `out`: accumulate in a temporary, then scatter.
            tmp.resize(cols, T::ZERO);
            tmp.as_mut_ptr()
        };
        let (chunks, per) = par::plan(rows, bytes, BAND_ROWS, par::CHUNKS_PER_THREAD);
        // Too few rows for two bands (short, wide matrices such as 64 x 16384): split the columns
        // instead. Each chunk reduces whole columns in the single-threaded order, so the result
        // is bit-identical to one thread and needs no combining step.
        let (col_chunks, col_per) = if chunks > 1 {
            (1, cols)
        } else {
            par::plan(cols, bytes, COL_CHUNK, par::CHUNKS_PER_THREAD)
        };
        let mut part: Vec<T> = Vec::new();
        let acc = if col_chunks > 1 {
            let pa = SendPtr(acc);
            par::for_chunks(col_chunks, col_per, cols, bytes, |_, c0, c1| {
                // SAFETY: columns c0..c1 (non-empty: the chunks cover `cols` exactly) of every row
                // are readable, and `acc[c0..c1]` belongs to this chunk alone.
                unsafe { (t.axis0[k])(pp.get().add(c0), rows, c1 - c0, s0, pa.get().add(c0)) };
                if mean {
                    // SAFETY: as above: `acc[c0..c1]`, just written, is this chunk's alone.
                    unsafe { divide_in_place(pa.get().add(c0), c1 - c0, rows) };
                }
            });
            acc
        } else if chunks > 1 {
            // Bands of whole rows (long sequential row segments, small claimable chunks), each
            // reduced into its own accumulator row, then combined as a tree in chunk order
            // (deterministic; adds at most ceil(log2(chunks)) roundings per column).
            part.resize(chunks * cols, T::ZERO);
            let pb = SendPtr(part.as_mut_ptr());
            par::for_chunks(chunks, per, rows, bytes, |c, r0, r1| {
                // SAFETY: rows r0..r1 (non-empty: chunks cover `rows` exactly) are readable, and
                // accumulator row c (cols elements) belongs to this chunk alone.
                unsafe {
                    (t.axis0[k])(
                        pp.get().offset(r0 as isize * s0),
                        r1 - r0,
                        cols,
                        s0,
                        pb.get().add(c * cols),
                    )
                };
            });
            let mut step = 1;
            while step < chunks {
                let mut c = 0;
                while c + step < chunks {
                    let (lo, hi) = part.split_at_mut((c + step) * cols);
                    let dst = &mut lo[c * cols..(c + 1) * cols];
                    for (d, x) in dst.iter_mut().zip(&hi[..cols]) {
                        *d = match k {
                            0 => *d + *x,
                            1 => min_nan(*d, *x),
                            _ => max_nan(*d, *x),
                        };
                    }
                    c += 2 * step;
                }
                step *= 2;
            }
            part.as_mut_ptr()
        } else {
            // SAFETY: every row is readable over `cols` columns; acc has `cols` elements.
            unsafe { (t.axis0[k])(p, rows, cols, s0, acc) };
            acc
        };
        if mean && col_chunks == 1 {
            // (Column chunks divided their own columns.)
            // SAFETY: `acc` (out, tmp or part's first row) is contiguous and holds `cols` results.
            unsafe { divide_in_place(acc, cols, rows) };
        }
        if acc != out {
            for j in 0..cols {
                // SAFETY: `acc` (tmp or part's first row) holds `cols` results; `out + j*os` is
                // writable for j < cols (contract).
                unsafe { *out.offset(j as isize * os) = *acc.add(j) };
            }
        }
    } else if s0 == 1 || rows == 1 {
        // Each output reduces one contiguous line: the per-row kernel on the transposed picture.
        let div = if mean { rows as f64 } else { 1.0 };
        let po = SendPtr(out);
        par::for_ranges(cols, bytes, 1, par::CHUNKS_PER_THREAD, |c0, c1| {
            let c0i = c0 as isize;
            // SAFETY: lines c0..c1 start at p + j*s1 and hold `rows` contiguous elements.
            unsafe {
                (t.axis1[k])(
                    pp.get().offset(c0i * s1),
                    c1 - c0,
                    rows,
                    s1,
                    po.get().offset(c0i * os),
                    os,
                    div,
                )
            };
        });
    } else {
        for j in 0..cols {
            // SAFETY: column j < cols starts at `p + j*s1` and its `rows` (>= 1) elements at
            // stride s0 are readable; `out + j*os` is writable (contract).
            unsafe {
                let line = p.offset(j as isize * s1);
                let v = match k {
                    0 => {
                        let s = line_sum(t, line, rows, s0);
                        T::from_f64(if mean { s / rows as f64 } else { s })
                    }
                    _ => line_minmax(t, k - 1, line, rows, s0),
                };
                *out.offset(j as isize * os) = v;
            }
        }
    }
}

/// One row of an element-wise op with arbitrary inner strides (0 = broadcast).
///
/// # Safety
/// `ra + j*sa`, `rb + j*sb` readable and `ro + j*so` writable for `j < n`.
#[allow(clippy::too_many_arguments)]
unsafe fn binary_row<T: Element>(
    t: &Table<T>,
    op: BinaryOp,
    ra: *const T,
    sa: isize,
    rb: *const T,
    sb: isize,
    ro: *mut T,
    so: isize,
    n: usize,
    nt: bool,
) {
    let o = op.index();
    match (sa, sb, so) {
        // SAFETY: unit strides make each operand n contiguous readable elements and `ro` n
        // writable ones, stride 0 makes it one element (the broadcast scalar of modes 1/2), as the
        // kernels require; the table's kernels run on this CPU.
        (1, 1, 1) => unsafe { (t.binary[0][o])(ra, rb, ro, n, nt) },
        // SAFETY: as above.
        (1, 0, 1) => unsafe { (t.binary[1][o])(ra, rb, ro, n, nt) },
        // SAFETY: as above.
        (0, 1, 1) => unsafe { (t.binary[2][o])(ra, rb, ro, n, nt) },
        _ => {
            for j in 0..n as isize {
                // SAFETY: j < n: each element is reachable per the contract.
                unsafe { *ro.offset(j * so) = op.apply(*ra.offset(j * sa), *rb.offset(j * sb)) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In-place calls count their target once and never stream; out-of-place calls stream above
    /// the threshold.
    #[test]
    fn traffic_counts_an_in_place_target_once_and_never_streams_it() {
        let n = (par::NT_MIN_BYTES / 4) * 3 / 4; // f32: 0.75 x the threshold per array
        let mut x = vec![1f32; n];
        let y = vec![2f32; n];
        let mut o = vec![0f32; n];
        let sh = Shape::d1(n);
        let yv = ArrayView::from_slice(&y, sh).unwrap();
        let p = x.as_mut_ptr();
        // SAFETY: both views cover exactly `x`, which outlives them.
        let (xv, xo) = unsafe {
            (
                ArrayView::from_raw_parts(p as *const f32, sh, [1, 0]),
                ArrayViewMut::from_raw_parts(p, sh, [1, 0]),
            )
        };
        let one = 4 * n;
        // x *= s: one array of 0.75 x the threshold.
        let s = [2f32];
        let sv = ArrayView::from_slice(&s, Shape::scalar()).unwrap();
        assert_eq!(traffic(&xv, &sv, &xo), (one + 4, false));
        // x += y: 1.5 x the threshold, but in place.
        assert_eq!(traffic(&xv, &yv, &xo), (2 * one, false));
        assert_eq!(traffic(&yv, &xv, &xo), (2 * one, false));
        // o = x + y: 2.25 x the threshold, streamed.
        let ov = ArrayViewMut::from_slice(&mut o, sh).unwrap();
        assert_eq!(traffic(&xv, &yv, &ov), (3 * one, true));
        // A view of the output's memory with another shape is not the output.
        // SAFETY: the first n / 2 elements of `x`, which outlives the view.
        let half = unsafe { ArrayView::from_raw_parts(p as *const f32, Shape::d1(n / 2), [1, 0]) };
        assert_eq!(traffic(&half, &yv, &xo), ((n / 2 + 2 * n) * 4, true));
    }
}
