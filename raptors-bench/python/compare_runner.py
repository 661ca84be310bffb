#!/usr/bin/env python3
"""Time Raptors against NumPy in the same process; emit one JSON object per line on stdout.

Driven by `raptors-bench compare` (which computes the statistics); usable alone for debugging:
    python compare_runner.py --ops sum,add --dtypes f32 --sizes 512

Method per cell: build the arrays, check both sides give the same answer, warm up and calibrate a
batch size per side so each timed sample lasts >= --target-sample-ms, then run rounds; in each round
each side is timed --subsamples times in a mirrored random order (ABBA / BAAB, paired,
interleaved), each sample preceded by a few untimed lead-in calls of the same side (--lead-in), and
the round keeps each side's fastest sub-sample (how many slower ones were >20 % off is counted).
Rounds stop on precision (see the stopping rule below), never on the verdict. GC is disabled while
timing. Each finished cell is printed and flushed immediately, so Ctrl-C loses at most the cell in
progress.

Lines: {"type": "machine", ...}, {"type": "plan", "cells": [...]}, {"type": "cell_start", "id"},
{"type": "cell", ...}, {"type": "skip", "id", "reason"}, then {"type": "done"} or
{"type": "interrupted"} or {"type": "fatal", "reason"}.
"""
import argparse
import contextlib
import gc
import io
import json
import math
import os
import platform
import random
import sys
import time
import traceback

import numpy as np

# The protocol stream; main() points sys.stdout at stderr so a library printing to stdout cannot
# corrupt it (not at import: tests import this module).
_PROTO = sys.stdout


def emit(obj):
    _PROTO.write(json.dumps(obj) + "\n")
    _PROTO.flush()


# The op table (expressions, fixed shapes, dtypes) is raptors-bench/ops.json, shared with the Rust
# side (src/ops.rs: bytes moved, symbol stems, criterion kernels). Found through $RAPTORS_BENCH_OPS,
# else next to this script (where raptors-bench writes it with the script), else at ../ops.json
# (this script in the repository).
OPS_SCHEMA = "raptors-bench/ops/v1"
OPS_ENV = "RAPTORS_BENCH_OPS"


def ops_path():
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.environ.get(OPS_ENV), os.path.join(here, "ops.json"), os.path.join(here, "..", "ops.json")):
        if path and os.path.isfile(path):
            return path
    raise FileNotFoundError(f"no op table: set {OPS_ENV} or put ops.json next to {__file__}")


def load_table(path=None):
    """(ops by name, dtypes by name) from the op table; each dtype gains `np`, its NumPy dtype."""
    path = path or ops_path()
    with open(path) as f:
        table = json.load(f)
    if table.get("schema") != OPS_SCHEMA:
        raise ValueError(f"{path}: schema {table.get('schema')!r}, expected {OPS_SCHEMA!r}")
    ops = {op["name"]: op for op in table["ops"]}
    dtypes = {d["name"]: dict(d, np=np.dtype(d["numpy"])) for d in table["dtypes"]}
    return ops, dtypes


def op_shape(op, size):
    """The array shape of one call: the op's fixed shape, else size x size."""
    return tuple(op["shape"]) if op["shape"] else (size, size)


def default_ops(ops, suite="compare"):
    return [name for name, op in ops.items() if suite in op["default_in"]]
# Stopping rule (sequential on precision, never on the verdict): once --min-rounds are done and
# MIN_TIME_FRACTION of the budget is spent, a cell stops as soon as the estimated standard error of
# its median speedup is <= --target-se; otherwise it keeps sampling up to HARD_CAP_FACTOR budgets,
# as far as the time bank allows: a process's compare cells spend on average at most
# MEAN_CAP_FACTOR budgets on rounds, so a noisy cell runs past its budget only on time that quieter
# cells before it left unused, and the matrix's duration is bounded however noisy the machine.
# --target-se 0 restores the fixed budget.
# HARD_MIN_ROUNDS: a very slow side still stops at the time limit after this many rounds.
HARD_CAP_FACTOR = 3.0
MEAN_CAP_FACTOR = 1.5
HARD_MIN_ROUNDS = 8
MIN_TIME_FRACTION = 0.25
SE_CHECK_EVERY = 5
# Normal quantile of the decision interval (99 %, raptors-bench's StatsConfig::decision_confidence):
# the order-statistic half of the SE estimate looks as far out as the verdict's interval does.
DECISION_Z = 2.576
AA_MIN_BUDGET_S = 0.8
LEAD_IN_MIN_CALLS = 8


