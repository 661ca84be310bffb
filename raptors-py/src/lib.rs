//! Thin pyo3 binding: module `raptors._raptors`, re-exported by the `raptors` Python package.
//!
//! No numerics live here: arguments are converted to raptors-kernels views, kernels run (with the
//! GIL released above `storage::DETACH_THRESHOLD` elements) and `KernelError`s become NumPy-style
//! Python exceptions.

mod array;
mod convert;
mod errors;
mod ops;
mod storage;

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use raptors_kernels::{BinaryOp, DType, ReduceOp};

pub use array::RArray;

use convert::{any_array, any_operand, parse_axis, parse_dtype, parse_shape, to_rarray};
use storage::Float;

/// Converts `obj` to an Array without copying when it already is a C-contiguous float32/float64
/// array (NumPy arrays are shared, not copied). Lists/tuples of numbers become float64.
#[pyfunction]
#[pyo3(signature = (obj, dtype=None))]
fn asarray<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, RArray>> {
    to_rarray(py, obj, parse_dtype(py, dtype)?, false)
}

/// Like `asarray`, but always copies.
#[pyfunction(name = "array")]
#[pyo3(signature = (obj, dtype=None))]
fn array_copy<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, RArray>> {
    to_rarray(py, obj, parse_dtype(py, dtype)?, true)
}

fn filled(
    py: Python<'_>,
    shape: &Bound<'_, PyAny>,
    value: f64,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<RArray> {
    let shape = parse_shape(shape)?;
    let n = shape.size();
    Ok(match parse_dtype(py, dtype)?.unwrap_or(DType::F64) {
        DType::F32 => RArray::from_vec(vec![f32::from_py_float(value); n], shape),
        DType::F64 => RArray::from_vec(vec![f64::from_py_float(value); n], shape),
    })
}

/// A new Array of `shape` filled with 0.0.
#[pyfunction]
#[pyo3(signature = (shape, dtype=None))]
fn zeros(
    py: Python<'_>,
    shape: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<RArray> {
    filled(py, shape, 0.0, dtype)
}

/// A new Array of `shape` filled with 1.0.
#[pyfunction]
#[pyo3(signature = (shape, dtype=None))]
fn ones(
    py: Python<'_>,
    shape: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<RArray> {
    filled(py, shape, 1.0, dtype)
}

/// A new Array of `shape` filled with `fill_value` (float64 unless `dtype` says otherwise).
#[pyfunction]
#[pyo3(signature = (shape, fill_value, dtype=None))]
fn full(
    py: Python<'_>,
    shape: &Bound<'_, PyAny>,
    fill_value: f64,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<RArray> {
    filled(py, shape, fill_value, dtype)
}

fn reduce_any(
    py: Python<'_>,
    op: ReduceOp,
    x: &Bound<'_, PyAny>,
    axis: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let axis = parse_axis(axis)?;
    let a = any_array(py, x)?;
    ops::reduce(py, op, a.view(), axis)
}

/// Sum of the elements (axis=None -> float, axis=int -> Array). Accepts Arrays and NumPy arrays.
#[pyfunction]
#[pyo3(signature = (x, axis=None))]
fn sum(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    reduce_any(py, ReduceOp::Sum, x, axis)
}

/// Arithmetic mean (NaN plus a RuntimeWarning for an empty input, like NumPy).
#[pyfunction]
#[pyo3(signature = (x, axis=None))]
fn mean(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    reduce_any(py, ReduceOp::Mean, x, axis)
}

/// Minimum (NaN if any element is NaN; ValueError for an empty reduction).
#[pyfunction]
#[pyo3(signature = (x, axis=None))]
fn min(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    reduce_any(py, ReduceOp::Min, x, axis)
}

/// Maximum (NaN if any element is NaN; ValueError for an empty reduction).
#[pyfunction]
#[pyo3(signature = (x, axis=None))]
fn max(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    reduce_any(py, ReduceOp::Max, x, axis)
}

fn binary_any(
    py: Python<'_>,
    op: BinaryOp,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (a, b) = (any_operand(py, x)?, any_operand(py, y)?);
    match out.filter(|o| !o.is_none()) {
        None => Ok(ops::binary(py, op, &a, &b)?.into_any().unbind()),
        Some(out) => {
            let target = ops::OutArg::from_object(out)?;
            ops::binary_into(py, op, &a, &b, &target)?;
            Ok(out.clone().unbind())
        }
    }
}

/// Element-wise `x + y` with broadcasting; writes into and returns `out` when given.
#[pyfunction]
#[pyo3(signature = (x, y, out=None))]
fn add(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    binary_any(py, BinaryOp::Add, x, y, out)
}

/// Element-wise `x - y` with broadcasting; writes into and returns `out` when given.
#[pyfunction]
#[pyo3(signature = (x, y, out=None))]
fn subtract(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    binary_any(py, BinaryOp::Sub, x, y, out)
}

/// Element-wise `x * y` with broadcasting; writes into and returns `out` when given.
#[pyfunction]
#[pyo3(signature = (x, y, out=None))]
fn multiply(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    binary_any(py, BinaryOp::Mul, x, y, out)
}

/// Element-wise `x / y` with broadcasting; writes into and returns `out` when given.
#[pyfunction]
#[pyo3(signature = (x, y, out=None))]
fn divide(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    out: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    binary_any(py, BinaryOp::Div, x, y, out)
}

/// The SIMD level the kernels use ("scalar", "sse2", "avx2", "avx512" or "neon"), honouring
/// the RAPTORS_SIMD environment variable.
#[pyfunction]
fn simd_level(py: Python<'_>) -> PyResult<&'static str> {
    raptors_kernels::simd_level()
        .map(|l| l.name())
        .map_err(|e| errors::kernel_err(py, e))
}

/// SIMD levels this CPU supports (valid values for RAPTORS_SIMD besides "auto").
#[pyfunction]
fn available_simd_levels() -> Vec<&'static str> {
    raptors_kernels::available_levels()
        .iter()
        .map(|l| l.name())
        .collect()
}

#[pymodule]
fn _raptors(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Resolve dispatch once at import: a bad RAPTORS_SIMD fails here with a clear message instead
    // of on the first operation.
    raptors_kernels::Kernels::active()
        .map_err(|e| PyImportError::new_err(errors::simd_message(&e)))?;
    m.add_class::<RArray>()?;
    m.add_function(wrap_pyfunction!(asarray, m)?)?;
    m.add_function(wrap_pyfunction!(array_copy, m)?)?;
    m.add_function(wrap_pyfunction!(zeros, m)?)?;
    m.add_function(wrap_pyfunction!(ones, m)?)?;
    m.add_function(wrap_pyfunction!(full, m)?)?;
    m.add_function(wrap_pyfunction!(sum, m)?)?;
    m.add_function(wrap_pyfunction!(mean, m)?)?;
    m.add_function(wrap_pyfunction!(min, m)?)?;
    m.add_function(wrap_pyfunction!(max, m)?)?;
    m.add_function(wrap_pyfunction!(add, m)?)?;
    m.add_function(wrap_pyfunction!(subtract, m)?)?;
    m.add_function(wrap_pyfunction!(multiply, m)?)?;
    m.add_function(wrap_pyfunction!(divide, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(available_simd_levels, m)?)?;
    m.add("AxisError", errors::axis_error_type(m.py())?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
