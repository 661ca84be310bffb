"""Element-wise + - * / against NumPy: shapes, layouts, broadcasting, NEP 50 dtypes, in-place, out=."""

import operator

import numpy as np
import pytest

import raptors
from raptors_testing import DTYPES, SHAPES_2D, SIZES_1D, assert_same, layouts, random_array

OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}
IOPS = {"add": operator.iadd, "sub": operator.isub, "mul": operator.imul, "div": operator.itruediv}
FUNCS = {"add": raptors.add, "sub": raptors.subtract, "mul": raptors.multiply, "div": raptors.divide}
NP_FUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}


def expected(op, x, y):
    with np.errstate(all="ignore"):
        return OPS[op](x, y)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(n,) for n in SIZES_1D] + SHAPES_2D + [(70001,), (300, 301)])
def test_same_shape_all_layouts(rng, op, dtype, shape):
    x = random_array(rng, shape, dtype)
    y = random_array(rng, shape, dtype, positive=True)
    want = expected(op, x, y)
    for name, xv in layouts(x).items():
        for yname, yv in layouts(y).items():
            a, b = raptors.asarray(xv), raptors.asarray(yv)
            assert_same(OPS[op](a, b), want)  # Array op Array
            assert_same(OPS[op](a, yv), want)  # Array op ndarray (strided views are read in place)
            assert_same(OPS[op](xv, b), want)  # ndarray op Array -> Array.__r*__
            assert isinstance(OPS[op](xv, b), raptors.Array), (name, yname)


BROADCAST_PAIRS = [
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((5, 7), (5, 1)),
    ((5, 1), (5, 7)),
    ((1, 9), (6, 1)),
    ((6, 1), (1, 9)),
    ((4, 4), (1, 1)),
    ((17, 33), (33,)),
    ((33, 17), (33, 1)),
    ((2, 3), ()),
    ((), (2, 3)),
    ((0, 3), (3,)),
    ((3, 0), (3, 1)),
    ((1,), (8,)),
    ((8,), (1,)),
    ((300, 257), (257,)),
    ((300, 257), (300, 1)),
]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", BROADCAST_PAIRS)
def test_broadcasting(rng, op, dtype, sa, sb):
    x = random_array(rng, sa, dtype)
    y = random_array(rng, sb, dtype, positive=True)
    want = expected(op, x, y)
    for xv in layouts(x).values():
        assert_same(OPS[op](raptors.asarray(xv), raptors.asarray(y)), want)
        assert_same(FUNCS[op](xv, y), want)
        assert_same(OPS[op](raptors.asarray(xv), y), want)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_scalars_both_sides(rng, op, dtype):
    x = random_array(rng, (37, 5), dtype, positive=True)
    a = raptors.asarray(x)
    for s in (2.5, -3, 0.1, True, 1e-3):
        assert_same(OPS[op](a, s), expected(op, x, s))
        assert_same(OPS[op](s, a), expected(op, s, x))
        assert_same(FUNCS[op](a, s), expected(op, x, s))
        assert_same(FUNCS[op](s, x), expected(op, s, x))


def test_special_values_match_numpy():
    vals = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-45, 3e38], np.float32)
    x, y = np.meshgrid(vals, vals)
    for dtype in DTYPES:
        xd, yd = x.astype(dtype), y.astype(dtype)
        for op in OPS:
            assert_same(OPS[op](raptors.asarray(xd), raptors.asarray(yd)), expected(op, xd, yd))


