"""Shared helpers for the raptors pytest suite (a uniquely named module, not conftest, so that test
directories of other crates collected in the same pytest run cannot shadow it).

Tolerances (documented here, used by every comparison with NumPy):
  * element-wise ops (+ - * /) must be bit-identical to NumPy (IEEE-754 per element), NaN == NaN;
  * reductions are compared with a float64 reference computed by NumPy from the same data, with an
    error bound relative to the magnitude of the summed terms (the condition-aware form of rtol):
    |got - ref| <= RTOL[dtype] * sum(|x|) (divided by n for mean); min/max are exact.
"""

from __future__ import annotations

import numpy as np

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}

# Sizes around SIMD widths (4/8/16 lanes, unrolled x4) plus empty and singleton.
SIZES_1D = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 1000, 4099]
SHAPES_2D = [(0, 3), (3, 0), (1, 1), (1, 7), (7, 1), (2, 3), (5, 3), (17, 9), (64, 33), (33, 64), (128, 129)]


def random_array(rng: np.random.Generator, shape, dtype, *, positive: bool = False) -> np.ndarray:
    x = rng.standard_normal(shape)
    if positive:
        x = np.abs(x) + 0.5
    return x.astype(dtype)


def layouts(x: np.ndarray) -> dict[str, np.ndarray]:
    """The same values in several memory layouts (contiguous, strided, transposed, reversed)."""
    out = {"contiguous": x}
    if x.ndim == 1:
        big = np.empty(x.shape[0] * 3, x.dtype)
        big[::3] = x
        out["strided"] = big[::3]
        out["reversed"] = x[::-1].copy()[::-1]
    elif x.ndim == 2:
        out["transposed"] = np.ascontiguousarray(x.T).T
        big = np.empty((x.shape[0], x.shape[1] * 2), x.dtype)
        big[:, ::2] = x
        out["column-strided"] = big[:, ::2]
        out["reversed-rows"] = x[::-1].copy()[::-1]
    return out


def assert_same(got, expected: np.ndarray) -> None:
    """Bit-exact comparison (NaN == NaN) including dtype and shape."""
    g = np.asarray(got)
    assert g.dtype == expected.dtype, (g.dtype, expected.dtype)
    assert g.shape == expected.shape, (g.shape, expected.shape)
    np.testing.assert_array_equal(g, expected, strict=True)


def reduction_bound(x: np.ndarray, axis, op: str) -> np.ndarray | float:
    """Allowed absolute error of a raptors sum/mean relative to NumPy's float64 result."""
    rtol = RTOL[x.dtype]
    mag = np.sum(np.abs(x.astype(np.float64)), axis=axis)
    if op == "mean":
        n = x.size if axis is None else x.shape[axis]
        mag = mag / max(n, 1)
    return rtol * mag + np.finfo(x.dtype).tiny
