"""The .pyi stubs match the compiled module (mypy's stubtest). mypy is optional (not in
requirements.txt): without it the test is skipped with that reason, never silently passed."""

import importlib.util
import os
import subprocess
import sys

import pytest


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed in this environment")
def test_stubs_match_runtime(tmp_path):
    env = dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / "mypy_cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "raptors"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
