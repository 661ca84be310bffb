"""Array attributes and protocols: repr, len, __array__, buffer protocol, to_numpy, copy, tolist."""

import numpy as np
import pytest

import raptors
from raptors_testing import DTYPES, assert_same


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (2, 3), (0, 4), (1000,), (40, 40)])
def test_repr_and_str_match_numpy(dtype, shape):
    x = (np.arange(int(np.prod(shape))) * 0.37 - 3).astype(dtype).reshape(shape)
    a = raptors.asarray(x)
    assert repr(a) == "Array" + repr(x)[len("array"):]
    assert str(a) == str(x)


def test_properties():
    a = raptors.zeros((3, 5), dtype="float32")
    assert a.shape == (3, 5) and isinstance(a.shape, tuple)
    assert (a.ndim, a.size, a.itemsize, a.nbytes) == (2, 15, 4, 60)
    assert isinstance(a.dtype, np.dtype) and a.dtype == np.float32
    assert len(a) == 3
    assert len(raptors.zeros(4)) == 4
    with pytest.raises(TypeError, match="unsized"):
        len(raptors.asarray(1.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_buffer_protocol_and_numpy_views(dtype):
    a = raptors.asarray(np.arange(6, dtype=dtype).reshape(2, 3))
    m = memoryview(a)
    assert m.format == np.dtype(dtype).char and m.shape == (2, 3) and m.itemsize == np.dtype(dtype).itemsize
    assert m.strides == (3 * m.itemsize, m.itemsize) and not m.readonly
    assert m.tolist() == a.tolist()
    owned = a + 0.0  # an Array owning its Vec
    for view in (np.asarray(owned), owned.to_numpy(), np.frombuffer(owned, dtype=dtype)):
        view.flat[0] = -1.0
        assert owned.tolist()[0][0] == -1.0, "numpy views share the Array's memory"
    c = owned.to_numpy(copy=True)
    c[0, 0] = 99.0
    assert owned.tolist()[0][0] == -1.0


def test_dunder_array_dtype_and_copy():
    a = raptors.asarray(np.arange(4.0))
    assert np.asarray(a, dtype=np.float32).dtype == np.float32
    c = np.array(a, copy=True)
    c[0] = 7.0
    assert a.tolist()[0] == 0.0
    v = np.array(a, copy=False)
    v[0] = 3.0
    assert a.tolist()[0] == 3.0
    with pytest.raises(ValueError):
        np.array(a, dtype=np.float32, copy=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_copy_tolist_astype(dtype):
    x = np.array([[1.25, np.nan], [np.inf, -0.0]], dtype=dtype)
    a = raptors.asarray(x)
    c = a.copy()
    assert not c.is_view and c.dtype == a.dtype
    x[0, 0] = 9.0
    assert c.tolist()[0][0] == 1.25
    assert_same(np.asarray(c.astype("float64")), np.array([[1.25, np.nan], [np.inf, -0.0]], dtype=dtype).astype(np.float64))
    t = a.tolist()
    assert t == x.tolist() or (np.isnan(t[0][1]) and t[1] == x.tolist()[1])
    assert all(isinstance(v, float) for row in t for v in row)


def test_bool_and_float():
    assert bool(raptors.asarray([2.0])) is True
    assert bool(raptors.asarray(0.0)) is False
    with pytest.raises(ValueError, match="ambiguous"):
        bool(raptors.zeros(3))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(raptors.zeros(0))
    assert float(raptors.asarray([[2.5]])) == 2.5
    with pytest.raises(TypeError):
        float(raptors.zeros(2))


def test_unary_neg_pos():
    x = np.array([1.0, -0.0, np.inf, np.nan], np.float32)
    a = raptors.asarray(x)
    assert_same(np.asarray(-a), -x)
    p = +a
    assert_same(np.asarray(p), x)
    assert not np.shares_memory(np.asarray(p), x)


def test_version_and_simd_level():
    assert isinstance(raptors.__version__, str) and raptors.__version__.count(".") >= 2
    level = raptors.simd_level()
    assert level in {"scalar", "sse2", "avx2", "avx512", "neon"}
    assert level in raptors.available_simd_levels()
    assert "scalar" in raptors.available_simd_levels()


def test_indexing_iteration_transpose():
    x = np.arange(12.0).reshape(3, 4)
    a = raptors.asarray(x)
    assert a[1, 2] == 6.0 and type(a[1, 2]) is float
    row = a[1]
    assert isinstance(row, raptors.Array) and row.tolist() == [4.0, 5.0, 6.0, 7.0]
    assert np.shares_memory(np.asarray(row), x), "C-contiguous selections share memory"
    col = a[:, 1]
    assert col.tolist() == [1.0, 5.0, 9.0] and not np.shares_memory(np.asarray(col), x)
    assert [r.tolist() for r in a] == x.tolist()
    assert list(raptors.asarray([1.0, 2.0])) == [1.0, 2.0]
    assert_same(a.T, x.T.copy())
    with pytest.raises(IndexError):
        a[3]
    a[0, :] = -1.0
    a[:, 3] = raptors.asarray([7.0, 8.0, 9.0])
    assert x[0].tolist() == [-1.0, -1.0, -1.0, 7.0] and x[:, 3].tolist() == [7.0, 8.0, 9.0]
    ro = np.arange(3.0)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        raptors.asarray(ro)[0] = 5.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_pickle_roundtrip(dtype):
    import pickle

    a = raptors.asarray(np.arange(6, dtype=dtype).reshape(2, 3))
    b = pickle.loads(pickle.dumps(a))
    assert isinstance(b, raptors.Array) and b.dtype == a.dtype and b.shape == a.shape
    assert_same(b, np.asarray(a))
    assert not np.shares_memory(np.asarray(a), np.asarray(b))
