#!/usr/bin/env python3
"""Time two Raptors builds (an old revision's and the current one) against each other in one
process, with NumPy as the fixed reference; emit one JSON object per line on stdout.

Driven by raptors-bench (src/evidence/against.rs), which computes the statistics and the verdicts.

    python against_runner.py --old-path DIR --ops sum,add --dtypes f32 --sizes 512

DIR holds the old build's `raptors` package (`pip install --target DIR`). Both extension modules are
named `raptors`; each `.so` has its own pyo3 statics, so both can live in one process. The old one
is imported under its own name with DIR first on sys.path; its sys.modules entries are then
removed (the module objects stay alive through our reference) and the current `raptors` is imported
normally — sys.modules never holds both under one key.

Order is layout. The build imported first loads first, and the build checked first allocates its
result buffers first (Raptors keeps large ones for reuse, so a cell's first call places them for the
whole run). Measured with two copies of one build: broadcast_add_row f64 1024² (DRAM-bound) ran
0.86-0.97x in every process where the old copy went first and 1.13-1.30x where the current one did.
`--first` picks the build that goes first in both; raptors-bench alternates it between runner
processes (an even number) and resamples the processes in its intervals, so such a layout widens
the interval instead of posing as an effect. The old side needs nothing but the `raptors` module API
the op table's expressions use.

Method per cell (compare_runner's, with three sides): build seeded inputs once (both builds get
views of NumPy's arrays, each its own output buffer), check each build against NumPy (the `--first`
build first), calibrate a batch per side, then rounds. In each round every side is timed
--subsamples times in a mirrored order with NumPy between the two builds (old, numpy, new, new,
numpy, old or the reverse, first build random); each sample is preceded by untimed lead-in calls of
its own side, however long a call is (without them a one-call sample measures whatever the other
side left in the caches: an A/A run put single samples 0.63-1.07x apart), and each side keeps its
fastest sub-sample. With helper threads (RAPTORS_THREADS is not 1), the runner waits
HELPER_SETTLE_S before a build's sample that follows the other build's, so the other build's
helpers have parked (they spin ~1 ms after a call and would take the second core); single-threaded
there is nothing to wait for. Rounds stop on the precision of the old/new ratio (the stopping rule
and time bank of timing.py), never on a verdict.

Lines: {"type": "machine", ...}, {"type": "plan", "cells": [...]}, {"type": "cell", "op", "dtype",
"shape", "numpy_ns", "old_ns", "new_ns", "check_old", "check_new", ...}, {"type": "skip", "id",
"reason"}, then {"type": "done"} or {"type": "fatal", "reason"}.
"""
import argparse
import gc
import importlib
import os
import random
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import bench_ops  # noqa: E402  (the op table, inputs, checks, batches)
import compare_runner as cr  # noqa: E402  (the protocol)
import machine_facts  # noqa: E402  (the load average)
import timing  # noqa: E402  (calibration, samples, the stopping rule and time bank)

NAME = "raptors"


def owned(name):
    return [k for k in sys.modules if k == name or k.startswith(name + ".")]


def import_isolated(path, name=NAME):
    """`name` as found first in `path`, without leaving it in sys.modules (see the docstring)."""
    saved = {k: sys.modules.pop(k) for k in owned(name)}
    sys.path.insert(0, path)
    try:
        module = importlib.import_module(name)
        if not os.path.realpath(module.__file__).startswith(os.path.realpath(path)):
            raise ImportError(f"{name} was found at {module.__file__}, not in {path}")
        return module
    finally:
        sys.path.remove(path)
        for k in owned(name):
            del sys.modules[k]
        sys.modules.update(saved)


def extension_file(module):
    """The shared object behind a `raptors` package (or the module itself)."""
    for value in vars(module).values():
        f = getattr(value, "__file__", None) if isinstance(value, type(sys)) else None
        if f and f.endswith(".so"):
            return os.path.realpath(f)
    f = getattr(module, "__file__", "") or ""
    return os.path.realpath(f)


