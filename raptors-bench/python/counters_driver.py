#!/usr/bin/env python3
"""Run one benchmark op a given number of times, for perf stat / valgrind (no output, no timing).

usage: counters_driver.py SIDE OP DTYPE SIZE ITERS     (SIDE: numpy | raptors)

The setup is identical for every op of a (side, dtype, size): all arrays are built whatever the op,
so one run with OP=none (setup only) is the common baseline and (run(op, K) - run(none)) / K is the
per-call cost, first-call effects (lazy initialisation, first page faults) averaged over K calls.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import compare_runner as cr  # noqa: E402  (shares the op table)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    side, op, dtype, size, iters = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    if (op not in cr.OPS and op != "none") or dtype not in cr.DTYPES or side not in ("numpy", "raptors"):
        sys.exit(f"unknown side/op/dtype {side}/{op}/{dtype}")
    tiny = op == "add_tiny" or size == 8  # size 8 = the 1-D per-call-overhead setup
    shape = (8,) if tiny else (size, size)
    m, n = (1, 8) if tiny else shape
    dt = cr.DTYPES[dtype]
    rng = np.random.default_rng(0)
    env = {
        "x": rng.uniform(0.5, 1.5, size=shape).astype(dt),
        "y": rng.uniform(0.5, 1.5, size=shape).astype(dt),
        "row": rng.uniform(0.5, 1.5, size=(n,)).astype(dt),
        "col": rng.uniform(0.5, 1.5, size=(m, 1)).astype(dt),
        "o": np.empty(shape, dtype=dt),
        "mod": np,
    }
    if side == "raptors":
        import raptors

        env = {k: (v if k == "mod" else raptors.asarray(v)) for k, v in env.items()}
        env["mod"] = raptors
    if op != "none":
        cr.make_batch(cr.OPS[op][0])(iters, **env)


if __name__ == "__main__":
    main()
