"""sum/mean/min/max as methods and module functions, every axis, against NumPy (see conftest for
the tolerance rule), NaN semantics, empty inputs and axis errors."""

import numpy as np
import pytest

import raptors
from raptors_testing import DTYPES, SHAPES_2D, SIZES_1D, assert_same, layouts, random_array, reduction_bound

REDUCTIONS = ["sum", "mean", "min", "max"]
AXES = {0: [None], 1: [None, 0, -1], 2: [None, 0, 1, -1, -2]}


def numpy_reference(x, op, axis):
    if op in ("sum", "mean"):
        ref = getattr(np, op)(x.astype(np.float64), axis=axis)
        return ref if axis is None else ref.astype(x.dtype)
    return getattr(np, op)(x, axis=axis)


def check(got, x, op, axis):
    ref = numpy_reference(x, op, axis)
    if axis is None:
        assert type(got) is float
        if op in ("min", "max"):
            assert got == float(ref) or (np.isnan(got) and np.isnan(ref))
        else:
            assert abs(got - float(ref)) <= reduction_bound(x, axis, op), (got, float(ref))
        return
    assert isinstance(got, raptors.Array)
    g = np.asarray(got)
    assert g.dtype == x.dtype and g.shape == ref.shape
    if op in ("min", "max"):
        assert_same(got, ref)
    else:
        bound = reduction_bound(x, axis, op)
        assert np.all(np.abs(g.astype(np.float64) - numpy_reference(x.astype(np.float64), op, axis)) <= bound)


def nonempty_for(op, shape, axis):
    """min/max need a non-empty reduction (checked separately in test_empty_min_max)."""
    if op not in ("min", "max"):
        return True
    if axis is None:
        return int(np.prod(shape)) > 0
    return shape[axis] > 0


@pytest.mark.parametrize("op", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(n,) for n in SIZES_1D] + SHAPES_2D + [(100003,), (301, 299)])
def test_reductions_match_numpy(rng, op, dtype, shape):
    x = random_array(rng, shape, dtype)
    for axis in AXES[len(shape)]:
        if not nonempty_for(op, shape, axis) or (op == "mean" and (x.size == 0 or (axis is not None and shape[axis] == 0))):
            continue
        for xv in layouts(x).values():
            a = raptors.asarray(xv)
            check(getattr(a, op)(axis=axis), x, op, axis)
            check(getattr(raptors, op)(xv, axis=axis), x, op, axis)  # module function on NumPy input
        check(getattr(raptors.asarray(x), op)(axis), x, op, axis)  # positional axis


def test_large_sum_accuracy_f32(rng):
    # A long float32 sum is where naive accumulation drifts; the bound stays rtol * sum(|x|).
    x = (rng.random(1 << 20) + 0.5).astype(np.float32)
    got = raptors.sum(x)
    assert abs(got - np.sum(x, dtype=np.float64)) <= 1e-5 * np.sum(np.abs(x), dtype=np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_semantics(dtype):
    x = np.arange(12, dtype=dtype).reshape(3, 4)
    x[1, 2] = np.nan
    a = raptors.asarray(x)
    for op in REDUCTIONS:
        assert np.isnan(getattr(a, op)())
        for axis in (0, 1):
            assert_same(getattr(a, op)(axis=axis), getattr(np, op)(x, axis=axis))
    y = np.array([np.inf, -np.inf, 1.0], dtype)
    assert raptors.max(y) == np.inf and raptors.min(y) == -np.inf
    assert np.isnan(raptors.sum(y))


def test_integer_like_axis_and_zero_dim():
    a = raptors.asarray(np.arange(6.0).reshape(2, 3))
    assert a.sum(axis=np.int64(1)).tolist() == [3.0, 12.0]
    s = raptors.asarray(5.0)
    assert s.sum() == 5.0 and s.max() == 5.0 and s.mean() == 5.0


@pytest.mark.parametrize("op", REDUCTIONS)
def test_bad_axis_is_axis_error(op):
    a = raptors.ones((2, 3))
    for axis in (2, -3, 100):
        with pytest.raises(np.exceptions.AxisError) as ei:
            getattr(a, op)(axis=axis)
        assert isinstance(ei.value, ValueError) and isinstance(ei.value, IndexError)
        assert f"axis {axis} is out of bounds for array of dimension 2" in str(ei.value)
    with pytest.raises(raptors.AxisError):
        getattr(raptors, op)(np.ones(4), axis=1)
    with pytest.raises(IndexError):
        getattr(raptors.asarray(1.0), op)(axis=0)
    for bad in ((0, 1), 1.5, "0", True):
        with pytest.raises(TypeError, match="axis"):
            getattr(a, op)(axis=bad)


def test_empty_min_max():
    for op in ("min", "max"):
        with pytest.raises(ValueError) as ours:
            getattr(raptors.zeros(0), op)()
        with pytest.raises(ValueError) as theirs:
            getattr(np.zeros(0), op)()
        assert str(ours.value) == str(theirs.value)
        with pytest.raises(ValueError, match="zero-size array"):
            getattr(raptors, op)(np.zeros((0, 3)), axis=0)
        # reducing a non-empty axis of an empty array is fine
        assert getattr(raptors.zeros((3, 0)), op)(axis=0).shape == (0,)


def test_empty_sum_and_mean():
    assert raptors.sum(np.zeros(0)) == 0.0
    assert raptors.zeros((0, 4)).sum(axis=0).tolist() == [0.0] * 4
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        m = raptors.zeros(0).mean()
    assert np.isnan(m)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        r = raptors.zeros((0, 3), dtype="float32").mean(axis=0)
    assert r.dtype == np.float32 and np.isnan(np.asarray(r)).all() and r.shape == (3,)


def test_reductions_reject_bad_input():
    with pytest.raises(TypeError, match="float32 and float64"):
        raptors.sum(np.arange(3))
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        raptors.mean(np.ones((2, 2, 2)))
    assert raptors.sum([1, 2, 3]) == 6.0
