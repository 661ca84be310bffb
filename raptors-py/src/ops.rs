//! Dispatch of arithmetic and reductions to raptors-kernels: dtype promotion (NEP 50), operand
//! casting, `out=` handling, GIL release and error mapping. No arithmetic happens here.

use numpy::npyffi::{self, NPY_ARRAY_WRITEABLE};
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeWarning, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyFloat;
use raptors_kernels::{
    self as k, Array, ArrayView, ArrayViewMut, BinaryOp, DType, KernelError, ReduceOp, Reduced,
    ScalarSide, Shape,
};

use crate::array::RArray;
use crate::convert::{descr_dtype, element_strides, Operand};
use crate::errors::{kernel_err, read_only, too_many_dims, unsupported_dtype};
use crate::storage::{cast_to, run_kernel, DynView, Float};

/// Result dtype of `x op y`: the kernels' NEP 50 promotion.
pub(crate) fn result_dtype(x: &Operand, y: &Operand) -> DType {
    k::result_dtype(x.type_(), y.type_())
}

/// An operand converted to the computation dtype `T`.
enum Arg<'a, T> {
    View(ArrayView<'a, T>),
    Scalar(T),
}

fn arg<'a, T: Float>(o: &'a Operand, tmp: &'a mut Option<Array<T>>) -> Arg<'a, T> {
    match o {
        Operand::Array(a) => match T::view(a.view()) {
            Some(v) => Arg::View(*v),
            None => Arg::View(tmp.insert(cast_to::<T>(a.view())).view()),
        },
        Operand::PyFloat(s) | Operand::PyInt(s) | Operand::Scalar(_, s) => {
            Arg::Scalar(T::from_py_float(*s))
        }
    }
}

fn scalar_array<T: Float>(s: T) -> Array<T> {
    Array::from_vec(vec![s], Shape::scalar()).expect("one element for a 0-d shape")
}

/// Elements the kernel will write (for the GIL-release threshold); 0 if shapes do not broadcast
/// (the kernel reports that error).
fn work(a: Shape, b: Shape) -> usize {
    k::broadcast_shapes(a, b).map(|s| s.size()).unwrap_or(0)
}

fn compute<T: Float>(py: Python<'_>, op: BinaryOp, x: &Operand, y: &Operand) -> PyResult<Array<T>> {
    let (mut tx, mut ty) = (None, None);
    let (a, b) = (arg::<T>(x, &mut tx), arg::<T>(y, &mut ty));
    let n = work(x.shape(), y.shape());
    let r = match (a, b) {
        (Arg::View(a), Arg::View(b)) => run_kernel(py, n, || k::binary(op, a, b)),
        (Arg::View(a), Arg::Scalar(s)) => {
            run_kernel(py, n, || k::binary_scalar(op, a, s, ScalarSide::Right))
        }
        (Arg::Scalar(s), Arg::View(b)) => {
            run_kernel(py, n, || k::binary_scalar(op, b, s, ScalarSide::Left))
        }
        (Arg::Scalar(s), Arg::Scalar(t)) => {
            let (sa, ta) = (scalar_array(s), scalar_array(t));
            k::binary(op, sa.view(), ta.view())
        }
    };
    r.map_err(|e| kernel_err(py, e))
}

/// `x op y` into a new Array.
pub(crate) fn binary<'py>(
    py: Python<'py>,
    op: BinaryOp,
    x: &Operand,
    y: &Operand,
) -> PyResult<Bound<'py, RArray>> {
    let r = match result_dtype(x, y) {
        DType::F32 => RArray::from_array(compute::<f32>(py, op, x, y)?),
        DType::F64 => RArray::from_array(compute::<f64>(py, op, x, y)?),
    };
    Bound::new(py, r)
}

/// Fast path for two views of the same dtype (`a + b` between Arrays).
pub(crate) fn binary_arrays<'py>(
    py: Python<'py>,
    op: BinaryOp,
    x: &DynView<'_>,
    y: &DynView<'_>,
) -> PyResult<Bound<'py, RArray>> {
    let n = if x.shape() == y.shape() {
        x.shape().size()
    } else {
        work(x.shape(), y.shape())
    };
    let r = match (x, y) {
        (DynView::F32(a), DynView::F32(b)) => {
            run_kernel(py, n, || k::binary(op, *a, *b)).map(RArray::from_array)
        }
        (DynView::F64(a), DynView::F64(b)) => {
            run_kernel(py, n, || k::binary(op, *a, *b)).map(RArray::from_array)
        }
        _ => unreachable!("binary_arrays is only called with equal dtypes"),
    };
    Bound::new(py, r.map_err(|e| kernel_err(py, e))?)
}

