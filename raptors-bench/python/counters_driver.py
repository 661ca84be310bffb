#!/usr/bin/env python3
"""Run one benchmark op a given number of times, for perf stat / valgrind (no output, no timing).

usage: counters_driver.py SIDE OP DTYPE SHAPE ITERS     (SIDE: numpy | raptors; SHAPE: 512x512 or 8)

The setup is identical for every op of a (side, dtype, shape): all arrays are built whatever the op,
so one run with OP=none (setup only) is the common baseline and (run(op, K) - run(none)) / K is the
per-call cost, first-call effects (lazy initialisation, first page faults) averaged over K calls.
Ops, expressions and dtypes come from the op table (ops.json, via bench_ops.load_table).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import bench_ops  # noqa: E402  (shares the op table and the array set-up)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    side, op, dtype, shape, iters = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    ops, dtypes = bench_ops.load_table()
    if (op not in ops and op != "none") or dtype not in dtypes or side not in ("numpy", "raptors"):
        sys.exit(f"unknown side/op/dtype {side}/{op}/{dtype}")
    shape = tuple(int(d) for d in shape.split("x"))
    raptors = None
    if side == "raptors":
        import raptors
    served = [ops[op]] if op != "none" else []
    np_side, r_side = bench_ops.build_sides(dtypes[dtype]["np"], shape, raptors or np, np.random.default_rng(0),
                                            served)
    env = r_side if side == "raptors" else np_side
    if op != "none":
        bench_ops.make_op_batch(ops[op], side)(iters, **env)  # in-place ops alternate with their undo


if __name__ == "__main__":
    main()