def run_cell(spec, args, old, new, seed, limit_s):
    op, dtype = args.table_ops[spec["op"]], spec["dtype"]
    shape = tuple(spec["shape"])
    dt = args.table_dtypes[dtype]["np"]
    np_side = bench_ops.numpy_inputs(dt, shape, np.random.default_rng(seed), (op,))
    # The --first build gets its arrays first and makes the first call, so its result buffers
    # are placed first (see the docstring).
    order = ("old", "new") if args.first == "old" else ("new", "old")
    modules = {"old": old, "new": new}
    # Views of the same NumPy inputs for both builds: two copies could differ in page size,
    # alignment or cache residency and bias the comparison.
    build_sides = {label: bench_ops.raptors_side(modules[label], np_side, (op,)) for label in order}
    np_side.update(mod=np, state={})
    checks = {}
    for label in order:
        side = build_sides[label]
        try:
            checks[label] = bench_ops.check(op, np_side, side, dtype)
        except bench_ops.Skip as e:
            checks[label] = f"cannot run: {e}"
    if any(c.startswith("cannot run") for c in checks.values()):
        raise bench_ops.Skip("; ".join(f"{k}: {v}" for k, v in checks.items() if v.startswith("cannot run")))
    batches = {"numpy": bench_ops.make_op_batch(op, "numpy"), "old": bench_ops.make_op_batch(op, "raptors"),
               "new": bench_ops.make_op_batch(op, "raptors")}
    sides = {"numpy": np_side, **build_sides}
    names = ["numpy", "old", "new"]
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        calls, warm = timing.calibrate([batches[s] for s in names], [sides[s] for s in names],
                                       args.target_sample_ms * 1e6, args.warmup_ms * 1e6)
        n = dict(zip(names, calls))
        lead = {s: timing.lead_in_calls(n[s], args.lead_in, min_calls=0) for s in names}
        settle_s = 0.0 if os.environ.get("RAPTORS_THREADS") == "1" else timing.HELPER_SETTLE_S
        order_rng = random.Random(seed)
        times = {s: [] for s in names}
        last_build = None
        budget = args.cell_budget_s
        time.sleep(settle_s)
        t_start = time.perf_counter()
        while True:
            reason = timing.stop_reason(times["old"], times["new"], time.perf_counter() - t_start,
                                        budget, limit_s, args)
            if reason:
                break
            first = "old" if order_rng.random() < 0.5 else "new"
            second = "new" if first == "old" else "old"
            base = [first, "numpy", second]
            order = []
            for i in range(args.subsamples):
                order += base if i % 2 == 0 else base[::-1]
            best = {s: None for s in names}
            for s in order:
                if s != "numpy":
                    if last_build not in (None, s) and settle_s:
                        time.sleep(settle_s)
                    last_build = s
                t = timing.time_batch(batches[s], n[s], sides[s], lead[s])
                best[s] = t if best[s] is None else min(best[s], t)
            for s in names:
                times[s].append(best[s] / n[s])
        rounds_s = time.perf_counter() - t_start
    finally:
        gc.enable()
    return {
        "type": "cell", "id": spec["id"], "op": op["name"], "dtype": dtype, "shape": list(shape),
        "numpy_ns": times["numpy"], "old_ns": times["old"], "new_ns": times["new"],
        "calls_per_sample": n, "lead_in_calls": lead, "warmup_calls": warm,
        "check_old": checks["old"], "check_new": checks["new"],
        "rounds_s": rounds_s, "elapsed_s": time.perf_counter() - started,
        "stop_reason": reason, "rounds_limit_s": limit_s, "subsamples": args.subsamples,
    }


def main():
    cr._PROTO, sys.stdout = sys.stdout, sys.stderr
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old-path", required=True, help="directory holding the old build's raptors package")
    p.add_argument("--ops", required=True)
    p.add_argument("--dtypes", default="f32,f64")
    p.add_argument("--sizes", default="512,1024")
    p.add_argument("--target-sample-ms", type=float, default=0.5)
    p.add_argument("--subsamples", type=int, default=2)
    p.add_argument("--lead-in", type=float, default=0.125)
    p.add_argument("--warmup-ms", type=float, default=15.0)
    p.add_argument("--cell-budget-s", type=float, default=0.25)
    p.add_argument("--target-se", type=float, default=0.005)
    p.add_argument("--min-rounds", type=int, default=20)
    p.add_argument("--max-rounds", type=int, default=2000)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--first", choices=("old", "new"), default="old",
                   help="the build imported and checked first (load addresses and the placement of"
                        " its result buffers follow the order; raptors-bench alternates it between"
                        " runner processes)")
    args = p.parse_args()
    try:
        args.table_ops, args.table_dtypes = bench_ops.load_table()
        if args.first == "new":
            new = importlib.import_module(NAME)
            old = import_isolated(args.old_path)
        else:
            old = import_isolated(args.old_path)
            new = importlib.import_module(NAME)
    except Exception as e:  # noqa: BLE001 - reported to the parent
        cr.emit({"type": "fatal", "reason": f"{type(e).__name__}: {e}"})
        return 2
    old_file, new_file = extension_file(old), extension_file(new)
    if old_file == new_file:
        cr.emit({"type": "fatal", "reason": f"both builds load the same file {old_file}"})
        return 2
    level = {}
    for label, mod in (("old", old), ("new", new)):
        try:
            level[label] = str(mod.simd_level())
        except Exception as e:  # noqa: BLE001 - an old build may lack it
            level[label] = f"unknown ({type(e).__name__}: {e})"
    cr.emit({"type": "machine", "old_extension": old_file, "new_extension": new_file,
             "first": args.first,
             "old_simd_level": level["old"], "new_simd_level": level["new"],
             "numpy": np.__version__, "python": sys.version.split()[0],
             "threads": os.environ.get("RAPTORS_THREADS"), "load_before": machine_facts.read_loadavg()})
    ops = [o for o in args.ops.split(",") if o]
    dtypes = [d for d in args.dtypes.split(",") if d]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    bad = [o for o in ops if o not in args.table_ops]
    if bad:
        cr.emit({"type": "fatal", "reason": f"unknown ops {bad}; known: {list(args.table_ops)}"})
        return 2
    cells = []
    for dtype in dtypes:
        for name in ops:
            op = args.table_ops[name]
            if dtype not in op["dtypes"]:
                continue
            for shape in ([op["shape"]] if op["shape"] else [[s, s] for s in sizes]):
                cells.append({"id": f"{name}/{dtype}/{'x'.join(map(str, shape))}", "op": name,
                              "dtype": dtype, "shape": shape})
    cr.emit({"type": "plan", "cells": [c["id"] for c in cells]})
    done, used = 0, 0.0
    try:
        for i, spec in enumerate(cells):
            try:
                limit = timing.rounds_limit_s(args.cell_budget_s, done, used)
                cell = run_cell(spec, args, old, new, args.seed + i, limit)
                done, used = done + 1, used + cell["rounds_s"]
                cr.emit(cell)
            except bench_ops.Skip as e:
                cr.emit({"type": "skip", "id": spec["id"], "reason": str(e)})
    except Exception as e:  # noqa: BLE001
        cr.emit({"type": "fatal", "reason": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"})
        return 1
    cr.emit({"type": "done", "load_after": machine_facts.read_loadavg()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
