"""pytest fixtures for the raptors suite; helpers and the tolerance rules live in raptors_testing.py."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261126)
