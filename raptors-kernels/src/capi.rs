//! `extern "C"` exports (feature `capi`) so the crate can be built as a cdylib, e.g. for aarch64,
//! and its kernels disassembled by symbol name. Every function returns 0 on success and -1 on
//! any error (null pointer, kernel error); reductions write their result through `out`.
//!
//! All buffers are C-contiguous; `rows`/`cols` describe a row-major matrix.

use crate::{
    binary_into, binary_scalar_into, reduce_into, ArrayView, ArrayViewMut, BinaryOp, Element,
    ReduceOp, ScalarSide, Shape,
};

fn code(r: Result<(), crate::KernelError>) -> i32 {
    if r.is_ok() {
        0
    } else {
        -1
    }
}

/// # Safety
/// `p` readable for `shape.size()` elements (or null, which is rejected).
unsafe fn view<'a, T: Element>(p: *const T, shape: Shape) -> Option<ArrayView<'a, T>> {
    (!p.is_null()).then(|| {
        // SAFETY: non-null and, per the caller's contract, readable for the C-contiguous shape.
        unsafe { ArrayView::from_raw_parts(p, shape, crate::c_strides(shape)) }
    })
}

/// # Safety
/// `p` writable for `shape.size()` elements (or null, which is rejected).
unsafe fn view_mut<'a, T: Element>(p: *mut T, shape: Shape) -> Option<ArrayViewMut<'a, T>> {
    (!p.is_null()).then(|| {
        // SAFETY: non-null and, per the caller's contract, writable for the C-contiguous shape.
        unsafe { ArrayViewMut::from_raw_parts(p, shape, crate::c_strides(shape)) }
    })
}

/// # Safety
/// Pointers valid for the given shapes.
unsafe fn reduce_c<T: Element>(
    op: ReduceOp,
    p: *const T,
    rows: usize,
    cols: usize,
    axis: Option<isize>,
    out: *mut T,
) -> i32 {
    let (input, axis, out_shape) = match axis {
        None => (Shape::d1(rows * cols), 0, Shape::scalar()),
        Some(0) => (Shape::d2(rows, cols), 0, Shape::d1(cols)),
        Some(_) => (Shape::d2(rows, cols), 1, Shape::d1(rows)),
    };
    // SAFETY: forwarded caller contract.
    match unsafe { (view(p, input), view_mut(out, out_shape)) } {
        (Some(a), Some(o)) => code(reduce_into(op, a, axis, o)),
        _ => -1,
    }
}

