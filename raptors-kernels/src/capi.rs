//! `extern "C"` exports (feature `capi`) so the crate can be built as a cdylib, e.g. for aarch64,
//! and its kernels disassembled by symbol name. Every function returns 0 on success and -1 on
//! any error (null pointer, kernel error); reductions write their result through `out`.
//!
//! All buffers are C-contiguous; `rows`/`cols` describe a row-major matrix.
//!
//! Besides one function per op, three generic entry points per dtype take the operation by name and
//! the operands' shapes, shaped like the `kernel` calls of raptors-bench's op table, so a driver can
//! run any op of the table without a table of its own (raptors-bench runs them from Python's ctypes
//! under qemu-user to count what the aarch64 build executes): `raptors_reduce_*`,
//! `raptors_binary_*` and `raptors_binary_scalar_*`.

use std::ffi::{c_char, CStr};

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

/// # Safety
/// `name` null or a NUL-terminated string.
unsafe fn op_name<'a>(name: *const c_char) -> Option<&'a str> {
    if name.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(name) }.to_str().ok()
}

/// A 1-D (`ndim` 1: `cols` elements) or 2-D (`rows` x `cols`) shape; `None` for another `ndim`.
fn shape_of(ndim: u32, rows: usize, cols: usize) -> Option<Shape> {
    match ndim {
        1 => Some(Shape::d1(cols)),
        2 => Some(Shape::d2(rows, cols)),
        _ => None,
    }
}

/// # Safety
/// Pointers valid for the shapes given; `op` null or NUL-terminated.
#[allow(clippy::too_many_arguments)]
unsafe fn reduce_named<T: Element>(
    op: *const c_char,
    p: *const T,
    ndim: u32,
    rows: usize,
    cols: usize,
    axis: i32,
    out: *mut T,
) -> i32 {
    // SAFETY: forwarded caller contract.
    let Some(op) = unsafe { op_name(op) }.and_then(|s| s.parse::<ReduceOp>().ok()) else {
        return -1;
    };
    let Some(input) = shape_of(ndim, rows, cols) else {
        return -1;
    };
    let (axis, out_shape) = match (axis, ndim) {
        (-1, _) | (0, 1) => (None, Shape::scalar()),
        (0, 2) => (Some(0), Shape::d1(cols)),
        (1, 2) => (Some(1), Shape::d1(rows)),
        _ => return -1,
    };
    let (input, axis) = match axis {
        None => (Shape::d1(input.size()), 0),
        Some(k) => (input, k),
    };
    // SAFETY: forwarded caller contract (a flattened view covers the same contiguous elements).
    match unsafe { (view(p, input), view_mut(out, out_shape)) } {
        (Some(a), Some(o)) => code(reduce_into(op, a, axis, o)),
        _ => -1,
    }
}

/// # Safety
/// Pointers valid for the shapes given (`out` for `a`'s); `op` null or NUL-terminated.
#[allow(clippy::too_many_arguments)]
unsafe fn binary_named<T: Element>(
    op: *const c_char,
    a: *const T,
    a_dims: [usize; 3],
    b: *const T,
    b_dims: [usize; 3],
    out: *mut T,
) -> i32 {
    // SAFETY: forwarded caller contract.
    let Some(op) = unsafe { op_name(op) }.and_then(|s| s.parse::<BinaryOp>().ok()) else {
        return -1;
    };
    let (Some(sa), Some(sb)) = (
        shape_of(a_dims[0] as u32, a_dims[1], a_dims[2]),
        shape_of(b_dims[0] as u32, b_dims[1], b_dims[2]),
    ) else {
        return -1;
    };
    // SAFETY: forwarded caller contract.
    match unsafe { (view(a, sa), view(b, sb), view_mut(out, sa)) } {
        (Some(a), Some(b), Some(o)) => code(binary_into(op, a, b, o)),
        _ => -1,
    }
}

macro_rules! capi_generic {
    ($E:ty, $reduce:ident, $binary:ident, $binary_scalar:ident) => {
        /// Reduction `op` (`sum`, `mean`, `min`, `max`) of a 1-D (`ndim` 1, `cols` elements) or
        /// 2-D (`rows` x `cols`) array over all elements (`axis` -1) or one axis, into `out`
        /// (one element, or one per remaining index).
        ///
        /// # Safety
        /// `p` readable for the shape, `out` writable for the result, `op` null or NUL-terminated.
        #[no_mangle]
        pub unsafe extern "C" fn $reduce(
            op: *const c_char,
            p: *const $E,
            ndim: u32,
            rows: usize,
            cols: usize,
            axis: i32,
            out: *mut $E,
        ) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe { reduce_named(op, p, ndim, rows, cols, axis, out) }
        }
        /// `out = a op b` (`add`, `sub`, `mul`, `div`), `b` broadcast against `a`; each shape is
        /// `ndim` (1 or 2), `rows`, `cols` (a 1-D shape uses `cols`); `out` has `a`'s shape.
        ///
        /// # Safety
        /// Pointers valid for the shapes given (`out` may equal `a`), `op` null or NUL-terminated.
        #[no_mangle]
        #[allow(clippy::too_many_arguments)]
        pub unsafe extern "C" fn $binary(
            op: *const c_char,
            a: *const $E,
            a_ndim: u32,
            a_rows: usize,
            a_cols: usize,
            b: *const $E,
            b_ndim: u32,
            b_rows: usize,
            b_cols: usize,
            out: *mut $E,
        ) -> i32 {
            // SAFETY: forwarded caller contract.
            unsafe {
                binary_named(
                    op,
                    a,
                    [a_ndim as usize, a_rows, a_cols],
                    b,
                    [b_ndim as usize, b_rows, b_cols],
                    out,
                )
            }
        }
        /// `out = a op s` for an array `a` of shape (`ndim`, `rows`, `cols`) and a scalar.
        ///
        /// # Safety
        /// `a` readable and `out` writable for the shape (`out` may equal `a`), `op` null or
        /// NUL-terminated.
        #[no_mangle]
        pub unsafe extern "C" fn $binary_scalar(
            op: *const c_char,
            a: *const $E,
            ndim: u32,
            rows: usize,
            cols: usize,
            s: f64,
            out: *mut $E,
        ) -> i32 {
            // SAFETY: forwarded caller contract.
            let Some(op) = unsafe { op_name(op) }.and_then(|s| s.parse::<BinaryOp>().ok()) else {
                return -1;
            };
            let Some(sh) = shape_of(ndim, rows, cols) else {
                return -1;
            };
            // SAFETY: forwarded caller contract.
            match unsafe { (view(a, sh), view_mut(out, sh)) } {
                (Some(a), Some(o)) => {
                    code(binary_scalar_into(op, a, s as $E, ScalarSide::Right, o))
                }
                _ => -1,
            }
        }
    };
}

capi_generic!(
    f32,
    raptors_reduce_f32,
    raptors_binary_f32,
    raptors_binary_scalar_f32
);
capi_generic!(
    f64,
    raptors_reduce_f64,
    raptors_binary_f64,
    raptors_binary_scalar_f64
);
