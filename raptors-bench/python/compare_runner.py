#!/usr/bin/env python3
"""Time Raptors against NumPy in the same process; emit one JSON object per line on stdout.

Driven by `raptors-bench compare` (which computes the statistics); usable alone for debugging:
    python compare_runner.py --ops sum,add --dtypes f32 --sizes 512

Method per cell: build the arrays, check both sides give the same answer, warm up and calibrate a
batch size per side so each timed sample lasts >= --target-sample-ms, then run rounds; in each round
each side is timed --subsamples times in a mirrored random order (ABBA / BAAB, paired,
interleaved), each sample preceded by a few untimed lead-in calls of the same side (--lead-in), and
the round keeps each side's fastest sub-sample (how many slower ones were >20 % off is counted).
That is the `hot` regime; the op table's other regimes change what a sample is and what precedes
it (`timing.Prelude`: other work, or reading a buffer larger than the last-level cache), the same
for both sides. CPU time (this thread's clock around each timed sample; Raptors's helper threads'
clocks over each round) is recorded next to wall time. Rounds stop on precision (the stopping rule
in timing.py), never on the verdict. GC is disabled while timing. Each finished cell is printed and
flushed immediately, so Ctrl-C loses at most the cell in progress.

This script holds the protocol, the plan of cells and a cell's rounds; the op table, operands and
check are in bench_ops.py, the machine record in machine_facts.py, the timing in timing.py.

Lines: {"type": "machine", ...}, {"type": "plan", "cells": [...]}, {"type": "cell_start", "id"},
{"type": "cell", ...}, {"type": "skip", "id", "reason"}, then {"type": "done"} or
{"type": "interrupted"} or {"type": "fatal", "reason"}.
"""
import argparse
import gc
import json
import os
import random
import sys
import time
import traceback

import numpy as np

import bench_ops
import machine_facts
import timing

# The protocol stream; main() points sys.stdout at stderr so a library printing to stdout cannot
# corrupt it (not at import: tests import this module).
_PROTO = sys.stdout


def emit(obj):
    _PROTO.write(json.dumps(obj) + "\n")
    _PROTO.flush()


def prepare_sides(spec, args, raptors, seed):
    """Arrays and check status for a cell; the regimes of one op/dtype/shape share them (the
    previous cell's are reused when they match)."""
    op, dtype, kind = args.table_ops[spec["op"]], spec["dtype"], spec["kind"]
    key = (spec["op"], dtype, tuple(spec["shape"]), kind)
    cached = getattr(args, "sides_cache", None)
    if cached and cached[0] == key:
        return cached[1]
    args.sides_cache = None
    rng = np.random.default_rng(seed)
    np_side, r_side = bench_ops.build_sides(args.table_dtypes[dtype]["np"], tuple(spec["shape"]), raptors, rng,
                                            (op,))
    if kind == "compare":
        status = bench_ops.check(op, np_side, r_side, dtype)
    else:
        status = "ok (A/A: both sides NumPy)"
    args.sides_cache = (key, (np_side, r_side, status))
    return np_side, r_side, status


