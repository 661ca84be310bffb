"""The .pyi stubs match the compiled module (mypy's stubtest). mypy is pinned in
requirements.txt, so a missing mypy is a set-up error and fails the test."""

import os
import subprocess
import sys


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
