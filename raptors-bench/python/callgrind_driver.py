#!/usr/bin/env python3
"""Run each op REPS times on NumPy, then on Raptors, separated by marker calls, under callgrind.

usage: callgrind_driver.py --dtype f32 --ops sum,add --size 512 --reps 20 [--seconds S]

`valgrind --tool=callgrind --dump-before=getppid` starts a new profile part at every `os.getppid()`
call (nothing else here calls it), so the parts are: set-up (imports, arrays, one warm-up call of
every op and side), then per op the NumPy part and the Raptors part, then the teardown. raptors-bench
(src/callgrind) reads them in that order. Every array is built during set-up, so a part holds the op's
calls only. Expressions, shapes and dtypes come from the op table (ops.json).

With `--seconds S` each side repeats its batch of REPS calls until S seconds have passed (at least
once) and prints {"window": op, "side", "start", "end"} (time.monotonic()): a real run long enough for
a sampling profiler (`perf record -k CLOCK_MONOTONIC`, src/sampling.rs), which splits its samples
by these windows (NumPy's and Raptors's fall into their own shared objects).

Prints JSON lines on stdout: {"modules": {...}} (the shared objects that ran), {"simd_level": ...},
and {"op", "side", "error"} for a side that raised (its part then holds no calls of the op).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import bench_ops  # noqa: E402  (shares the op table and the array set-up)


def say(obj):
    print(json.dumps(obj), flush=True)


def loaded_modules():
    """Shared objects of NumPy's and Raptors's extension modules that are loaded now."""
    out = {}
    for name, mod in sorted(sys.modules.items()):
        path = getattr(mod, "__file__", None) or ""
        if path.endswith(".so") and (name.startswith("numpy.") or name == "raptors" or name.startswith("raptors.")):
            out[name] = os.path.realpath(path)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", required=True)
    p.add_argument("--ops", required=True)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--seconds", type=float, default=0.0)
    args = p.parse_args()
    ops, dtypes = bench_ops.load_table()
    names = bench_ops.driver_op_names(args, ops, dtypes)
    import raptors

    dt = dtypes[args.dtype]["np"]
    rng = np.random.default_rng(0)
    sides_by_shape = {}
    plan = []
    shapes = {}
    for name in names:
        shapes.setdefault(bench_ops.op_shape(ops[name], args.size), []).append(ops[name])
    for name in names:
        op = ops[name]
        shape = bench_ops.op_shape(op, args.size)
        if shape not in sides_by_shape:
            sides_by_shape[shape] = bench_ops.build_sides(dt, shape, raptors, rng, shapes[shape])
        np_side, r_side = sides_by_shape[shape]
        # in-place ops alternate with their undo statement (op table), so repeated calls stay valid
        plan.append((name, bench_ops.make_op_batch(op, "numpy"), np_side,
                     bench_ops.make_op_batch(op, "raptors"), r_side))

    ok = {}
    for name, np_batch, np_side, r_batch, r_side in plan:  # warm-up, inside the set-up part
        ok[name] = []
        for side, batch, env in (("numpy", np_batch, np_side), ("raptors", r_batch, r_side)):
            try:
                batch(1, **env)
                ok[name].append(True)
            except Exception as exc:  # noqa: BLE001 - reported per op, the other parts still run
                say({"op": name, "side": side, "error": f"{type(exc).__name__}: {exc}"})
                ok[name].append(False)
    say({"modules": loaded_modules()})
    say({"simd_level": str(raptors.simd_level())})
    def repeat(name, side, batch, env):
        start = time.monotonic()  # CLOCK_MONOTONIC, the clock of `perf record -k CLOCK_MONOTONIC`
        batch(args.reps, **env)
        while time.monotonic() < start + args.seconds:
            batch(args.reps, **env)
        if args.seconds > 0:
            say({"window": name, "side": side, "start": start, "end": time.monotonic()})

    for name, np_batch, np_side, r_batch, r_side in plan:
        os.getppid()
        if ok[name][0]:
            repeat(name, "numpy", np_batch, np_side)
        os.getppid()
        if ok[name][1]:
            repeat(name, "raptors", r_batch, r_side)
    os.getppid()


if __name__ == "__main__":
    main()