/// Destination of `out=` / in-place operators: a writeable Array or float32/float64 ndarray.
pub(crate) struct OutArg {
    dtype: DType,
    ptr: *mut u8,
    shape: Shape,
    strides: [isize; 2],
    _keep: Py<PyAny>,
}

impl OutArg {
    pub(crate) fn from_rarray(a: &Bound<'_, RArray>) -> PyResult<OutArg> {
        let this = a.get();
        if !this.is_writeable() {
            return Err(read_only());
        }
        let shape = this.shape_();
        Ok(OutArg {
            dtype: this.dtype_(),
            ptr: this.data_ptr(),
            shape,
            strides: k::c_strides(shape),
            _keep: a.clone().into_any().unbind(),
        })
    }

    pub(crate) fn from_object(obj: &Bound<'_, PyAny>) -> PyResult<OutArg> {
        if let Ok(a) = obj.cast::<RArray>() {
            return Self::from_rarray(a);
        }
        let Ok(arr) = obj.cast::<PyUntypedArray>() else {
            return Err(PyTypeError::new_err(format!(
                "out must be a raptors.Array or a numpy.ndarray, got {}",
                obj.get_type().name()?
            )));
        };
        let descr = arr.dtype();
        let dtype = descr_dtype(&descr).ok_or_else(|| unsupported_dtype(&descr.to_string()))?;
        if arr.ndim() > 2 {
            return Err(too_many_dims(arr.ndim()));
        }
        // SAFETY: `arr` is a live ndarray; reading its field struct is valid while we hold it.
        let fields = unsafe { &*npyffi::_PyArray_GET_ITEM_DATA(arr.as_array_ptr()) };
        if fields.flags & NPY_ARRAY_WRITEABLE == 0 {
            return Err(read_only());
        }
        let ptr = fields.data.cast::<u8>();
        let Some(strides) = element_strides(ptr, arr.strides(), dtype) else {
            return Err(PyTypeError::new_err("out= must be an aligned array"));
        };
        let shape = Shape::new(arr.shape()).map_err(|e| kernel_err(obj.py(), e))?;
        Ok(OutArg {
            dtype,
            ptr,
            shape,
            strides,
            _keep: obj.clone().unbind(),
        })
    }

    fn view_mut<T: Float>(&self) -> ArrayViewMut<'_, T> {
        // SAFETY: `ptr`/`shape`/`strides` describe a live, writeable array of `T` kept alive by `_keep`;
        // the binding holds no other Rust reference into it while the kernel runs (operands that
        // overlap partially are copied first, see `binary_into`).
        unsafe { ArrayViewMut::from_raw_parts(self.ptr.cast::<T>(), self.shape, self.strides) }
    }
}

/// `x op y` written into `out`. NumPy's `same_kind` casting applies between float32 and float64;
/// on any error `out` is left untouched.
pub(crate) fn binary_into(
    py: Python<'_>,
    op: BinaryOp,
    x: &Operand,
    y: &Operand,
    out: &OutArg,
) -> PyResult<()> {
    let rd = result_dtype(x, y);
    if rd != out.dtype {
        return cast_into(py, op, x, y, out, rd);
    }
    match rd {
        DType::F32 => into_same::<f32>(py, op, x, y, out),
        DType::F64 => into_same::<f64>(py, op, x, y, out),
    }
}

