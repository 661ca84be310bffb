"""The op table (raptors-bench/ops.json) as the Python side reads it, and what every runner and
driver builds from it: the seeded operands of both sides, the batch loops that call an op's
expression, and the check that both sides give the same answer.

Shared by compare_runner.py, against_runner.py and the profiling drivers (counters, callgrind,
qemu-user); raptors-bench writes it next to them and to ops.json (src/runner.rs, src/qemu_exec.rs).
"""
import json
import os
import re
import sys

import numpy as np

# The op table (expressions, fixed shapes, dtypes) is raptors-bench/ops.json, shared with the Rust
# side (src/ops.rs: bytes moved, symbol stems, criterion kernels). Found through $RAPTORS_BENCH_OPS,
# else next to this module (where raptors-bench writes it with the scripts), else at ../ops.json
# (this module in the repository).
OPS_SCHEMA = "raptors-bench/ops/v1"
OPS_ENV = "RAPTORS_BENCH_OPS"


def ops_path():
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.environ.get(OPS_ENV), os.path.join(here, "ops.json"), os.path.join(here, "..", "ops.json")):
        if path and os.path.isfile(path):
            return path
    raise FileNotFoundError(f"no op table: set {OPS_ENV} or put ops.json next to {__file__}")


def read_table(path=None):
    """The op table as stored (schema checked)."""
    path = path or ops_path()
    with open(path) as f:
        table = json.load(f)
    if table.get("schema") != OPS_SCHEMA:
        raise ValueError(f"{path}: schema {table.get('schema')!r}, expected {OPS_SCHEMA!r}")
    return table


def load_table(path=None):
    """(ops by name, dtypes by name) from the op table; each dtype gains `np`, its NumPy dtype."""
    table = read_table(path)
    ops = {op["name"]: op for op in table["ops"]}
    dtypes = {d["name"]: dict(d, np=np.dtype(d["numpy"])) for d in table["dtypes"]}
    return ops, dtypes


def load_regimes(path=None):
    """(regimes by name in table order, headline cells) from the op table."""
    table = read_table(path)
    return {r["name"]: r for r in table.get("regimes", [])}, table.get("headline", [])


def op_shape(op, size):
    """The array shape of one call: the op's fixed shape, else size x size."""
    return tuple(op["shape"]) if op["shape"] else (size, size)


HOT = "hot"  # the steady-state regime (raptors_bench::ops::HOT)


def default_ops(ops, suite="compare"):
    return [name for name, op in ops.items() if suite in op["default_in"]]


class Skip(Exception):
    """A cell that cannot be measured (a side cannot run it); the message is the reason."""


def describe_table(ops, dtypes, regimes, headline):
    """What the Python side takes from the op table (`compare_runner.py --list-ops`; a Rust test
    compares it with src/ops.rs)."""
    return {
        "type": "ops", "path": os.path.abspath(ops_path()),
        "ops": [{"name": name, "numpy": op["numpy"], "raptors": op["raptors"], "out": op["out"],
                 "shape_512": list(op_shape(op, 512)), "dtypes": op["dtypes"],
                 "default_in": op["default_in"], "inplace": op.get("inplace"), "levels": op.get("levels")}
                for name, op in ops.items()],
        "dtypes": [{"name": name, "numpy": str(d["np"]), "itemsize": d["np"].itemsize} for name, d in dtypes.items()],
        "regimes": [{"name": name, "default_on": r["default_on"], "calls": r["calls"], "work_ms": r["work_ms"],
                     "evict_llc_multiple": r["evict_llc_multiple"]} for name, r in regimes.items()],
        "headline": headline,
    }


def driver_op_names(args, ops, dtypes):
    """The `--ops` of a profiling driver (callgrind, qemu-user), checked with its `--dtype`,
    `--size` and `--reps`; exits with the reason on a bad one."""
    names = [o for o in args.ops.split(",") if o]
    bad = [o for o in names if o not in ops] + ([args.dtype] if args.dtype not in dtypes else [])
    if bad or args.size <= 0 or args.reps <= 0:
        sys.exit(f"unknown op/dtype or bad size/reps: {bad or (args.size, args.reps)}; ops: {list(ops)}")
    return names


BATCH_PARAMS = "n, x, y, row, col, o, mod, y_inv=None, y_neg=None, state=None"


def make_batch(expr, undo=None, key=None):
    """A loop with the expression inlined, so both sides pay the same tiny loop overhead.

    With `undo` (in-place ops, `x *= y` / `x *= y_inv`): calls alternate between `expr` and `undo`,
    the same operation with the inverse operand, so the target stays within one step of its initial
    values however many calls run; `state[key]` (per side) remembers that a call is pending undo
    across batches, so the alternation never breaks."""
    if undo is None:
        src = f"def batch({BATCH_PARAMS}):\n    for _ in range(n):\n        {expr}\n"
    else:
        src = (f"def batch({BATCH_PARAMS}):\n"
               f"    if n and state.get({key!r}):\n        {undo}\n        n -= 1\n        state[{key!r}] = 0\n"
               f"    for _ in range(n >> 1):\n        {expr}\n        {undo}\n"
               f"    if n & 1:\n        {expr}\n        state[{key!r}] = 1\n")
    ns = {}
    exec(compile(src, f"<batch {expr}>", "exec"), ns)
    return ns["batch"]