SCALARS = [2.5, 3, True, np.float32(1.5), np.float64(1.5), np.int8(3), np.int16(3), np.int32(3), np.int64(3), np.uint8(2), np.bool_(True)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("other", range(len(SCALARS)))
def test_nep50_scalar_promotion(dtype, other):
    s = SCALARS[other]
    x = np.array([1.0, 2.0, 3.0], dtype)
    a = raptors.asarray(x)
    for op in OPS:
        want = expected(op, x, s)
        assert_same(OPS[op](a, s), want)
        want_r = expected(op, s, x)
        got_r = OPS[op](s, a)
        assert isinstance(got_r, raptors.Array), type(got_r)
        assert_same(got_r, want_r)


@pytest.mark.parametrize("s", [np.int8(3), np.int16(-3), np.int64(3), np.uint8(2), np.bool_(True)])
def test_nep50_integer_scalar_with_python_float(s):
    """NEP 50: a Python float meeting an integer or bool scalar gives NumPy's default float,
    float64 (raptors computed the narrow ones in float32 until promotion moved into the kernels)."""
    for op in OPS:
        want = np.asarray(expected(op, s, 1.5))
        assert want.dtype == np.float64
        assert_same(FUNCS[op](s, 1.5), want)
        assert_same(FUNCS[op](1.5, s), np.asarray(expected(op, 1.5, s)))


@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
def test_nep50_array_promotion(rng, da, db):
    x = random_array(rng, (4, 6), da)
    y = random_array(rng, (6,), db, positive=True)
    for op in OPS:
        want = expected(op, x, y)
        assert want.dtype == np.promote_types(da, db)
        assert_same(OPS[op](raptors.asarray(x), raptors.asarray(y)), want)
        assert_same(OPS[op](raptors.asarray(x), y), want)
        assert_same(OPS[op](x, raptors.asarray(y)), want)
        assert_same(OPS[op](raptors.asarray(x), y.tolist()), expected(op, x, np.array(y.tolist())))


def test_zero_dim_operands(rng):
    s32 = raptors.asarray(np.float32(2.0))
    assert s32.shape == () and s32.dtype == np.float32
    x = random_array(rng, (3, 4), np.float32)
    for op in OPS:
        assert_same(OPS[op](raptors.asarray(x), s32), expected(op, x, np.asarray(np.float32(2.0))))
        assert_same(OPS[op](s32, s32), expected(op, np.asarray(np.float32(2.0)), np.asarray(np.float32(2.0))))
        assert_same(FUNCS[op](1.5, 2.0), expected(op, np.asarray(1.5), np.asarray(2.0)))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
def test_inplace_operators(rng, op, da, db):
    x = random_array(rng, (9, 13), da)
    for other in (random_array(rng, (9, 13), db, positive=True), random_array(rng, (13,), db, positive=True),
                  random_array(rng, (9, 1), db, positive=True), 1.75, np.float64(0.5)):
        want = x.copy()
        with np.errstate(all="ignore"):
            IOPS[op](want, other)  # NumPy: same_kind casting back into x's dtype
        src = x.copy()
        a = raptors.asarray(src)
        a_id = id(a)
        other_r = raptors.asarray(other) if isinstance(other, np.ndarray) else other
        a = IOPS[op](a, other_r)
        assert id(a) == a_id, "in-place operators return the same Array"
        assert_same(a, want)
        assert_same(src, want)  # zero-copy Array wrote through to the NumPy source


def test_inplace_same_operand_and_self_overlap(rng):
    x = random_array(rng, (16, 16), np.float64)
    a = raptors.asarray(x.copy())
    a += a
    assert_same(a, x + x)
    # out= overlapping an input partially (a transposed view of itself): inputs are copied first.
    y = x.copy()
    raptors.add(y, y.T, out=y)
    assert_same(y, x + x.T)
    z = x.copy()
    raptors.subtract(z[1:], z[:-1], out=z[:-1])
    want = x.copy()
    want[:-1] = x[1:] - x[:-1]
    assert_same(z, want)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_out_parameter(rng, op, dtype):
    x = random_array(rng, (20, 11), dtype)
    y = random_array(rng, (11,), dtype, positive=True)
    want = expected(op, x, y)
    out = raptors.zeros((20, 11), dtype=dtype)
    assert FUNCS[op](x, y, out=out) is out
    assert_same(out, want)
    out_np = np.zeros((20, 11), dtype)
    assert FUNCS[op](raptors.asarray(x), y, out=out_np) is out_np
    assert_same(out_np, want)
    strided = np.zeros((20, 22), dtype)
    FUNCS[op](x, y, out=strided[:, ::2])
    assert_same(strided[:, ::2], want)
    assert not strided[:, 1::2].any()
    rev = np.zeros((20, 11), dtype)
    FUNCS[op](x, y, out=rev[::-1, ::-1])  # negative strides
    assert_same(rev[::-1, ::-1], want)
    # float64 result into a float32 out: NumPy's same_kind cast
    out32 = np.zeros((20, 11), np.float32)
    want32 = np.zeros((20, 11), np.float32)
    with np.errstate(all="ignore"):
        NP_FUNCS[op](x.astype(np.float64), y, out=want32)
    FUNCS[op](x.astype(np.float64), y, out=out32)
    assert_same(out32, want32)
    strided32 = np.zeros((20, 22), np.float32)
    FUNCS[op](x.astype(np.float64), y, out=strided32[::-1, ::2])  # cast path, strided out
    assert_same(strided32[::-1, ::2], want32)


def test_out_errors_leave_out_untouched():
    x = np.ones((3, 4))
    for bad_out, exc in [
        (np.full((4, 3), 7.0), ValueError),
        (np.full((3,), 7.0), ValueError),
        (raptors.full((2, 4), 7.0), ValueError),
        (np.full((3, 4), 7, np.int64), TypeError),
        (np.full((3, 4), 7, np.complex128), TypeError),
    ]:
        before = np.asarray(bad_out).copy()
        with pytest.raises(exc):
            raptors.add(x, 1.0, out=bad_out)
        np.testing.assert_array_equal(np.asarray(bad_out), before)
    ro = np.full((3, 4), 7.0)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        raptors.multiply(x, x, out=ro)
    assert (ro == 7.0).all()
    with pytest.raises(TypeError, match="out must be"):
        raptors.add(x, x, out=[0.0] * 12)
    a = raptors.full(3, 2.0)
    with pytest.raises(ValueError, match=r"non-broadcastable output operand with shape \(3,\) doesn't match the broadcast shape \(2,3\)"):
        a += np.ones((2, 3))
    assert a.tolist() == [2.0, 2.0, 2.0]
    b = raptors.full(3, 2.0, dtype="float32")
    with pytest.raises(ValueError, match="non-broadcastable"):
        b += np.ones((2, 3))  # float64 operand: the casting path checks the shape too
    assert b.tolist() == [2.0, 2.0, 2.0]


def test_broadcast_error_message_like_numpy():
    a = raptors.ones((2, 3))
    with pytest.raises(ValueError) as ours:
        a + raptors.ones(4)
    with pytest.raises(ValueError) as theirs:
        np.ones((2, 3)) + np.ones(4)
    assert str(ours.value) == str(theirs.value).strip()
    assert "operands could not be broadcast together with shapes (2,3) (4,)" in str(ours.value)
    with pytest.raises(ValueError, match="could not be broadcast"):
        raptors.add(np.ones((5, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="could not be broadcast"):
        a - np.ones((3, 2))


def test_operand_type_errors():
    a = raptors.ones(3)
    with pytest.raises(TypeError, match="unsupported operand"):
        a + "abc"
    with pytest.raises(TypeError, match="unsupported operand"):
        None * a
    with pytest.raises(TypeError, match="unsupported operand"):
        a += "abc"
    with pytest.raises(TypeError, match="float32 and float64"):
        a + np.arange(3)
    with pytest.raises(TypeError, match="float32 and float64"):
        a * np.array([1j, 2j, 3j])
    with pytest.raises(TypeError, match="float32 and float64"):
        raptors.add(a, ["x", "y", "z"])
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        a + np.ones((1, 1, 3))
