"""Raptors: NumPy-compatible float32/float64 arrays (up to 2-D) backed by SIMD kernels in Rust.

Everything lives in the compiled extension ``raptors._raptors``; this module only re-exports it.

>>> import numpy as np, raptors
>>> a = raptors.asarray(np.ones((2048, 2048), np.float32))   # zero-copy
>>> a.mean(axis=0).shape
(2048,)
"""

from ._raptors import (
    Array,
    AxisError,
    __version__,
    add,
    array,
    asarray,
    available_simd_levels,
    divide,
    full,
    max,
    mean,
    min,
    multiply,
    ones,
    simd_level,
    subtract,
    sum,
    zeros,
)

__all__ = [
    "Array",
    "AxisError",
    "__version__",
    "add",
    "array",
    "asarray",
    "available_simd_levels",
    "divide",
    "full",
    "max",
    "mean",
    "min",
    "multiply",
    "ones",
    "simd_level",
    "subtract",
    "sum",
    "zeros",
]
