"""Threads, memory leaks and SIMD level selection via RAPTORS_SIMD (in subprocesses)."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import raptors

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def test_threads_call_kernels_concurrently():
    # Arrays above the GIL-release threshold (64 Ki elements) so kernels run detached from the GIL.
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal((300, 301)).astype(np.float32 if i % 2 else np.float64) for i in range(8)]
    expected = [(x * 2.0 + x, np.sum(x, axis=0, dtype=np.float64)) for x in inputs]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(inputs))

    def work(i: int) -> None:
        try:
            barrier.wait()
            a = raptors.asarray(inputs[i])
            for _ in range(10):
                y = a * 2.0 + a
                np.testing.assert_array_equal(np.asarray(y), expected[i][0])
                s = np.asarray(a.sum(axis=0), dtype=np.float64)
                tol = 1e-5 if a.dtype == np.float32 else 1e-12
                bound = tol * np.sum(np.abs(inputs[i]), axis=0, dtype=np.float64)
                assert np.all(np.abs(s - expected[i][1]) <= bound)
                out = raptors.zeros(a.shape, dtype=a.dtype)
                raptors.add(a, a, out=out)
                np.testing.assert_array_equal(np.asarray(out), inputs[i] + inputs[i])
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_no_leak_over_many_calls():
    x = np.random.default_rng(1).standard_normal(256)
    a = raptors.asarray(x)
    b = raptors.asarray(x.astype(np.float32))
    out = raptors.zeros(256)

    def burst(n: int) -> None:
        for _ in range(n):
            y = a + a  # new Array owning a 2 KiB Vec
            y += 1.0
            a.sum()
            b.mean(axis=0)
            raptors.asarray(x)  # zero-copy borrow of an ndarray
            np.asarray(y)  # ndarray view whose base is the Array
            raptors.multiply(a, 2.0, out=out)
            x + b  # reflected operator with a NumPy array

    burst(10_000)  # warm up allocator pools
    before = rss_bytes()
    burst(100_000)
    grown = rss_bytes() - before
    # A leak of the result buffer alone would be 100k * 2 KiB = 200 MiB.
    assert grown < 16 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MiB over 10^5 iterations"


def run_with_simd(value: str, code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, RAPTORS_SIMD=value)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


CHECK = """
import numpy as np, raptors
x = np.linspace(-3, 3, 1001, dtype=np.float32).reshape(7, 143)
a = raptors.asarray(x)
np.testing.assert_array_equal(np.asarray(a * a + 1.0), x * x + np.float32(1.0))
assert abs(a.sum() - float(x.astype(np.float64).sum())) <= 1e-5 * float(np.abs(x).sum())
print(raptors.simd_level())
"""


@pytest.mark.parametrize("level", ["scalar", "sse2", "avx2", "avx512", "neon"])
def test_raptors_simd_forces_level(level):
    proc = run_with_simd(level, CHECK)
    if level in raptors.available_simd_levels():
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == level
    else:
        # An unavailable level is a clear import-time error, never a silent fallback.
        assert proc.returncode != 0
        assert level in proc.stderr and "ImportError" in proc.stderr


def test_raptors_simd_auto_picks_best():
    proc = run_with_simd("auto", CHECK)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == raptors.available_simd_levels()[-1]


def test_invalid_raptors_simd_is_clear_error():
    proc = run_with_simd("bogus", "import raptors")
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "bogus" in proc.stderr
    for choice in ("scalar", "avx2", "auto"):
        assert choice in proc.stderr