fn into_same<T: Float>(
    py: Python<'_>,
    op: BinaryOp,
    x: &Operand,
    y: &Operand,
    out: &OutArg,
) -> PyResult<()> {
    let (mut tx, mut ty) = (None, None);
    let (mut a, mut b) = (arg::<T>(x, &mut tx), arg::<T>(y, &mut ty));
    let dst = out.view_mut::<T>();
    // The kernels accept an input that is exactly the out array (a += b) but not a partial overlap
    // (e.g. out is a transposed or shifted view of an input): copy such inputs first.
    let (mut cx, mut cy) = (None, None);
    for (arg, copy) in [(&mut a, &mut cx), (&mut b, &mut cy)] {
        if let Arg::View(v) = arg {
            if k::overlaps_partially(v, &dst) {
                *arg = Arg::View(copy.insert(v.to_array()).view());
            }
        }
    }
    let n = out.shape.size();
    let r = match (a, b) {
        (Arg::View(a), Arg::View(b)) => run_kernel(py, n, || k::binary_into(op, a, b, dst)),
        (Arg::View(a), Arg::Scalar(s)) => run_kernel(py, n, || {
            k::binary_scalar_into(op, a, s, ScalarSide::Right, dst)
        }),
        (Arg::Scalar(s), Arg::View(b)) => run_kernel(py, n, || {
            k::binary_scalar_into(op, b, s, ScalarSide::Left, dst)
        }),
        (Arg::Scalar(s), Arg::Scalar(t)) => {
            let (sa, ta) = (scalar_array(s), scalar_array(t));
            k::binary_into(op, sa.view(), ta.view(), dst)
        }
    };
    r.map_err(|e| kernel_err(py, e))
}

/// Result dtype differs from `out`'s (float32 <-> float64): compute in the result dtype, then cast
/// into `out`, as NumPy does with `casting='same_kind'`.
fn cast_into(
    py: Python<'_>,
    op: BinaryOp,
    x: &Operand,
    y: &Operand,
    out: &OutArg,
    rd: DType,
) -> PyResult<()> {
    let full = k::broadcast_shapes(x.shape(), y.shape()).map_err(|e| kernel_err(py, e))?;
    if full != out.shape {
        return Err(kernel_err(
            py,
            k::KernelError::OutShapeMismatch {
                expected: full,
                got: out.shape,
            },
        ));
    }
    let tmp = match rd {
        DType::F32 => RArray::from_array(compute::<f32>(py, op, x, y)?),
        DType::F64 => RArray::from_array(compute::<f64>(py, op, x, y)?),
    };
    let src = tmp.view();
    let r = match out.dtype {
        DType::F32 => store_cast::<f32>(py, &src, out),
        DType::F64 => store_cast::<f64>(py, &src, out),
    };
    r.map_err(|e| kernel_err(py, e))
}

/// The kernels' cast of `src` (the result, out's shape) into `out`'s dtype and strides.
fn store_cast<T: Float>(
    py: Python<'_>,
    src: &DynView<'_>,
    out: &OutArg,
) -> Result<(), KernelError> {
    let dst = out.view_mut::<T>();
    run_kernel(py, out.shape.size(), || match src {
        DynView::F32(v) => k::cast_into(*v, dst),
        DynView::F64(v) => k::cast_into(*v, dst),
    })
}

/// A reduction over `axis` (None: all elements -> Python float; else an Array).
pub(crate) fn reduce(
    py: Python<'_>,
    op: ReduceOp,
    v: &DynView<'_>,
    axis: Option<isize>,
) -> PyResult<Py<PyAny>> {
    let shape = v.shape();
    let r = match v {
        DynView::F32(v) => reduce_t(py, op, *v, axis)?,
        DynView::F64(v) => reduce_t(py, op, *v, axis)?,
    };
    if matches!(op, ReduceOp::Mean) {
        let count = k::reduction_len(shape, axis).map_err(|e| kernel_err(py, e))?;
        if count == 0 {
            let cat = py.get_type::<PyRuntimeWarning>();
            PyErr::warn(py, &cat, c"Mean of empty slice.", 1)?;
        }
    }
    Ok(r)
}

fn reduce_t<T: Float>(
    py: Python<'_>,
    op: ReduceOp,
    v: ArrayView<'_, T>,
    axis: Option<isize>,
) -> PyResult<Py<PyAny>> {
    let n = v.shape().size();
    match run_kernel(py, n, || k::reduce(op, v, axis)).map_err(|e| kernel_err(py, e))? {
        // An explicit axis always yields an Array (0-d when reducing a 1-D input).
        Reduced::Scalar(x) if axis.is_some() => {
            Ok(Bound::new(py, RArray::from_vec(vec![x], Shape::scalar()))?
                .into_any()
                .unbind())
        }
        Reduced::Scalar(x) => Ok(PyFloat::new(py, x.into()).into_any().unbind()),
        Reduced::Array(a) => Ok(Bound::new(py, RArray::from_array(a))?.into_any().unbind()),
    }
}
