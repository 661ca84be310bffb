"""The old-vs-new runner: two modules named `raptors` in one process, and one run end to end with
two copies of the stand-in module (no timing is asserted)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, ".."))

import against_runner as ar  # noqa: E402

STAND_IN = os.path.join(HERE, "..", "testing", "raptors.py")


def stand_in(directory, marker):
    """A copy of the stand-in `raptors` with `MARKER = marker`."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "raptors.py")
    shutil.copy(STAND_IN, path)
    with open(path, "a") as f:
        f.write(f"\nMARKER = {marker!r}\n")
    return str(directory)


class OwnRaptors:
    """Within the block, `raptors` means the stand-in in `directory`: any `raptors` already
    imported in this process (the real extension, when pytest runs the binding's tests first) is
    set aside and put back afterwards, untouched (a pyo3 module cannot be initialised twice)."""

    def __init__(self, directory):
        self.directory = directory

    def __enter__(self):
        self.saved = {k: v for k, v in sys.modules.items() if k == "raptors" or k.startswith("raptors.")}
        for k in self.saved:
            del sys.modules[k]
        sys.path.insert(0, self.directory)

    def __exit__(self, *exc):
        sys.path.remove(self.directory)
        for k in [k for k in sys.modules if k == "raptors" or k.startswith("raptors.")]:
            del sys.modules[k]
        sys.modules.update(self.saved)


def test_import_isolated_leaves_sys_modules_as_it_was(tmp_path):
    old_dir = stand_in(tmp_path / "old", "old")
    new_dir = stand_in(tmp_path / "new", "new")
    with OwnRaptors(new_dir):
        import raptors as current
        old = ar.import_isolated(old_dir)
        assert (old.MARKER, current.MARKER) == ("old", "new")
        assert sys.modules["raptors"] is current, "the current module is back under its name"
        assert old_dir not in sys.path
        again = ar.import_isolated(old_dir)
        assert again.MARKER == "old" and sys.modules["raptors"] is current


def test_a_directory_without_the_module_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with OwnRaptors(stand_in(tmp_path / "elsewhere", "elsewhere")):
        try:
            ar.import_isolated(str(empty))
        except ImportError as e:
            assert "not in" in str(e)
        else:
            raise AssertionError("a module found elsewhere must not pass for the old build")


@pytest.mark.parametrize("first", ["old", "new"])
def test_one_run_end_to_end(tmp_path, first):
    old_dir = stand_in(tmp_path / "old", "old")
    new_dir = stand_in(tmp_path / "new", "new")
    log = tmp_path / "calls.log"
    env = dict(os.environ, PYTHONPATH=new_dir, RAPTORS_FAKE_LOG=str(log))
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "..", "against_runner.py"), "--old-path", old_dir,
         "--ops", "sum,add", "--dtypes", "f32", "--sizes", "64", "--cell-budget-s", "0.05",
         "--min-rounds", "8", "--first", first],
        env=env, capture_output=True, text=True, check=True, timeout=120)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "machine" and kinds[-1] == "done", kinds
    machine = lines[0]
    assert machine["first"] == first
    calls = log.read_text().split()
    assert calls[0] == first, "the --first build makes the first call (its buffers are placed first)"
    assert set(calls) == {"old", "new"}
    assert machine["old_extension"].startswith(os.path.realpath(old_dir))
    assert machine["new_extension"].startswith(os.path.realpath(new_dir))
    cells = [line for line in lines if line["type"] == "cell"]
    assert [c["id"] for c in cells] == ["sum/f32/64x64", "add/f32/64x64"]
    for c in cells:
        assert len(c["numpy_ns"]) == len(c["old_ns"]) == len(c["new_ns"]) >= 8
        assert (c["check_old"], c["check_new"]) == ("ok", "ok")