def run_cell(spec, args, raptors, seed, limit_s=None):
    """One cell's rounds; `limit_s` is its time limit from the bank (None: timing.HARD_CAP_FACTOR budgets)."""
    op, dtype, kind = args.table_ops[spec["op"]], spec["dtype"], spec["kind"]
    regime = args.table_regimes[spec["regime"]]
    shape = tuple(spec["shape"])
    np_side, r_side, status = prepare_sides(spec, args, raptors, seed)
    if kind == "compare":
        cand, cand_expr, cand_batch = r_side, op["raptors"], bench_ops.make_op_batch(op, "raptors")
    else:
        cand, cand_expr, cand_batch = np_side, op["numpy"], bench_ops.make_op_batch(op, "numpy")
    expr = op["numpy"]
    batch = bench_ops.make_op_batch(op, "numpy")
    clocks = args.clocks
    prelude = timing.Prelude(regime, args.resources) if regime.get("calls") else None
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        warmup_ns = args.warmup_ms * 1e6
        (n, n_cand), warm = timing.calibrate((batch, cand_batch), (np_side, cand), args.target_sample_ms * 1e6,
                                             warmup_ns)
        factor = None
        if prelude is not None:
            # A sample is the regime's fixed number of calls on both sides, after its prelude.
            n = n_cand = regime["calls"]
        elif kind == "aa_shift":
            n = max(n, n_cand, 100)  # same batch on both sides; >= 100 so 3 % is whole extra calls
            n_cand = round(n * args.inject_factor)
            factor = n_cand / n
        if prelude is None:
            lead_ref, lead_cand = timing.lead_in_calls(n, args.lead_in), timing.lead_in_calls(n_cand, args.lead_in)
        else:
            lead_ref = lead_cand = 0
        order_rng = random.Random(seed)
        ref_ns, cand_ns, cand_first = [], [], 0
        ref_cpu, cand_cpu, helper_cpu = [], [], []
        slow_ref = slow_cand = 0
        k = args.subsamples
        # Self-check cells always get the full-mode budget, so their verdict means the same in
        # --quick and full runs (it is the evidence for the 3 % resolution).
        budget = args.cell_budget_s if kind == "compare" else max(args.cell_budget_s, timing.AA_MIN_BUDGET_S)
        if limit_s is None:
            limit_s = timing.HARD_CAP_FACTOR * budget
        helpers_counted = kind == "compare"
        time.sleep(timing.HELPER_SETTLE_S)  # the warm-up's helper spinning is not this cell's rounds'
        clocks.helpers_delta()
        t_start = time.perf_counter()
        while True:
            reason = timing.stop_reason(ref_ns, cand_ns, time.perf_counter() - t_start, budget, limit_s, args)
            if reason:
                break
            # k sub-samples per side in a mirrored order (ABBA or BAAB for k=2, first side random):
            # a preemption that hits one sub-sample does not decide the round.
            cand_starts = order_rng.random() < 0.5
            cand_first += cand_starts
            rs, cs, rc, cc = [], [], 0, 0
            for i in range(k):
                for side_is_cand in ((True, False) if (i % 2 == 0) == cand_starts else (False, True)):
                    if side_is_cand:
                        wall, cpu = timing.time_sample(cand_batch, n_cand, cand, lead_cand, prelude, clocks)
                        cs.append(wall)
                        cc += cpu
                    else:
                        wall, cpu = timing.time_sample(batch, n, np_side, lead_ref, prelude, clocks)
                        rs.append(wall)
                        rc += cpu
            r, c = min(rs), min(cs)
            slow_ref += sum(1 for v in rs if v > 1.2 * r)
            slow_cand += sum(1 for v in cs if v > 1.2 * c)
            cand_div = n if kind == "aa_shift" else n_cand
            ref_ns.append(r / n)
            # aa_shift: divided by n, not n_cand: that is the injected slowdown
            cand_ns.append(c / cand_div)
            # CPU per call: this thread over all sub-samples; the helper threads' CPU over the
            # round (contiguous with the next one), spread over every call Raptors made in it.
            helpers = clocks.helpers_delta() if helpers_counted else 0
            ref_cpu.append(rc / (k * n))
            helper_cpu.append(helpers / (k * (n_cand + lead_cand)))
            cand_cpu.append(cc / (k * cand_div) + helper_cpu[-1])
        rounds_s = time.perf_counter() - t_start
        if helpers_counted and helper_cpu:
            # The spinning after the last round's Raptors sample belongs to this cell too.
            time.sleep(timing.HELPER_SETTLE_S)
            tail = clocks.helpers_delta() / (k * (n_cand + lead_cand))
            helper_cpu[-1] += tail
            cand_cpu[-1] += tail
    finally:
        gc.enable()
    cell = {
        # bytes_per_call is added by raptors-bench from the op table (src/ops.rs)
        "type": "cell", "id": spec["id"], "op": op["name"], "dtype": dtype, "shape": list(shape),
        "level": args.level, "regime": regime["name"], "kind": kind, "expr": expr, "cand_expr": cand_expr,
        "reference": "numpy", "candidate": "raptors" if kind == "compare" else "numpy",
        "calls_per_sample": n, "cand_calls_per_sample": n_cand,
        "ref_ns": ref_ns, "cand_ns": cand_ns, "cand_first_rounds": cand_first,
        "check": status, "warmup_calls": warm, "elapsed_s": time.perf_counter() - started,
        "subsamples": args.subsamples, "lead_in_calls": lead_ref, "cand_lead_in_calls": lead_cand,
        "slow_subsamples_ref": slow_ref, "slow_subsamples_cand": slow_cand,
        "rounds_s": rounds_s,
        "stop_se": timing.median_ratio_se(ref_ns, cand_ns) if len(ref_ns) >= 2 else None,
        "stop_reason": reason, "rounds_limit_s": limit_s,
        "ref_cpu_ns": ref_cpu, "cand_cpu_ns": cand_cpu,
        "cpu_clock": {"clock": clocks.kind, "window_overhead_ns": clocks.overhead_ns,
                "helpers_counted": helpers_counted and clocks.kind == "thread_clocks",
                "threads": clocks.thread_names()},
    }
    if helpers_counted and clocks.kind == "thread_clocks":
        cell["cand_helper_cpu_ns"] = helper_cpu
    if prelude is not None:
        cell["regime_setup"] = prelude.describe()
    if factor is not None:
        cell["injected_factor"] = factor
    return cell


