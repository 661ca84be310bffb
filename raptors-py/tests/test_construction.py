"""asarray / array / zeros / ones / full: dtypes, zero-copy, lifetime and conversion errors."""

import gc
import weakref

import numpy as np
import pytest

import raptors
from raptors_testing import DTYPES, assert_same

DTYPE_SPELLINGS = {
    np.float32: ["float32", "f4", np.float32, np.dtype("float32"), np.dtype("<f4")],
    np.float64: ["float64", "f8", np.float64, np.dtype("float64"), float],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (5,), (3, 4), (0, 2)])
def test_asarray_is_zero_copy_for_contiguous_numpy(dtype, shape):
    x = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    a = raptors.asarray(x)
    assert a.shape == shape and a.dtype == np.dtype(dtype) and a.ndim == len(shape)
    assert a.is_view
    v = np.asarray(a)
    assert np.shares_memory(v, x) or x.size == 0
    if x.size:
        x.flat[0] = 42.0  # mutation of the source is visible through the Array
        assert a.tolist() == x.tolist()
        assert np.asarray(a).flat[0] == 42.0


def test_asarray_returns_same_array_object():
    a = raptors.zeros(3)
    assert raptors.asarray(a) is a
    assert raptors.asarray(a, dtype="float64") is a
    b = raptors.asarray(a, dtype=np.float32)
    assert b is not a and b.dtype == np.float32


def test_source_lifetime_is_extended_by_array():
    x = np.arange(10.0)
    ref = weakref.ref(x)
    a = raptors.asarray(x)
    del x
    gc.collect()
    assert ref() is not None, "Array must keep its NumPy owner alive"
    assert a.tolist() == list(np.arange(10.0))
    del a
    gc.collect()
    assert ref() is None, "owner must be released with the Array"


def test_numpy_view_keeps_array_alive():
    a = raptors.asarray([1.0, 2.0, 3.0])
    v = np.asarray(a)
    del a
    gc.collect()
    np.testing.assert_array_equal(v, [1.0, 2.0, 3.0])
    assert v.base is not None


@pytest.mark.parametrize("dtype", DTYPES)
def test_asarray_copies_non_contiguous(dtype):
    x = np.arange(12, dtype=dtype).reshape(3, 4)
    for src in (x.T, x[:, ::2], x[::-1], np.arange(20, dtype=dtype)[::3]):
        a = raptors.asarray(src)
        assert not a.is_view
        assert_same(np.asarray(a), np.ascontiguousarray(src))
        assert not np.shares_memory(np.asarray(a), x)