def make_op_batch(op, side):
    """The batch function of `op` for `side` ("numpy" or "raptors"), alternating with its undo
    statement when the op is in-place."""
    inplace = op.get("inplace")
    return make_batch(op[side], inplace["undo"] if inplace else None, op["name"])


# Operands built from y for in-place ops' undo statements (only when an op names them).
DERIVED_OPERANDS = {"y_inv": np.reciprocal, "y_neg": np.negative}


def operands_of(op):
    """Names the op's statements use (expressions and undo)."""
    text = " ".join([op["numpy"], op["raptors"], (op.get("inplace") or {}).get("undo", "")])
    return set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text))


def to_numpy(value):
    """A result of either side (array, NumPy scalar, Python number) as a NumPy array."""
    if isinstance(value, (float, int, np.generic)):
        return np.asarray(value)
    if isinstance(value, np.ndarray):
        return value
    for attr in ("to_numpy", "numpy"):
        if hasattr(value, attr):
            return np.asarray(getattr(value, attr)())
    arr = np.asarray(value)
    if arr.dtype == object:
        return np.asarray(value.tolist())
    return arr


def numpy_inputs(dt, shape, rng, ops=()):
    """Seeded NumPy inputs in [0.5, 1.5) for every name an expression may use (`x`, `y`, `row`,
    `col`, an empty `o`) and the derived operands the `ops` name (`y_inv`, `y_neg`)."""
    m, n = shape if len(shape) == 2 else (1, shape[0])

    def uniform(size):
        # drawn in the target dtype and shifted in place: ~5x faster than uniform().astype() on
        # 2048² arrays, which made building inputs a tenth of a full run's time
        v = rng.random(size, dtype=dt)
        v += dt.type(0.5)
        return v

    x, y, row, col = uniform(shape), uniform(shape), uniform((n,)), uniform((m, 1))
    o = np.empty(shape, dtype=dt)
    inputs = {"x": x, "y": y, "row": row, "col": col, "o": o}
    used = set().union(*(operands_of(op) for op in ops)) if ops else set()
    for name, derive in DERIVED_OPERANDS.items():
        if name in used:
            inputs[name] = derive(y)
    return inputs


def build_sides(dt, shape, raptors, rng, ops=()):
    """Seeded inputs in [0.5, 1.5) for every name an expression may use, per side (Raptors: zero-copy
    views of the same data, its own `o`). For the `ops` the sides serve: the derived operands they
    name (`y_inv`, `y_neg`) and, for in-place ops, a separate copy of the target for Raptors, so
    each side writes only its own array."""
    np_side = numpy_inputs(dt, shape, rng, ops)
    r_side = raptors_side(raptors, np_side, ops)
    np_side.update(mod=np, state={})
    return np_side, r_side


def raptors_side(raptors, np_side, ops=()):
    """One Raptors build's operands: zero-copy views of NumPy's input arrays (every build reads the
    same memory), and its own copy of `o` and of each in-place target of `ops`."""
    own = {"o"} | {op["inplace"]["target"] for op in ops if op.get("inplace")}
    try:
        # own output buffer: if asarray borrows NumPy memory, the check must still see Raptors's writes
        side = {k: raptors.asarray(np.array(v, copy=True) if k in own else v)
                for k, v in np_side.items() if isinstance(v, np.ndarray)}
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        raise Skip(f"raptors.asarray failed: {type(e).__name__}: {e}") from e
    side.update(mod=raptors, state={})
    return side


def check(op, np_side, r_side, dtype):
    """Run both once and compare. Returns "ok" or raises Skip with the reason."""
    env = {}
    python_float = False  # raptors returns a Python float for axis=None reductions, by design
    inplace = op.get("inplace")
    for name, side in (("numpy", np_side), ("raptors", r_side)):
        expr = op[name]
        batch = make_op_batch(op, name)
        try:
            if inplace:
                # Compare the target after one forward call from where the alternation stands
                # (a pending call is undone first, untimed).
                if side["state"].get(op["name"]):
                    batch(1, **side)
                batch(1, **side)
                env[name] = np.array(to_numpy(side[inplace["target"]]), copy=True)
                continue
            code = compile(expr, "<check>", "eval")
            batch(1, **side)
            if op["out"]:
                to_numpy(side["o"])[...] = np.nan  # catches an out= that is silently not written
            res = eval(code, {}, dict(side))  # noqa: S307 - our own fixed expressions
            if name == "raptors":
                python_float = type(res) is float
            env[name] = np.array(to_numpy(side["o"] if op["out"] else res), copy=True)
        except Exception as e:  # noqa: BLE001
            raise Skip(f"{name} cannot run `{expr}`: {type(e).__name__}: {e}") from e
    a, b = env["numpy"], env["raptors"]
    if a.shape != b.shape:
        return f"shape mismatch: numpy {a.shape} raptors {b.shape}"
    rtol = 1e-4 if dtype == "f32" else 1e-10
    if not np.allclose(a, b, rtol=rtol, atol=0.0):
        err = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)) / np.maximum(np.abs(a), 1e-300)))
        return f"value mismatch: max rel err {err:.3g} > {rtol}"
    if b.dtype != a.dtype and not (python_float and a.shape == ()):
        return f"dtype mismatch: numpy {a.dtype} raptors {b.dtype}"
    return "ok"