def cell_regimes(args, default_on, listed=()):
    """Regimes a cell is measured in: `--regimes` when given (every cell), else the table's
    defaults: `all` regimes everywhere, `headline` and the cell's `listed` ones on headline cells."""
    if args.regimes is not None:
        return list(args.regimes)
    return [name for name, r in args.table_regimes.items()
            if r["default_on"] in default_on or (r["default_on"] == "listed" and name in listed)]


def size_label(shape, square):
    """Cell ids name the square size, or a shape's dimensions ("8", "64x16384", "1048576")."""
    return shape[0] if square else "x".join(map(str, shape))


def level_skips(args):
    """Requested ops the op table does not measure at this process's level (in-place ops: `auto`
    only), as skip records: named, never silently dropped."""
    out = []
    for name in args.ops:
        levels = args.table_ops[name].get("levels")
        if levels is not None and args.level not in levels:
            out.append({"type": "skip", "id": f"{name}/{args.level}",
                        "reason": f"the op table measures `{name}` at levels {levels} only"})
    return out


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
        cells.append({"id": f"{kind}:{op}/{dtype}/{size}/{args.level}/{bench_ops.HOT}", "op": op, "dtype": dtype,
                      "shape": [size, size], "kind": kind, "regime": bench_ops.HOT})
    # (op, dtype, shape, square) -> regimes, in the order cells are measured
    entries = {}
    for dtype in args.dtypes:
        for name in args.ops:
            op = args.table_ops[name]
            if op.get("levels") is not None and args.level not in op["levels"]:
                continue
            shapes = [op["shape"]] if op["shape"] else [[s, s] for s in args.sizes]
            for shape in shapes:
                entries[(name, dtype, tuple(shape), not op["shape"])] = cell_regimes(args, ("all",))
    if args.headline is not None and args.level == "auto":
        for h in args.table_headline:
            if h["dtype"] not in args.dtypes or (args.headline != "all" and h["op"] not in args.headline):
                continue
            shape = tuple(h["shape"])
            key = (h["op"], h["dtype"], shape, len(shape) == 2 and shape[0] == shape[1]
                   and not args.table_ops[h["op"]]["shape"])
            regimes = entries.setdefault(key, [])
            for r in cell_regimes(args, ("all", "headline"), h["regimes"]):
                if r not in regimes:
                    regimes.append(r)
    order = list(args.table_regimes)
    for (name, dtype, shape, square), regimes in entries.items():
        for regime in sorted(regimes, key=order.index):
            cells.append({"id": f"{name}/{dtype}/{size_label(shape, square)}/{args.level}/{regime}",
                          "op": name, "dtype": dtype, "shape": list(shape), "kind": "compare", "regime": regime})
    # Each regime other than `hot` in use gets its A/A cell (full mode): the same prelude on both
    # sides must not favour either of them.
    used = [r for r in order if r != bench_ops.HOT and any(c["regime"] == r for c in cells)]
    if aa and not args.quick:
        cells[len(aa):len(aa)] = [{"id": f"aa:sum/f32/512/{args.level}/{r}", "op": "sum", "dtype": "f32",
                                   "shape": [512, 512], "kind": "aa", "regime": r} for r in used]
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
                        "(at least 2; one before a shorter sample); 0 = off")
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
    p.add_argument("--regimes", default=None,
                   help="comma-separated regimes, each measured on every cell (default: the op table's: "
                        "hot everywhere, the headline regimes on headline cells)")
    p.add_argument("--headline", default=None,
                   help="add the op table's headline cells: `all`, or those of these comma-separated ops")
    p.add_argument("--quick", action="store_true", help="fewer A/A cells")
    p.add_argument("--no-self-check", action="store_true", help="skip the A/A and A/A-shift cells")
    p.add_argument("--machine-only", action="store_true")
    p.add_argument("--list-ops", action="store_true", help="print the op table as this script reads it")
    args = p.parse_args()
    try:
        args.table_ops, args.table_dtypes = bench_ops.load_table()
        args.table_regimes, args.table_headline = bench_ops.load_regimes()
    except (OSError, ValueError, KeyError) as e:
        emit({"type": "fatal", "reason": f"op table: {type(e).__name__}: {e}"})
        return 2
    if args.list_ops:
        emit(bench_ops.describe_table(args.table_ops, args.table_dtypes, args.table_regimes, args.table_headline))
        return 0
    args.regimes = [r for r in args.regimes.split(",") if r] if args.regimes else None
    if args.headline not in (None, "all"):
        args.headline = [o for o in args.headline.split(",") if o]
    bad_regimes = [r for r in args.regimes or [] if r not in args.table_regimes]
    if bad_regimes or args.regimes == []:
        emit({"type": "fatal", "reason": f"unknown regime(s) {bad_regimes}; known: {list(args.table_regimes)}"})
        return 2
    ops, dtypes = args.table_ops, args.table_dtypes
    args.ops = [o for o in args.ops.split(",") if o] if args.ops else bench_ops.default_ops(ops)
    args.dtypes = [d for d in args.dtypes.split(",") if d]
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    bad = [o for o in args.ops if o not in ops] + [d for d in args.dtypes if d not in dtypes]
    bad += [f"{o}/{d}" for o in args.ops if o in ops for d in args.dtypes if d not in ops[o]["dtypes"]]
    bad += [o for o in (args.headline if isinstance(args.headline, list) else []) if o not in ops]
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
    machine = machine_facts.machine_info(raptors)
    emit(machine)
    if args.machine_only:
        emit({"type": "done"})
        return 0
    args.clocks = timing.CpuClocks()
    args.resources = timing.Resources(machine["caches"])
    cells = plan(args)
    emit({"type": "plan", "cells": [c["id"] for c in cells]})
    for skip in level_skips(args):
        emit(skip)
    compare_cells, compare_rounds_s = 0, 0.0  # the time bank (see timing.MEAN_CAP_FACTOR)
    try:
        for i, spec in enumerate(cells):
            emit({"type": "cell_start", "id": spec["id"]})
            try:
                limit_s = None
                if spec["kind"] == "compare":
                    limit_s = timing.rounds_limit_s(args.cell_budget_s, compare_cells, compare_rounds_s)
                cell = run_cell(spec, args, raptors, args.seed + i, limit_s)
                if spec["kind"] == "compare":
                    compare_cells += 1
                    compare_rounds_s += cell["rounds_s"]
                emit(cell)
            except bench_ops.Skip as e:
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