def test_array_always_copies():
    x = np.ones(4, np.float32)
    a = raptors.array(x)
    assert not a.is_view
    x[0] = 5
    assert a.tolist() == [1.0, 1.0, 1.0, 1.0]
    b = raptors.array(a)
    assert b is not a and not np.shares_memory(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("target", DTYPES)
def test_dtype_spellings_and_conversion(target):
    x = np.array([[1.5, -2.25], [3.0, 1e-3]], dtype=np.float64)
    for spelling in DTYPE_SPELLINGS[target]:
        a = raptors.asarray(x, dtype=spelling)
        assert a.dtype == np.dtype(target)
        assert_same(np.asarray(a), x.astype(target))
        for ctor in (raptors.zeros, raptors.ones):
            assert ctor((2, 3), dtype=spelling).dtype == np.dtype(target)


@pytest.mark.parametrize("src_dtype", [np.int8, np.int32, np.int64, np.uint16, np.bool_, np.float16])
@pytest.mark.parametrize("target", DTYPES)
def test_other_dtypes_convert_with_dtype(src_dtype, target):
    x = np.arange(6).reshape(2, 3).astype(src_dtype)
    a = raptors.asarray(x, dtype=target)
    assert_same(np.asarray(a), x.astype(target))


def test_lists_and_scalars():
    a = raptors.asarray([[1, 2, 3], [4, 5, 6]])
    assert a.dtype == np.float64 and a.shape == (2, 3)
    assert a.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert raptors.asarray((1.5, 2.5), dtype="float32").dtype == np.float32
    s = raptors.asarray(3.5)
    assert s.shape == () and s.ndim == 0 and s.size == 1 and s.tolist() == 3.5
    assert raptors.asarray([True, False]).dtype == np.float64
    assert raptors.asarray([]).shape == (0,)


def test_big_endian_input_is_converted():
    x = np.arange(5, dtype=">f8")
    a = raptors.asarray(x)
    assert a.dtype == np.float64 and a.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_readonly_source_gives_readonly_array():
    x = np.arange(4.0)
    x.flags.writeable = False
    a = raptors.asarray(x)
    assert a.is_view and not a.writeable
    assert not np.asarray(a).flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        a += 1
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
    b = a + 1  # out-of-place is fine
    assert b.writeable and b.tolist() == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_zeros_ones_full(dtype):
    for shape, np_shape in [(5, (5,)), ((2, 3), (2, 3)), ((), ()), ((0,), (0,)), ([4, 1], (4, 1))]:
        assert_same(np.asarray(raptors.zeros(shape, dtype=dtype)), np.zeros(np_shape, dtype))
        assert_same(np.asarray(raptors.ones(shape, dtype=dtype)), np.ones(np_shape, dtype))
        assert_same(np.asarray(raptors.full(shape, 0.1, dtype=dtype)), np.full(np_shape, 0.1, dtype))
    assert raptors.zeros(3).dtype == np.float64
    assert raptors.full((2,), 7).tolist() == [7.0, 7.0]


@pytest.mark.parametrize(
    "obj",
    [
        np.arange(3),  # int64 without dtype=
        np.array([1 + 2j]),
        np.array(["a", "b"]),
        np.array([object()], dtype=object),
        ["a", "b"],
        [1 + 1j],
    ],
)
def test_unsupported_dtypes_raise_type_error(obj):
    with pytest.raises(TypeError, match="float32 and float64"):
        raptors.asarray(obj)


@pytest.mark.parametrize("bad", ["int64", np.int32, "complex128", np.dtype("U3")])
def test_unsupported_target_dtype(bad):
    with pytest.raises(TypeError, match="float32 and float64"):
        raptors.asarray([1.0], dtype=bad)
    with pytest.raises(TypeError, match="float32 and float64"):
        raptors.zeros(3, dtype=bad)


def test_garbage_dtype_is_type_error():
    with pytest.raises(TypeError):
        raptors.asarray([1.0], dtype="not-a-dtype")


def test_too_many_dims():
    with pytest.raises(ValueError, match="at most 2 dimensions, got 3"):
        raptors.asarray(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="at most 2 dimensions, got 3"):
        raptors.zeros((1, 2, 3))
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        raptors.asarray(np.zeros((2, 2, 2), np.int64), dtype="float32")


def test_bad_shapes():
    with pytest.raises(ValueError, match="negative dimensions"):
        raptors.zeros((2, -1))
    with pytest.raises(TypeError):
        raptors.ones("abc")
    with pytest.raises(ValueError):
        raptors.asarray([[1.0, 2.0], [3.0]])  # ragged


def test_unusual_layouts_are_read_correctly():
    raw = np.zeros(8 * 10 + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.float64, count=10, offset=1)
    assert not unaligned.flags.aligned
    a = raptors.asarray(unaligned)
    assert_same(np.asarray(a), np.zeros(10))
    assert raptors.sum(unaligned) == 0.0
    b = np.broadcast_to(np.arange(3.0), (4, 3))  # zero strides
    assert_same(np.asarray(raptors.asarray(b)), np.ascontiguousarray(b))
    assert_same(raptors.ones((4, 3)) + b, np.ones((4, 3)) + b)
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    assert_same(np.asarray(raptors.asarray(f)), np.ascontiguousarray(f))
    assert raptors.asarray(f).mean(axis=0).tolist() == f.mean(axis=0).tolist()
    raw_w = bytearray(8 * 4 + 1)
    out = np.frombuffer(raw_w, dtype=np.float64, count=4, offset=1)
    assert out.flags.writeable and not out.flags.aligned
    with pytest.raises(TypeError, match="aligned"):
        raptors.add(np.ones(4), 1.0, out=out)
    assert not out.any()
