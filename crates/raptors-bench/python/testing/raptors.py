"""Stand-in `raptors` module for testing the benchmark pipeline without the real extension.

Every operation is NumPy itself, so a comparison against it is an A/A run. Only put this directory
on PYTHONPATH in tests; results produced with it report raptors_version "fake-numpy".
"""
import numpy as np

__version__ = "fake-numpy"
add = np.add
multiply = np.multiply


def asarray(a):
    return np.asarray(a)


def simd_level():
    return "fake"