macro_rules! capi_for {
    ($E:ty, $sum:ident, $mean:ident, $min:ident, $max:ident, $m0:ident, $m1:ident, $s0:ident,
     $s1:ident, $add:ident, $sub:ident, $mul:ident, $div:ident, $scale:ident, $row:ident,
     $col:ident) => {
        /// Sum of `len` elements into `*out`.
        ///
        /// # Safety
        /// `p` readable for `len` elements, `out` writable for one.
        #[no_mangle]
        pub unsafe extern "C" fn $sum(p: *const $E, len: usize, out: *mut $E) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_c(ReduceOp::Sum, p, 1, len, None, out) }
        }
        /// Mean of `len` elements into `*out` (NaN for `len == 0`).
        ///
        /// # Safety
        /// As the sum export.
        #[no_mangle]
        pub unsafe extern "C" fn $mean(p: *const $E, len: usize, out: *mut $E) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_c(ReduceOp::Mean, p, 1, len, None, out) }
        }
        /// Minimum of `len >= 1` elements into `*out`.
        ///
        /// # Safety
        /// As the sum export.
        #[no_mangle]
        pub unsafe extern "C" fn $min(p: *const $E, len: usize, out: *mut $E) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_c(ReduceOp::Min, p, 1, len, None, out) }
        }
        /// Maximum of `len >= 1` elements into `*out`.
        ///
        /// # Safety
        /// As the sum export.
        #[no_mangle]
        pub unsafe extern "C" fn $max(p: *const $E, len: usize, out: *mut $E) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_c(ReduceOp::Max, p, 1, len, None, out) }
        }
        /// Column means of a rows x cols matrix into `out[cols]`.
        ///
        /// # Safety
        /// `p` readable for rows*cols elements, `out` writable for `cols`.
        #[no_mangle]
        pub unsafe extern "C" fn $m0(p: *const $E, rows: usize, cols: usize, out: *mut $E) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_c(ReduceOp::Mean, p, rows, cols, Some(0), out) }
        }
        /// Row means of a rows x cols matrix into `out[rows]`.
        ///
        /// # Safety
        /// `p` readable for rows*cols elements, `out` writable for `rows`.
        #[no_mangle]
        pub unsafe extern "C" fn $m1(p: *const $E, rows: usize, cols: usize, out: *mut $E) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_c(ReduceOp::Mean, p, rows, cols, Some(1), out) }
        }
        /// Column sums into `out[cols]`.
        ///
        /// # Safety
        /// As the axis-0 mean export.
        #[no_mangle]
        pub unsafe extern "C" fn $s0(p: *const $E, rows: usize, cols: usize, out: *mut $E) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_c(ReduceOp::Sum, p, rows, cols, Some(0), out) }
        }
        /// Row sums into `out[rows]`.
        ///
        /// # Safety
        /// As the axis-1 mean export.
        #[no_mangle]
        pub unsafe extern "C" fn $s1(p: *const $E, rows: usize, cols: usize, out: *mut $E) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_c(ReduceOp::Sum, p, rows, cols, Some(1), out) }
        }
        capi_for!(@bin $E, $add, Add);
        capi_for!(@bin $E, $sub, Sub);
        capi_for!(@bin $E, $mul, Mul);
        capi_for!(@bin $E, $div, Div);
        /// `out[i] = a[i] * s`.
        ///
        /// # Safety
        /// `a` readable and `out` writable for `len` elements (`out` may equal `a`).
        #[no_mangle]
        pub unsafe extern "C" fn $scale(a: *const $E, s: $E, out: *mut $E, len: usize) -> i32 {
            let sh = Shape::d1(len);
            // SAFETY: forwarded caller contract.
            match unsafe { (view(a, sh), view_mut(out, sh)) } {
                (Some(a), Some(o)) => {
                    code(binary_scalar_into(BinaryOp::Mul, a, s, ScalarSide::Right, o))
                }
                _ => -1,
            }
        }
        /// `out[i, j] = a[i, j] + row[j]` for a rows x cols matrix.
        ///
        /// # Safety
        /// `a`/`out` valid for rows*cols elements, `row` for `cols`.
        #[no_mangle]
        pub unsafe extern "C" fn $row(
            a: *const $E,
            rows: usize,
            cols: usize,
            row: *const $E,
            out: *mut $E,
        ) -> i32 {
            let sh = Shape::d2(rows, cols);
            // SAFETY: forwarded caller contract.
            match unsafe { (view(a, sh), view(row, Shape::d1(cols)), view_mut(out, sh)) } {
                (Some(a), Some(r), Some(o)) => code(binary_into(BinaryOp::Add, a, r, o)),
                _ => -1,
            }
        }
        /// `out[i, j] = a[i, j] + col[i]` for a rows x cols matrix.
        ///
        /// # Safety
        /// `a`/`out` valid for rows*cols elements, `col` for `rows`.
        #[no_mangle]
        pub unsafe extern "C" fn $col(
            a: *const $E,
            rows: usize,
            cols: usize,
            col: *const $E,
            out: *mut $E,
        ) -> i32 {
            let sh = Shape::d2(rows, cols);
            // SAFETY: forwarded caller contract.
            match unsafe { (view(a, sh), view(col, Shape::d2(rows, 1)), view_mut(out, sh)) } {
                (Some(a), Some(c), Some(o)) => code(binary_into(BinaryOp::Add, a, c, o)),
                _ => -1,
            }
        }
    };
    (@bin $E:ty, $name:ident, $op:ident) => {
        /// Element-wise `out[i] = a[i] op b[i]`.
        ///
        /// # Safety
        /// `a`, `b` readable and `out` writable for `len` elements (`out` may equal an input).
        #[no_mangle]
        pub unsafe extern "C" fn $name(a: *const $E, b: *const $E, out: *mut $E, len: usize) -> i32 {
            let sh = Shape::d1(len);
            // SAFETY: forwarded caller contract.
            match unsafe { (view(a, sh), view(b, sh), view_mut(out, sh)) } {
                (Some(a), Some(b), Some(o)) => code(binary_into(BinaryOp::$op, a, b, o)),
                _ => -1,
            }
        }
    };
}

capi_for!(
    f32,
    raptors_sum_f32,
    raptors_mean_f32,
    raptors_min_f32,
    raptors_max_f32,
    raptors_mean_axis0_f32,
    raptors_mean_axis1_f32,
    raptors_sum_axis0_f32,
    raptors_sum_axis1_f32,
    raptors_add_f32,
    raptors_sub_f32,
    raptors_mul_f32,
    raptors_div_f32,
    raptors_scale_f32,
    raptors_add_row_f32,
    raptors_add_col_f32
);
capi_for!(
    f64,
    raptors_sum_f64,
    raptors_mean_f64,
    raptors_min_f64,
    raptors_max_f64,
    raptors_mean_axis0_f64,
    raptors_mean_axis1_f64,
    raptors_sum_axis0_f64,
    raptors_sum_axis1_f64,
    raptors_add_f64,
    raptors_sub_f64,
    raptors_mul_f64,
    raptors_div_f64,
    raptors_scale_f64,
    raptors_add_row_f64,
    raptors_add_col_f64
);