def median_ratio_se(ref_ns, cand_ns):
    """Relative standard error of the median of per-round speedups (on log ratios), the larger of
    two estimates: 1.2533 * 1.4826 * MAD / sqrt(n), right for bell-shaped noise, and a
    distribution-free one from the order statistics that bound the decision's (99 %) interval of
    the median (ranks n/2 -+ DECISION_Z sqrt(n) / 2) divided by DECISION_Z, taking the wider of its
    two sides. That one is right when the rounds are bimodal (Raptors's helper threads sometimes
    there, sometimes not) and the median sits between two clusters, where MAD alone stops a cell
    long before its bootstrap interval is narrow; when they are skewed (a verdict needs both ends of
    the interval to be tight); and when a minority of rounds sits in a cluster apart (the machine in
    another state for a while), which a 95 % interval can miss while the verdict's 99 % one
    reaches it."""
    logs = sorted(math.log(r / c) for r, c in zip(ref_ns, cand_ns))
    n = len(logs)
    med = logs[n // 2] if n % 2 else 0.5 * (logs[n // 2 - 1] + logs[n // 2])
    dev = sorted(abs(v - med) for v in logs)
    mad = dev[n // 2] if n % 2 else 0.5 * (dev[n // 2 - 1] + dev[n // 2])
    mad_se = 1.2533 * 1.4826 * mad / math.sqrt(n)
    half = DECISION_Z * math.sqrt(n) / 2
    lo = logs[max(0, math.floor(n / 2 - half))]
    hi = logs[min(n - 1, math.ceil(n / 2 + half) - 1)]
    return max(mad_se, max(med - lo, hi - med) / DECISION_Z)


def rounds_limit_s(budget, cells_before, used_s):
    """Seconds of rounds the next compare cell may spend: at least its budget, at most
    HARD_CAP_FACTOR budgets, and beyond the budget only what keeps the process's mean at
    MEAN_CAP_FACTOR budgets per cell (`used_s`: rounds time of its `cells_before` compare cells)."""
    banked = (cells_before + 1) * MEAN_CAP_FACTOR * budget - used_s
    return min(HARD_CAP_FACTOR * budget, max(budget, banked))


def stop_reason(ref_ns, cand_ns, spent, budget, limit_s, args):
    """Why a cell stops after the rounds so far (None: go on). Checked before every round."""
    done = len(ref_ns)
    if done >= args.max_rounds:
        return "max_rounds"
    if done >= HARD_MIN_ROUNDS and spent >= limit_s:
        return "time_limit"  # a noisy or very slow cell must not stall the matrix; its CI shows it
    if done >= args.min_rounds:
        if args.target_se <= 0:
            if spent >= budget:
                return "budget"
        elif spent >= MIN_TIME_FRACTION * budget and done % SE_CHECK_EVERY == 0:
            if median_ratio_se(ref_ns, cand_ns) <= args.target_se:
                return "precision"
    return None


def make_batch(expr):
    """A loop with the expression inlined, so both sides pay the same tiny loop overhead."""
    src = f"def batch(n, x, y, row, col, o, mod):\n    for _ in range(n):\n        {expr}\n"
    ns = {}
    exec(compile(src, f"<batch {expr}>", "exec"), ns)
    return ns["batch"]


def to_numpy(value):
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


def read_cpuinfo():
    model, flags, cores = "unknown", [], set()
    phys = core = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name" and model == "unknown":
                    model = val
                elif key == "flags" and not flags:
                    flags = val.split()
                elif key == "physical id":
                    phys = val
                elif key == "core id":
                    core = val
                    cores.add((phys, core))
    except OSError as e:
        model = f"unknown (/proc/cpuinfo: {e})"
    return model, flags, len(cores) or None


def read_caches():
    caches = []
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return caches
    for idx in entries:
        if not idx.startswith("index"):
            continue
        try:
            rd = lambda k: open(os.path.join(base, idx, k)).read().strip()  # noqa: E731
            size = rd("size")
            mult = {"K": 1024, "M": 1 << 20, "G": 1 << 30}.get(size[-1], 1)
            caches.append({
                "level": int(rd("level")), "type": rd("type"),
                "size_bytes": int(size.rstrip("KMG")) * mult,
                "ways": int(rd("ways_of_associativity")), "line_bytes": int(rd("coherency_line_size")),
            })
        except (OSError, ValueError):
            continue
    return caches


def extension_files(package):
    """Compiled modules of `package` with size, mtime and sha256: which build was measured."""
    import hashlib

    out = []
    for name, mod in sorted(sys.modules.items()):
        path = getattr(mod, "__file__", None) or ""
        if (name == package or name.startswith(package + ".")) and path.endswith((".so", ".pyd")):
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            st = os.stat(path)
            out.append({"module": name, "path": path, "size_bytes": st.st_size,
                        "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)), "sha256": digest})
    return out


def read_loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(v) for v in f.read().split()[:3]]
    except (OSError, ValueError):
        return None


def machine_info(raptors):
    model, flags, cores = read_cpuinfo()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        np.show_runtime()
    try:
        from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__
        found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
        simd = {"baseline": list(__cpu_baseline__), "found": found,
                "not_found": [f for f in __cpu_dispatch__ if f not in found]}
    except ImportError as e:
        simd = {"error": f"numpy._core._multiarray_umath CPU tables unavailable: {e}"}
    return {
        "type": "machine",
        "cpu_model": model,
        "cpu_flags": flags,
        "simd_flags": sorted(f for f in flags if f.startswith(("avx", "sse", "fma", "f16c"))),
        "logical_cpus": os.cpu_count(),
        "physical_cores": cores,
        "caches": read_caches(),
        "arch": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy_version": np.__version__,
        "numpy_show_runtime": buf.getvalue(),
        "numpy_simd": simd,
        "raptors_version": getattr(raptors, "__version__", "unknown"),
        "raptors_simd_level": str(raptors.simd_level()),
        "raptors_path": getattr(raptors, "__file__", "unknown"),
        "raptors_extensions": extension_files("raptors"),
        "load_avg_start": read_loadavg(),
        "env": {k: os.environ[k] for k in sorted(os.environ)
                if k.startswith(("OPENBLAS_", "RAPTORS_", "OMP_", "MKL_"))},
    }


class Skip(Exception):
    pass


def describe_table(ops, dtypes):
    """What this script takes from the op table (a Rust test compares it with src/ops.rs)."""
    return {
        "type": "ops", "path": os.path.abspath(ops_path()),
        "ops": [{"name": name, "numpy": op["numpy"], "raptors": op["raptors"], "out": op["out"],
                 "shape_512": list(op_shape(op, 512)), "dtypes": op["dtypes"],
                 "default_in": op["default_in"]} for name, op in ops.items()],
        "dtypes": [{"name": name, "numpy": str(d["np"]), "itemsize": d["np"].itemsize} for name, d in dtypes.items()],
    }


def build_sides(dt, shape, raptors, rng):
    """Seeded inputs in [0.5, 1.5) for every name an expression may use, per side (Raptors: zero-copy
    views of the same data, its own `o`)."""
    m, n = shape if len(shape) == 2 else (1, shape[0])
    x = rng.uniform(0.5, 1.5, size=shape).astype(dt)
    y = rng.uniform(0.5, 1.5, size=shape).astype(dt)
    row = rng.uniform(0.5, 1.5, size=(n,)).astype(dt)
    col = rng.uniform(0.5, 1.5, size=(m, 1)).astype(dt)
    o = np.empty(shape, dtype=dt)
    np_side = {"x": x, "y": y, "row": row, "col": col, "o": o, "mod": np}
    try:
        # own output buffer: if asarray borrows NumPy memory, the check must still see Raptors's writes
        r_side = {k: raptors.asarray(np.empty(shape, dtype=dt) if k == "o" else v)
                  for k, v in np_side.items() if k != "mod"}
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        raise Skip(f"raptors.asarray failed: {type(e).__name__}: {e}") from e
    r_side["mod"] = raptors
    return np_side, r_side


def check(op, np_side, r_side, dtype):
    """Run both once and compare. Returns "ok" or raises Skip with the reason."""
    env = {}
    python_float = False  # raptors returns a Python float for axis=None reductions, by design
    for name, side in (("numpy", np_side), ("raptors", r_side)):
        expr = op[name]
        batch = make_batch(expr)
        code = compile(expr, "<check>", "eval")
        try:
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


def lead_in_calls(n, fraction):
    """Untimed calls before each timed sample of n calls: max(2, fraction of n), none when the sample
    has fewer than LEAD_IN_MIN_CALLS calls (long calls: their own start-up is a small share of one,
    and a lead-in would cost whole calls) or when fraction is 0 (off)."""
    if fraction <= 0 or n < LEAD_IN_MIN_CALLS:
        return 0
    return max(2, math.ceil(fraction * n))


def time_batch(batch, n, side, lead_in=0):
    if lead_in:
        # The sample starts in the steady state of repeated calls, not in whatever state the
        # other side's sample left behind (caches, Raptors's helper threads parked meanwhile).
        batch(lead_in, **side)
    t0 = time.perf_counter_ns()
    batch(n, **side)
    return time.perf_counter_ns() - t0


def calibrate(batches, sides, target_ns, warmup_ns):
    """Warm both sides up (alternating; `batches[i]` runs side i) and return each side's calls per
    sample so that its sample lasts >= target_ns, plus the number of warm-up calls made. Per side, so
    a side 5x faster does not make the other side's samples 5x longer: rounds stay short and many
    (each stored value is per call, so the two batch sizes need not match)."""
    per_call = []
    calls = 0
    for batch, side in zip(batches, sides):
        n = 1
        while True:
            t = time_batch(batch, n, side)
            calls += n
            if t >= target_ns / 4 or n >= 1 << 20:
                break
            n *= 2
        per_call.append(t / n)
    deadline = time.perf_counter_ns() + warmup_ns
    while time.perf_counter_ns() < deadline:
        for i, (batch, side) in enumerate(zip(batches, sides)):
            n = max(1, int(target_ns / 4 / max(per_call[i], 1)))
            per_call[i] = min(per_call[i], time_batch(batch, n, side) / n)
            calls += n
    return [max(1, math.ceil(target_ns / max(t, 1.0))) for t in per_call], calls


def run_cell(spec, args, raptors, seed, limit_s=None):
    """One cell's rounds; `limit_s` is its time limit from the bank (None: HARD_CAP_FACTOR budgets)."""
    op, dtype, kind = args.table_ops[spec["op"]], spec["dtype"], spec["kind"]
    shape = tuple(spec["shape"])
    rng = np.random.default_rng(seed)
    np_side, r_side = build_sides(args.table_dtypes[dtype]["np"], shape, raptors, rng)
    if kind == "compare":
        status = check(op, np_side, r_side, dtype)
        cand, cand_expr = r_side, op["raptors"]
    else:
        status, cand, cand_expr = "ok (A/A: both sides NumPy)", np_side, op["numpy"]
    expr = op["numpy"]
    batch, cand_batch = make_batch(expr), make_batch(cand_expr)
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        (n, n_cand), warm = calibrate((batch, cand_batch), (np_side, cand), args.target_sample_ms * 1e6,
                                      args.warmup_ms * 1e6)
        factor = None
        if kind == "aa_shift":
            n = max(n, n_cand, 100)  # same batch on both sides; >= 100 so 3 % is whole extra calls
            n_cand = round(n * args.inject_factor)
            factor = n_cand / n
        lead_ref, lead_cand = lead_in_calls(n, args.lead_in), lead_in_calls(n_cand, args.lead_in)
        order_rng = random.Random(seed)
        ref_ns, cand_ns, cand_first = [], [], 0
        slow_ref = slow_cand = 0
        k = args.subsamples
        # Self-check cells always get the full-mode budget, so their verdict means the same in
        # --quick and full runs (it is the evidence for the 3 % resolution).
        budget = args.cell_budget_s if kind == "compare" else max(args.cell_budget_s, AA_MIN_BUDGET_S)
        if limit_s is None:
            limit_s = HARD_CAP_FACTOR * budget
        t_start = time.perf_counter()
        while True:
            reason = stop_reason(ref_ns, cand_ns, time.perf_counter() - t_start, budget, limit_s, args)
            if reason:
                break
            # k sub-samples per side in a mirrored order (ABBA or BAAB for k=2, first side random):
            # a preemption that hits one sub-sample does not decide the round.
            cand_starts = order_rng.random() < 0.5
            cand_first += cand_starts
            rs, cs = [], []
            for i in range(k):
                if (i % 2 == 0) == cand_starts:
                    cs.append(time_batch(cand_batch, n_cand, cand, lead_cand))
                    rs.append(time_batch(batch, n, np_side, lead_ref))
                else:
                    rs.append(time_batch(batch, n, np_side, lead_ref))
                    cs.append(time_batch(cand_batch, n_cand, cand, lead_cand))
            r, c = min(rs), min(cs)
            slow_ref += sum(1 for v in rs if v > 1.2 * r)
            slow_cand += sum(1 for v in cs if v > 1.2 * c)
            ref_ns.append(r / n)
            # aa_shift: divided by n, not n_cand: that is the injected slowdown
            cand_ns.append(c / (n if kind == "aa_shift" else n_cand))
    finally:
        gc.enable()
    cell = {
        # bytes_per_call is added by raptors-bench from the op table (src/ops.rs)
        "type": "cell", "id": spec["id"], "op": op["name"], "dtype": dtype, "shape": list(shape),
        "level": args.level, "kind": kind, "expr": expr, "cand_expr": cand_expr, "reference": "numpy",
        "candidate": "raptors" if kind == "compare" else "numpy",
        "calls_per_sample": n, "cand_calls_per_sample": n_cand,
        "ref_ns": ref_ns, "cand_ns": cand_ns, "cand_first_rounds": cand_first,
        "check": status, "warmup_calls": warm, "elapsed_s": time.perf_counter() - started,
        "subsamples": args.subsamples, "lead_in_calls": lead_ref, "cand_lead_in_calls": lead_cand,
        "slow_subsamples_ref": slow_ref, "slow_subsamples_cand": slow_cand,
        "rounds_s": time.perf_counter() - t_start,
        "stop_se": median_ratio_se(ref_ns, cand_ns) if len(ref_ns) >= 2 else None,
        "stop_reason": reason, "rounds_limit_s": limit_s,
    }
    if factor is not None:
        cell["injected_factor"] = factor
    return cell


def plan(args):
    cells = []
    aa = [("aa", "sum", "f32", 512)] if args.quick else [("aa", "sum", "f32", 512), ("aa", "add", "f32", 1024)]
    if args.no_self_check:  # NumPy-only cells: once per run is enough (the parent runs them at the first level)
        aa = []
    # 256² sum: ~10 µs per call, so the >= 100-call batch that makes 3 % a whole number of extra
    # calls still lasts only ~1 ms like every other sample.
    if aa:
        aa.append(("aa_shift", "sum", "f32", 256))
    for kind, op, dtype, size in aa:
        cells.append({"id": f"{kind}:{op}/{dtype}/{size}/{args.level}", "op": op, "dtype": dtype,
                      "shape": [size, size], "kind": kind})
    for dtype in args.dtypes:
        for name in args.ops:
            op = args.table_ops[name]
            shapes = [op["shape"]] if op["shape"] else [[s, s] for s in args.sizes]
            for shape in shapes:
                # ids name the square size, or a fixed shape's dimensions ("8", "4x8")
                size = shape[0] if len(shape) == 2 and shape[0] == shape[1] and not op["shape"] else "x".join(map(str, shape))
                cells.append({"id": f"{name}/{dtype}/{size}/{args.level}", "op": name, "dtype": dtype,
                              "shape": list(shape), "kind": "compare"})
    return cells


def main():
    global _PROTO
    _PROTO, sys.stdout = sys.stdout, sys.stderr
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", default=None, help="comma-separated op names (default: the table's compare set)")
    p.add_argument("--dtypes", default="f32,f64")
    p.add_argument("--sizes", default="512,1024,2048")
    p.add_argument("--level", default=os.environ.get("RAPTORS_SIMD", "auto"), help="label only; RAPTORS_SIMD selects")
    p.add_argument("--target-sample-ms", type=float, default=0.5)
    p.add_argument("--subsamples", type=int, default=2, help="sub-samples per side per round (min is kept)")
    p.add_argument("--lead-in", type=float, default=0.125,
                   help="untimed calls before each sample of >= 8 calls, as a fraction of its calls "
                        "(at least 2); 0 = off")
    p.add_argument("--warmup-ms", type=float, default=30.0)
    p.add_argument("--cell-budget-s", type=float, default=0.8,
                   help="soft time budget of a cell's rounds; see --target-se")
    p.add_argument("--target-se", type=float, default=0.005,
                   help="stop a cell once the median speedup's relative standard error is this small "
                        "(after 1/4 of the budget); noisy cells run up to 3 budgets while the "
                        "process's mean stays <= 1.5 budgets per cell; 0 = fixed budget")
    p.add_argument("--min-rounds", type=int, default=30)
    p.add_argument("--max-rounds", type=int, default=2000)
    p.add_argument("--inject-factor", type=float, default=1.03)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--quick", action="store_true", help="fewer A/A cells")
    p.add_argument("--no-self-check", action="store_true", help="skip the A/A and A/A-shift cells")
    p.add_argument("--machine-only", action="store_true")
    p.add_argument("--list-ops", action="store_true", help="print the op table as this script reads it")
    args = p.parse_args()
    try:
        args.table_ops, args.table_dtypes = load_table()
    except (OSError, ValueError, KeyError) as e:
        emit({"type": "fatal", "reason": f"op table: {type(e).__name__}: {e}"})
        return 2
    if args.list_ops:
        emit(describe_table(args.table_ops, args.table_dtypes))
        return 0
    ops, dtypes = args.table_ops, args.table_dtypes
    args.ops = [o for o in args.ops.split(",") if o] if args.ops else default_ops(ops)
    args.dtypes = [d for d in args.dtypes.split(",") if d]
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    bad = [o for o in args.ops if o not in ops] + [d for d in args.dtypes if d not in dtypes]
    bad += [f"{o}/{d}" for o in args.ops if o in ops for d in args.dtypes if d not in ops[o]["dtypes"]]
    if bad or any(s <= 0 for s in args.sizes) or args.subsamples < 1:
        emit({"type": "fatal", "reason": f"unknown op/dtype or bad size: {bad or args.sizes}; ops: {list(ops)}"})
        return 2
    try:
        import raptors
    except Exception as e:  # noqa: BLE001
        hint = ("; build it with `maturin develop --release -m raptors-py/Cargo.toml` in this venv"
                if isinstance(e, ModuleNotFoundError) else "")
        emit({"type": "fatal", "reason": f"cannot import raptors ({type(e).__name__}: {e}){hint}"})
        return 2
    try:
        active = str(raptors.simd_level())
    except Exception as e:  # noqa: BLE001 - e.g. RAPTORS_SIMD names a level this CPU lacks
        emit({"type": "fatal", "reason": f"RAPTORS_SIMD={os.environ.get('RAPTORS_SIMD')}: {type(e).__name__}: {e}"})
        return 2
    if args.level != "auto" and active != args.level:
        emit({"type": "fatal", "reason": f"asked for level {args.level} but raptors runs {active}"})
        return 2
    emit(machine_info(raptors))
    if args.machine_only:
        emit({"type": "done"})
        return 0
    cells = plan(args)
    emit({"type": "plan", "cells": [c["id"] for c in cells]})
    compare_cells, compare_rounds_s = 0, 0.0  # the time bank (see MEAN_CAP_FACTOR)
    try:
        for i, spec in enumerate(cells):
            emit({"type": "cell_start", "id": spec["id"]})
            try:
                limit_s = None
                if spec["kind"] == "compare":
                    limit_s = rounds_limit_s(args.cell_budget_s, compare_cells, compare_rounds_s)
                cell = run_cell(spec, args, raptors, args.seed + i, limit_s)
                if spec["kind"] == "compare":
                    compare_cells += 1
                    compare_rounds_s += cell["rounds_s"]
                emit(cell)
            except Skip as e:
                emit({"type": "skip", "id": spec["id"], "reason": str(e)})
            except MemoryError as e:
                emit({"type": "skip", "id": spec["id"], "reason": f"MemoryError: {e}"})
    except KeyboardInterrupt:
        emit({"type": "interrupted"})
        return 130
    except Exception as e:  # noqa: BLE001
        emit({"type": "fatal", "reason": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"})
        return 1
    emit({"type": "done"})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C before the cell loop
        emit({"type": "interrupted"})
        sys.exit(130)
