"""Stand-in `raptors` module for testing the benchmark pipeline without the real extension.

Every operation is NumPy itself, so a comparison against it is an A/A run. Only put this directory
on PYTHONPATH in tests; results produced with it report raptors_version "fake-numpy".
"""
import os

import numpy as np

__version__ = "fake-numpy"
add = np.add
multiply = np.multiply


def asarray(a):
    return np.asarray(a)


def simd_level():
    return "fake"


# RAPTORS_FAKE_SLOW=1: `x + y` does its work twice — a deliberately slowed kernel for the
# end-to-end --baseline test.
if os.environ.get("RAPTORS_FAKE_SLOW") == "1":

    class _Slow(np.ndarray):
        def __add__(self, other):
            np.add(np.asarray(self), np.asarray(other))
            return np.add(np.asarray(self), np.asarray(other))

    def asarray(a):  # noqa: F811 - replaces the plain version above
        return np.asarray(a).view(_Slow)


# RAPTORS_FAKE_LOG=path: every `x + y` on this module's arrays appends the module's MARKER (which
# the tests that copy this file append) to path, so a test sees which of two copies ran first.
if os.environ.get("RAPTORS_FAKE_LOG"):

    class _Logged(np.ndarray):
        def __add__(self, other):
            with open(os.environ["RAPTORS_FAKE_LOG"], "a") as f:
                f.write(globals().get("MARKER", "stand-in") + "\n")
            return np.add(np.asarray(self), np.asarray(other))

    def asarray(a):  # noqa: F811 - replaces the plain version above
        return np.asarray(a).view(_Logged)
