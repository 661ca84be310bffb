//! Python objects -> kernel views: dtype parsing, `asarray`, operands of arithmetic and axis arguments.

use std::ffi::c_int;

use numpy::npyffi::{self, NPY_TYPES};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyModule, PyString, PyTuple, PyType};
use raptors_kernels::{ArrayView, DType, OperandType, ScalarType, Shape};

use crate::array::RArray;
use crate::errors::{kernel_err, too_many_dims, unsupported_dtype};
use crate::storage::DynView;

pub(crate) fn numpy(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static NUMPY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    NUMPY
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("numpy")?.unbind()))
        .map(|m| m.bind(py))
}

fn numpy_generic(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static GENERIC: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    GENERIC.import(py, "numpy", "generic")
}

pub(crate) fn np_descr(py: Python<'_>, dt: DType) -> Bound<'_, PyArrayDescr> {
    match dt {
        DType::F32 => numpy::dtype::<f32>(py),
        DType::F64 => numpy::dtype::<f64>(py),
    }
}

/// The kernel dtype of a native-endian float32/float64 descriptor.
pub(crate) fn descr_dtype(d: &Bound<'_, PyArrayDescr>) -> Option<DType> {
    if d.is_native_byteorder() == Some(false) {
        return None;
    }
    let num = d.num();
    if num == NPY_TYPES::NPY_FLOAT as c_int {
        Some(DType::F32)
    } else if num == NPY_TYPES::NPY_DOUBLE as c_int {
        Some(DType::F64)
    } else {
        None
    }
}

/// `dtype=` argument: None, "float32"/"float64", numpy.float32/float64, numpy.dtype(...), `float`.
pub(crate) fn parse_dtype(
    py: Python<'_>,
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<DType>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(s) = obj.cast::<PyString>() {
        match s.to_str()? {
            "float32" => return Ok(Some(DType::F32)),
            "float64" => return Ok(Some(DType::F64)),
            _ => {}
        }
    }
    let d = PyArrayDescr::new(py, obj)?;
    descr_dtype(&d)
        .map(Some)
        .ok_or_else(|| unsupported_dtype(&d.to_string()))
}

/// `axis=` argument: None or an integer (anything with `__index__`, but not bool).
pub(crate) fn parse_axis(axis: Option<&Bound<'_, PyAny>>) -> PyResult<Option<isize>> {
    let Some(axis) = axis.filter(|a| !a.is_none()) else {
        return Ok(None);
    };
    if axis.is_instance_of::<PyBool>()
        || axis.is_instance_of::<PyTuple>()
        || axis.is_instance_of::<PyList>()
    {
        return Err(PyTypeError::new_err(format!(
            "axis must be an integer or None (raptors reduces over one axis at a time), got {}",
            axis.repr()?
        )));
    }
    axis.extract::<isize>().map(Some).map_err(|_| {
        PyTypeError::new_err(format!(
            "axis must be an integer or None, got {}",
            axis.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

/// An array argument of an operation: a kernel view plus the Python object keeping its memory alive.
pub(crate) struct ArrOperand {
    // Points into memory owned (directly or via its base) by `_keep`.
    view: DynView<'static>,
    _keep: Py<PyAny>,
}

impl ArrOperand {
    pub(crate) fn view(&self) -> &DynView<'_> {
        &self.view
    }
}

/// One side of an arithmetic operation with its value. Which dtype the operation computes in is
/// decided by the kernels' NEP 50 rules from [`Operand::type_`].
pub(crate) enum Operand {
    Array(ArrOperand),
    /// A Python float (weak).
    PyFloat(f64),
    /// A Python int or bool (weak).
    PyInt(f64),
    /// A NumPy scalar (strong) and its value.
    Scalar(ScalarType, f64),
}

impl Operand {
    pub(crate) fn from_rarray(a: &Bound<'_, RArray>) -> Operand {
        let view = a.get().view();
        // SAFETY: the view points into the Array's buffer, which `_keep` (a strong reference to the
        // Array) keeps alive for as long as this operand exists.
        let view: DynView<'static> =
            unsafe { std::mem::transmute::<DynView<'_>, DynView<'static>>(view) };
        Operand::Array(ArrOperand {
            view,
            _keep: a.clone().into_any().unbind(),
        })
    }

    pub(crate) fn shape(&self) -> Shape {
        match self {
            Operand::Array(a) => a.view.shape(),
            _ => Shape::scalar(),
        }
    }

    /// What the kernels' dtype promotion needs to know about this operand.
    pub(crate) fn type_(&self) -> OperandType {
        match self {
            Operand::Array(a) => OperandType::Array(a.view.dtype()),
            Operand::PyFloat(_) => OperandType::PyFloat,
            Operand::PyInt(_) => OperandType::PyInt,
            Operand::Scalar(t, _) => OperandType::Scalar(*t),
        }
    }
}

/// NumPy's byte strides (at most 2) as the kernels' element strides, `None` when the data pointer or
/// a stride is not a multiple of the element size (unaligned memory the kernels cannot view).
pub(crate) fn element_strides(
    data: *const u8,
    byte_strides: &[isize],
    dt: DType,
) -> Option<[isize; 2]> {
    let item = dt.itemsize();
    if !(data as usize).is_multiple_of(item) {
        return None;
    }
    let mut es = [0isize; 2];
    for (e, &s) in es.iter_mut().zip(byte_strides) {
        if s % item as isize != 0 {
            return None;
        }
        *e = s / item as isize;
    }
    Some(es)
}

/// Strided kernel view over a float32/float64 ndarray (no copy); converts byte-swapped or unaligned
/// arrays through NumPy first.
pub(crate) fn ndarray_operand(
    py: Python<'_>,
    arr: &Bound<'_, PyUntypedArray>,
) -> PyResult<ArrOperand> {
    let descr = arr.dtype();
    let Some(dt) = descr_dtype(&descr) else {
        let swapped_float = descr.is_native_byteorder() == Some(false)
            && descr.kind() == b'f'
            && matches!(descr.itemsize(), 4 | 8);
        if swapped_float {
            let native = descr.call_method1("newbyteorder", ("=",))?;
            let fixed = arr.call_method1("astype", (native,))?;
            return ndarray_operand(py, fixed.cast::<PyUntypedArray>()?);
        }
        return Err(unsupported_dtype(&descr.to_string()));
    };
    if arr.ndim() > 2 {
        return Err(too_many_dims(arr.ndim()));
    }
    // SAFETY: `arr` is a live ndarray; reading its field struct is valid while we hold it.
    let data = unsafe { (*npyffi::_PyArray_GET_ITEM_DATA(arr.as_array_ptr())).data };
    let Some(es) = element_strides(data.cast(), arr.strides(), dt) else {
        // `copy()` always allocates fresh (aligned, C-contiguous) memory; `ascontiguousarray` would
        // hand back the same unaligned array when it is already contiguous.
        let fixed = arr.call_method0("copy")?;
        return ndarray_operand(py, fixed.cast::<PyUntypedArray>()?);
    };
    let shape = Shape::new(arr.shape()).map_err(|e| kernel_err(py, e))?;
    // SAFETY: NumPy guarantees every element reachable through shape/strides lies in the array's
    // memory; `_keep` holds the array (and thus its memory) for the operand's lifetime.
    let view = unsafe {
        match dt {
            DType::F32 => DynView::F32(ArrayView::from_raw_parts(
                data.cast::<f32>().cast_const(),
                shape,
                es,
            )),
            DType::F64 => DynView::F64(ArrayView::from_raw_parts(
                data.cast::<f64>().cast_const(),
                shape,
                es,
            )),
        }
    };
    Ok(ArrOperand {
        view,
        _keep: arr.clone().into_any().unbind(),
    })
}

/// `numpy.asarray(obj)` for non-ndarray inputs: integer/bool data becomes `dtype` (default float64),
/// anything non-numeric is rejected with a TypeError.
fn generic_to_ndarray<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    dtype: Option<DType>,
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let arr = numpy(py)?.call_method1("asarray", (obj,))?;
    let arr = arr.cast_into::<PyUntypedArray>()?;
    let descr = arr.dtype();
    match descr.kind() {
        b'b' | b'i' | b'u' => {
            let to = np_descr(py, dtype.unwrap_or(DType::F64));
            Ok(arr
                .call_method1("astype", (to,))?
                .cast_into::<PyUntypedArray>()?)
        }
        b'f' => Ok(arr),
        _ => Err(unsupported_dtype(&descr.to_string())),
    }
}

/// Turns an operator argument into an operand. `Ok(None)` means "not ours": the operator returns
/// NotImplemented so Python can try the other operand (only when `for_operator`).
pub(crate) fn operand(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    for_operator: bool,
) -> PyResult<Option<Operand>> {
    if let Ok(a) = obj.cast::<RArray>() {
        return Ok(Some(Operand::from_rarray(a)));
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        return Ok(Some(Operand::PyFloat(obj.extract::<f64>()?)));
    }
    if obj.is_instance_of::<PyInt>() {
        // Includes bool. Ints beyond f64's range raise OverflowError like NumPy.
        return Ok(Some(Operand::PyInt(obj.extract::<f64>()?)));
    }
    if let Ok(arr) = obj.cast::<PyUntypedArray>() {
        return Ok(Some(Operand::Array(ndarray_operand(py, arr)?)));
    }
    if obj.is_instance(numpy_generic(py)?)? {
        return numpy_scalar(obj).map(Some);
    }
    if obj.is_instance_of::<PyFloat>() {
        // A float subclass that is not a NumPy scalar: still a Python float.
        return Ok(Some(Operand::PyFloat(obj.extract::<f64>()?)));
    }
    let sequence = obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>();
    if for_operator && !sequence {
        return Ok(None);
    }
    let arr = generic_to_ndarray(py, obj, None)?;
    Ok(Some(Operand::Array(ndarray_operand(py, &arr)?)))
}

/// NumPy scalars are strong types (NEP 50); the kernels decide what they promote to.
fn numpy_scalar(obj: &Bound<'_, PyAny>) -> PyResult<Operand> {
    let descr = obj.getattr("dtype")?.cast_into::<PyArrayDescr>()?;
    let size = descr.itemsize();
    let t = match descr.kind() {
        b'b' => ScalarType::Bool,
        b'i' | b'u' => ScalarType::Int {
            bits: 8 * size as u32,
        },
        b'f' if size == 2 => ScalarType::Half,
        b'f' if size == 4 => ScalarType::Float(DType::F32),
        b'f' if size == 8 => ScalarType::Float(DType::F64),
        _ => return Err(unsupported_dtype(&descr.to_string())),
    };
    Ok(Operand::Scalar(t, obj.extract::<f64>()?))
}

/// Operand for module-level functions: like `operand`, but anything array-like is converted.
pub(crate) fn any_operand(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Operand> {
    operand(py, obj, false).map(|o| o.expect("operand() converts everything when not for_operator"))
}

/// Array view of anything array-like (for reductions): scalars become 0-d arrays.
pub(crate) fn any_array(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<ArrOperand> {
    if let Ok(arr) = obj.cast::<PyUntypedArray>() {
        return ndarray_operand(py, arr);
    }
    if let Ok(a) = obj.cast::<RArray>() {
        if let Operand::Array(a) = Operand::from_rarray(a) {
            return Ok(a);
        }
    }
    let arr = generic_to_ndarray(py, obj, None)?;
    ndarray_operand(py, &arr)
}

/// `raptors.asarray` / `raptors.array`.
pub(crate) fn to_rarray<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    dtype: Option<DType>,
    copy: bool,
) -> PyResult<Bound<'py, RArray>> {
    if let Ok(r) = obj.cast::<RArray>() {
        let a = r.get();
        return match dtype {
            Some(to) if to != a.dtype_() => Bound::new(py, RArray::from_view(&a.view(), to)),
            _ if copy => Bound::new(py, a.copy()),
            _ => Ok(r.clone()),
        };
    }
    if let Ok(arr) = obj.cast::<PyUntypedArray>() {
        return ndarray_to_rarray(py, arr, dtype, copy);
    }
    let arr = generic_to_ndarray(py, obj, dtype)?;
    ndarray_to_rarray(py, &arr, dtype, copy)
}

fn ndarray_to_rarray<'py>(
    py: Python<'py>,
    arr: &Bound<'py, PyUntypedArray>,
    dtype: Option<DType>,
    copy: bool,
) -> PyResult<Bound<'py, RArray>> {
    if arr.ndim() > 2 {
        return Err(too_many_dims(arr.ndim()));
    }
    let descr = arr.dtype();
    if let Some(src) = descr_dtype(&descr) {
        let to = dtype.unwrap_or(src);
        if to == src && !copy && arr.is_c_contiguous() && arr.is_aligned() {
            return Bound::new(py, RArray::borrow_ndarray(arr, src)?);
        }
        let op = ndarray_operand(py, arr)?;
        return Bound::new(py, RArray::from_view(op.view(), to));
    }
    let convertible = matches!(descr.kind(), b'b' | b'i' | b'u' | b'f');
    let to = match dtype {
        Some(to) if convertible => to,
        _ => {
            let swapped_float = descr.is_native_byteorder() == Some(false)
                && descr.kind() == b'f'
                && matches!(descr.itemsize(), 4 | 8);
            if !swapped_float {
                return Err(unsupported_dtype(&descr.to_string()));
            }
            if descr.itemsize() == 4 {
                DType::F32
            } else {
                DType::F64
            }
        }
    };
    // `astype` returns a fresh C-contiguous array that nobody else references: adopt it.
    let converted = arr.call_method1("astype", (np_descr(py, to),))?;
    let converted = converted.cast::<PyUntypedArray>()?;
    Bound::new(py, RArray::borrow_ndarray(converted, to)?)
}

/// `shape` argument of zeros/ones/full: an int or a sequence of ints.
pub(crate) fn parse_shape(obj: &Bound<'_, PyAny>) -> PyResult<Shape> {
    let dims: Vec<isize> = if let Ok(n) = obj.extract::<isize>() {
        vec![n]
    } else {
        obj.extract::<Vec<isize>>()
            .map_err(|_| PyTypeError::new_err("shape must be an int or a sequence of ints"))?
    };
    if dims.iter().any(|&d| d < 0) {
        return Err(PyValueError::new_err("negative dimensions are not allowed"));
    }
    if dims.len() > 2 {
        return Err(too_many_dims(dims.len()));
    }
    let dims: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    if dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .is_none_or(|n| n > isize::MAX as usize / 8)
    {
        return Err(PyValueError::new_err("array is too big; `arr.size * arr.dtype.itemsize` is larger than the maximum possible size."));
    }
    Shape::new(&dims).map_err(|e| kernel_err(obj.py(), e))
}
