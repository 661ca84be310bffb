"""Unit tests of the comparison runner and its modules (bench_ops, machine_facts, timing): the sampling
rules, the op table, the plan, regimes and clocks (no timing asserted: a fake clock stands in)."""
import json
import math
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import bench_ops  # noqa: E402
import compare_runner as cr  # noqa: E402
import machine_facts  # noqa: E402
import timing  # noqa: E402


def bootstrap_se_of_log_median(ratios, resamples=2000, seed=1):
    rng = random.Random(seed)
    logs = [math.log(r) for r in ratios]
    meds = [statistics.median(rng.choices(logs, k=len(logs))) for _ in range(resamples)]
    return statistics.pstdev(meds)


def test_se_matches_mad_rule_on_bell_shaped_rounds():
    rng = random.Random(7)
    ratios = [math.exp(rng.gauss(0.0, 0.02)) for _ in range(400)]
    se = timing.median_ratio_se(ratios, [1.0] * len(ratios))
    boot = bootstrap_se_of_log_median(ratios)
    assert 0.7 * boot < se < 1.5 * boot, (se, boot)


def test_se_is_not_fooled_by_bimodal_rounds():
    # Two tight clusters 7 % apart, split 55/45: the MAD is small (most points sit in a cluster)
    # but the median jumps between clusters from one resample to the next.
    rng = random.Random(3)
    ratios = [math.exp(rng.gauss(0.0, 0.004)) for _ in range(55)]
    ratios += [math.exp(rng.gauss(-0.07, 0.004)) for _ in range(45)]
    rng.shuffle(ratios)
    logs = sorted(math.log(r) for r in ratios)
    med = statistics.median(logs)
    mad_se = 1.2533 * 1.4826 * statistics.median(abs(v - med) for v in logs) / math.sqrt(len(logs))
    se = timing.median_ratio_se(ratios, [1.0] * len(ratios))
    boot = bootstrap_se_of_log_median(ratios)
    assert mad_se < 0.6 * boot, "the case must be one the MAD rule gets wrong"
    assert se > 0.7 * boot, (se, boot, mad_se)


def test_se_uses_both_sides_of_the_pair():
    ref = [2.0, 2.2, 1.8, 2.1, 1.9] * 10
    assert timing.median_ratio_se(ref, ref) == 0.0
    assert timing.median_ratio_se(ref, [2.0] * len(ref)) > 0.0


def test_lead_in_calls():
    assert timing.lead_in_calls(100, 0.0) == 0
    assert timing.lead_in_calls(timing.LEAD_IN_MIN_CALLS - 1, 0.125) == 1
    assert timing.lead_in_calls(1, 0.125) == 1
    assert timing.lead_in_calls(1, 0.0) == 0
    assert timing.lead_in_calls(timing.LEAD_IN_MIN_CALLS, 0.125) == 2
    assert timing.lead_in_calls(100, 0.125) == 13
    assert timing.lead_in_calls(5000, 0.125) == 625


class FakeClock:
    """perf_counter_ns that advances only when a fake batch runs."""

    def __init__(self):
        self.now = 0

    def __call__(self):
        return self.now


def test_calibrate_sizes_each_side_to_the_sample_time(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter_ns", clock)

    def batch(n, cost_ns):
        clock.now += n * cost_ns

    sides = ({"cost_ns": 10_000}, {"cost_ns": 2_000})  # NumPy-like 10 µs, Raptors-like 2 µs
    (n_slow, n_fast), calls = timing.calibrate((batch, batch), sides, target_ns=500_000, warmup_ns=1_000_000)
    assert (n_slow, n_fast) == (50, 250)
    assert calls > 0


def test_time_batch_leaves_lead_in_calls_untimed(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter_ns", clock)
    ran = []

    def batch(n, cost_ns):
        ran.append(n)
        clock.now += n * cost_ns

    assert timing.time_batch(batch, 10, {"cost_ns": 100}, lead_in=3) == 1000
    assert ran == [3, 10]


def test_se_sees_a_long_side_of_a_skewed_sample():
    # 57 tight rounds and a 43 % tail 2-6 % above them: the interval of the median is narrow below
    # it and wide above it; the estimate follows the wide side.
    rng = random.Random(11)
    ratios = [math.exp(rng.gauss(0.0, 0.002)) for _ in range(57)]
    ratios += [math.exp(rng.uniform(0.02, 0.06)) for _ in range(43)]
    logs = sorted(math.log(r) for r in ratios)
    n, med = len(logs), statistics.median(logs)
    z = timing.DECISION_Z
    half = z * math.sqrt(n) / 2
    below = (med - logs[math.floor(n / 2 - half)]) / z
    above = (logs[math.ceil(n / 2 + half) - 1] - med) / z
    assert above > 3 * below, "the case must be skewed"
    assert timing.median_ratio_se(ratios, [1.0] * n) >= above


def test_se_reaches_a_minority_cluster_the_decision_interval_reaches():
    # 50 of 125 rounds in a state 15 % slower (as recorded for add f32 512² at level scalar), the median
    # in the main cluster a few ranks from its edge: a 95 % interval of the median stays inside the
    # main cluster, the verdict's 99 % interval reaches the other one, and so must the estimate.
    rng = random.Random(5)
    ratios = [math.exp(rng.gauss(0.0, 0.002)) for _ in range(75)]
    ratios += [math.exp(rng.gauss(-0.15, 0.004)) for _ in range(50)]
    logs = sorted(math.log(r) for r in ratios)
    n = len(logs)
    lo95 = logs[math.floor(n / 2 - 1.96 * math.sqrt(n) / 2)]
    assert lo95 > -0.02, "the case must be one a 95 % interval misses"
    se = timing.median_ratio_se(ratios, [1.0] * n)
    assert se > 0.01, se


class Args:
    def __init__(self, **kw):
        self.max_rounds, self.min_rounds, self.target_se = 2000, 30, 0.005
        self.__dict__.update(kw)


def test_time_bank_lends_unused_time_to_later_cells_only():
    budget = 0.8
    cap, mean = timing.HARD_CAP_FACTOR * budget, timing.MEAN_CAP_FACTOR * budget
    # First cell: its own share; quiet cells before bank time, up to the hard cap.
    assert timing.rounds_limit_s(budget, 0, 0.0) == mean
    assert timing.rounds_limit_s(budget, 10, 10 * 0.3) == cap
    assert math.isclose(timing.rounds_limit_s(budget, 2, 2 * mean - 0.1), mean + 0.1)
    # Noisy cells before used it up: still the budget itself, never less.
    assert timing.rounds_limit_s(budget, 5, 5 * cap) == budget


def test_matrix_time_is_bounded_by_the_bank():
    # Every cell as noisy as it gets (never precise): the total stays within one budget of
    # MEAN_CAP_FACTOR budgets per cell.
    budget, used = 0.8, 0.0
    for k in range(50):
        used += timing.rounds_limit_s(budget, k, used)
    assert used <= 50 * timing.MEAN_CAP_FACTOR * budget + budget


def test_stop_reasons():
    args = Args()
    quiet = [1.0] * 40
    noisy = [math.exp(0.2 * math.sin(i)) for i in range(40)]
    # Too few rounds or too little time: go on.
    assert timing.stop_reason(quiet[:20], quiet[:20], 1.0, 0.8, 2.4, args) is None
    assert timing.stop_reason(quiet, quiet, 0.1, 0.8, 2.4, args) is None
    # Precise enough after a quarter of the budget.
    assert timing.stop_reason(quiet, quiet, 0.3, 0.8, 2.4, args) == "precision"
    # Not precise: on past the budget, until the limit.
    assert timing.stop_reason(noisy, quiet, 1.0, 0.8, 2.4, args) is None
    assert timing.stop_reason(noisy, quiet, 2.4, 0.8, 2.4, args) == "time_limit"
    # A very slow side stops at the limit after HARD_MIN_ROUNDS, not before.
    few = noisy[: timing.HARD_MIN_ROUNDS]
    assert timing.stop_reason(few[:-1], quiet[: len(few) - 1], 9.0, 0.8, 2.4, args) is None
    assert timing.stop_reason(few, quiet[: len(few)], 9.0, 0.8, 2.4, args) == "time_limit"
    assert timing.stop_reason(noisy, quiet, 0.3, 0.8, 2.4, Args(max_rounds=40)) == "max_rounds"
    # Fixed budget (target_se 0).
    assert timing.stop_reason(quiet, quiet, 0.3, 0.8, 2.4, Args(target_se=0)) is None
    assert timing.stop_reason(quiet, quiet, 0.8, 0.8, 2.4, Args(target_se=0)) == "budget"


def test_op_table_is_read_from_ops_json():
    ops, dtypes = bench_ops.load_table()
    assert set(dtypes) == {"f32", "f64"} and dtypes["f64"]["np"].itemsize == 8
    assert bench_ops.default_ops(ops) == [
        "sum", "mean", "mean_axis0", "mean_axis1", "broadcast_add_row", "broadcast_add_col",
        "add", "add_out", "scale", "scale_out", "add_tiny", "iadd", "isub", "imul", "idiv",
        "iadd_scalar", "isub_scalar", "imul_scalar", "idiv_scalar"]
    for op in ops.values():
        assert op["numpy"] and op["raptors"], op["name"]
    assert bench_ops.op_shape(ops["add_tiny"], 512) == (8,)
    assert bench_ops.op_shape(ops["add"], 512) == (512, 512)
    assert ops["add_out"]["out"] and not ops["add"]["out"]


def test_op_table_path_can_be_overridden(tmp_path, monkeypatch):
    ops, _ = bench_ops.load_table()
    with open(bench_ops.ops_path()) as f:
        table = json.load(f)
    table["ops"] = [op for op in table["ops"] if op["name"] == "sum"]
    path = tmp_path / "ops.json"
    path.write_text(json.dumps(table))
    monkeypatch.setenv(bench_ops.OPS_ENV, str(path))
    assert list(bench_ops.load_table()[0]) == ["sum"]
    table["schema"] = "something/else"
    path.write_text(json.dumps(table))
    try:
        bench_ops.load_table()
        raise AssertionError("a table with another schema must be refused")
    except ValueError as e:
        assert "schema" in str(e)


def test_plan_takes_shapes_from_the_table():
    ops, dtypes = bench_ops.load_table()
    regimes, headline = bench_ops.load_regimes()
    args = Args(table_ops=ops, table_dtypes=dtypes, table_regimes=regimes, table_headline=headline,
                quick=True, no_self_check=True, level="auto", regimes=None, headline=None,
                dtypes=["f32"], ops=["add", "add_tiny"], sizes=[64, 128])
    cells = cr.plan(args)
    assert [(c["id"], c["shape"]) for c in cells] == [
        ("add/f32/64/auto/hot", [64, 64]), ("add/f32/128/auto/hot", [128, 128]),
        ("add_tiny/f32/8/auto/hot", [8])]


# --- In-place ops, timing regimes, CPU clocks (mechanics only; nothing here asserts a timing) ---

import threading  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402

import numpy as np  # noqa: E402

TESTING = os.path.join(os.path.dirname(__file__), "..", "testing")


def stand_in():
    """The stand-in `raptors` module (NumPy itself) from python/testing, loaded from its file under
    a name of its own: the real `raptors` may already be imported in this pytest session."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("raptors_stand_in", os.path.join(TESTING, "raptors.py"))
    raptors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(raptors)
    assert raptors.__version__ == "fake-numpy"
    return raptors


def test_inplace_calls_alternate_with_their_undo_across_batches():
    ops, dtypes = bench_ops.load_table()
    op = ops["imul"]
    assert op["inplace"] == {"target": "x", "undo": "x *= y_inv"}
    np_side, _ = bench_ops.build_sides(dtypes["f64"]["np"], (4, 4), stand_in(), np.random.default_rng(1), [op])
    x0 = np_side["x"].copy()
    batch = bench_ops.make_op_batch(op, "numpy")
    for n in (3, 1, 4, 7, 1, 1000, 5):  # odd batches: the parity must carry over
        batch(n, **np_side)
    # 1021 calls: the last one is pending undo, so x is x0 * y, up to rounding.
    assert np_side["state"]["imul"] == 1
    np.testing.assert_allclose(np_side["x"], x0 * np_side["y"], rtol=1e-12)
    batch(1, **np_side)
    np.testing.assert_allclose(np_side["x"], x0, rtol=1e-12)
    assert np_side["state"]["imul"] == 0


def test_inplace_scalar_ops_stay_finite_over_many_calls():
    ops, dtypes = bench_ops.load_table()
    for name in ("iadd_scalar", "isub_scalar", "imul_scalar", "idiv_scalar", "iadd", "isub", "idiv"):
        op = ops[name]
        side, _ = bench_ops.build_sides(dtypes["f32"]["np"], (8,), stand_in(), np.random.default_rng(2), [op])
        x0 = side["x"].copy()
        bench_ops.make_op_batch(op, "numpy")(20_001, **side)
        bench_ops.make_op_batch(op, "numpy")(1, **side)  # even count: back where it started
        assert np.all(np.isfinite(side["x"])), name
        np.testing.assert_allclose(side["x"], x0, rtol=1e-3, err_msg=name)


def test_inplace_sides_write_their_own_target_and_check_compares_it():
    ops, dtypes = bench_ops.load_table()
    raptors = stand_in()
    op = ops["iadd"]
    np_side, r_side = bench_ops.build_sides(dtypes["f32"]["np"], (16, 16), raptors, np.random.default_rng(3), [op])
    assert r_side["x"] is not np_side["x"] and not np.shares_memory(r_side["x"], np_side["x"])
    assert "y_neg" in np_side and "y_inv" not in np_side
    assert bench_ops.check(op, np_side, r_side, "f32") == "ok"
    # Run again with one side a call ahead: the check settles the alternation first.
    bench_ops.make_op_batch(op, "numpy")(1, **np_side)
    assert bench_ops.check(op, np_side, r_side, "f32") == "ok"


def test_regime_table_matches_the_documented_regimes():
    regimes, headline = bench_ops.load_regimes()
    assert list(regimes) == ["hot", "after-idle", "cache-cold", "burst"]
    assert regimes["hot"]["calls"] is None and regimes["hot"]["default_on"] == "all"
    assert regimes["after-idle"]["calls"] == 1 and regimes["after-idle"]["work_ms"] >= 2.0
    assert regimes["cache-cold"]["evict_llc_multiple"] >= 2.0
    assert regimes["burst"]["calls"] == 20 and regimes["burst"]["work_ms"] == 4.0
    cells = {(h["op"], h["dtype"], tuple(h["shape"])) for h in headline}
    for issue_cell in [("min", "f32", (1024, 1024)), ("mean_axis0", "f32", (64, 16384)),
                       ("add", "f32", (1048576,)), ("div", "f64", (1024, 1024)),
                       ("imul_scalar", "f32", (2048, 2048)), ("sum", "f32", (1024, 1024))]:
        assert issue_cell in cells, issue_cell


def plan_args(**kw):
    ops, dtypes = bench_ops.load_table()
    regimes, headline = bench_ops.load_regimes()
    base = dict(table_ops=ops, table_dtypes=dtypes, table_regimes=regimes, table_headline=headline,
                quick=True, no_self_check=True, level="auto", dtypes=["f32", "f64"], ops=["sum", "imul"],
                sizes=[64], regimes=None, headline=None)
    base.update(kw)
    return Args(**base)


def test_plan_default_is_hot_everywhere_and_no_headline_without_asking():
    cells = cr.plan(plan_args())
    assert {c["regime"] for c in cells} == {"hot"}
    assert [c["id"] for c in cells] == ["sum/f32/64/auto/hot", "imul/f32/64/auto/hot",
                                        "sum/f64/64/auto/hot", "imul/f64/64/auto/hot"]


def test_plan_headline_cells_get_their_regimes_at_the_auto_level_only():
    cells = cr.plan(plan_args(headline="all", dtypes=["f32"], ops=["sum"], sizes=[1024]))
    by_cell = {}
    for c in cells:
        by_cell.setdefault((c["op"], tuple(c["shape"])), []).append(c["regime"])
    # the matrix cell sum f32 1024² is a headline cell: merged, not measured twice
    assert by_cell[("sum", (1024, 1024))] == ["hot", "after-idle", "cache-cold", "burst"]
    assert by_cell[("add", (1048576,))] == ["hot", "after-idle", "cache-cold"]
    assert by_cell[("mean_axis0", (64, 16384))] == ["hot", "after-idle", "cache-cold"]
    assert ("div", (1024, 1024)) not in by_cell  # f64 only, not requested
    assert "add/f32/1048576/auto/cache-cold" in [c["id"] for c in cells]
    # Headline cells of named ops only; none at a forced level; in-place ops only at auto.
    named = cr.plan(plan_args(headline=["add"], dtypes=["f32"], ops=["add"], sizes=[64]))
    assert {c["op"] for c in named} == {"add"} and len({tuple(c["shape"]) for c in named}) == 3
    forced = cr.plan(plan_args(headline="all", level="avx2"))
    assert {(c["op"], c["regime"]) for c in forced} == {("sum", "hot")}


def test_ops_not_measured_at_a_forced_level_are_named_not_dropped():
    args = plan_args(level="scalar", ops=["sum", "imul", "idiv_scalar"])
    assert {c["op"] for c in cr.plan(args)} == {"sum"}
    skips = cr.level_skips(args)
    assert [s["id"] for s in skips] == ["imul/scalar", "idiv_scalar/scalar"]
    assert all(s["type"] == "skip" and "['auto']" in s["reason"] for s in skips)
    assert cr.level_skips(plan_args()) == []


def test_plan_explicit_regimes_apply_to_every_cell_and_get_an_aa_cell_in_full_mode():
    cells = cr.plan(plan_args(regimes=["hot", "cache-cold"], ops=["sum"], dtypes=["f32"],
                              quick=False, no_self_check=False))
    ids = [c["id"] for c in cells]
    assert ids == ["aa:sum/f32/512/auto/hot", "aa:add/f32/1024/auto/hot", "aa_shift:sum/f32/256/auto/hot",
                   "aa:sum/f32/512/auto/cache-cold", "sum/f32/64/auto/hot", "sum/f32/64/auto/cache-cold"]


class FakeTime:
    """Clocks that advance only when the test says so (wall and this thread's CPU together)."""

    def __init__(self):
        self.wall = 0
        self.cpu = 0

    def spend(self, ns, cpu=True):
        self.wall += ns
        if cpu:
            self.cpu += ns


def test_a_sample_times_only_its_calls_not_the_prelude(monkeypatch):
    t = FakeTime()
    monkeypatch.setattr(timing.time, "perf_counter_ns", lambda: t.wall)
    events = []

    def batch(n, cost):
        events.append(("calls", n))
        t.spend(n * cost)

    def prelude():
        events.append(("prelude",))
        t.spend(2_000_000)  # 2 ms of other work

    clocks = types.SimpleNamespace(main_ns=lambda: t.cpu, overhead_ns=0)
    wall, cpu = timing.time_sample(batch, 1, {"cost": 50_000}, 0, prelude, clocks)
    assert (wall, cpu) == (50_000, 50_000)
    assert events == [("prelude",), ("calls", 1)]
    # hot: lead-in calls, no prelude; neither is timed
    events.clear()
    wall, cpu = timing.time_sample(batch, 10, {"cost": 1_000}, 3, None, clocks)
    assert (wall, cpu) == (10_000, 10_000) and events == [("calls", 3), ("calls", 10)]


def test_busy_work_runs_at_least_its_time_on_the_given_clock():
    now = [0]

    def clock():
        now[0] += 100_000  # every read: 0.1 ms later
        return now[0]

    work = timing.BusyWork()
    iterations = work.run(2.0, clock=clock)
    assert iterations == 20 and now[0] >= 2_000_000


def test_eviction_buffer_follows_the_last_level_cache():
    caches = [{"level": 1, "type": "Data", "size_bytes": 32768, "line_bytes": 64},
              {"level": 2, "type": "Unified", "size_bytes": 1 << 19, "line_bytes": 64},
              {"level": 3, "type": "Unified", "size_bytes": 1 << 22, "line_bytes": 64}]
    assert machine_facts.last_level_cache(caches) == (1 << 22, "sysfs L3 Unified")
    size, why = machine_facts.last_level_cache([])
    assert size == machine_facts.FALLBACK_LLC_BYTES and why.startswith("unknown")
    res = timing.Resources(caches)
    prelude = timing.Prelude({"name": "cache-cold", "calls": 1, "work_ms": None, "evict_llc_multiple": 2.0}, res)
    assert prelude.setup == {"calls": 1, "evict_bytes": 2 << 22, "llc_bytes": 1 << 22,
                             "llc_source": "sysfs L3 Unified"}
    ev = prelude.evictor
    assert ev.lines.size == ev.buf.nbytes // 64 and ev.lines.strides == (64,)
    prelude()  # reads the buffer
    assert res.evictor(2.0)[0] is ev  # allocated once per process


def test_thread_clocks_see_another_threads_cpu():
    clocks = timing.CpuClocks()
    if clocks.kind != "thread_clocks":
        import pytest  # noqa: PLC0415
        pytest.skip(f"per-thread CPU clocks unavailable here ({sys.platform})")
    a = time.clock_gettime_ns(timing.thread_cpu_clock(threading.get_native_id()))
    b = time.thread_time_ns()
    assert 0 <= b - a < 50_000_000  # the same clock, read twice
    clocks.helpers_delta()
    done, release = threading.Event(), threading.Event()
    import hashlib  # noqa: PLC0415

    def work():
        data = b"x" * (1 << 20)
        for _ in range(64):
            hashlib.sha256(data).digest()  # releases the GIL: CPU on this thread
        done.set()
        release.wait()

    th = threading.Thread(target=work, name="busy")
    th.start()
    done.wait()
    try:
        assert clocks.helpers_delta() > 0  # the new thread's CPU, counted from its start
        assert len(clocks.thread_names()) >= 1  # OS-level names: Rust names its threads, Python 3.11 does not
    finally:
        release.set()
        th.join()


def test_a_regime_cell_records_what_preceded_its_samples():
    # The stand-in module, a real (tiny) run: the shape of the cell, no timing asserted.
    ops, dtypes = bench_ops.load_table()
    regimes, headline = bench_ops.load_regimes()
    args = Args(table_ops=ops, table_dtypes=dtypes, table_regimes=regimes, table_headline=headline,
                level="auto", target_sample_ms=0.2, warmup_ms=1.0, subsamples=2, lead_in=0.125,
                cell_budget_s=0.02, min_rounds=3, inject_factor=1.03,
                clocks=timing.CpuClocks(),
                resources=timing.Resources([{"level": 2, "type": "Unified", "size_bytes": 1 << 16, "line_bytes": 64}]))
    raptors = stand_in()
    cells = []
    for regime in ("hot", "after-idle", "cache-cold", "burst"):
        spec = {"id": f"imul/f32/32/auto/{regime}", "op": "imul", "dtype": "f32", "shape": [32, 32],
                "kind": "compare", "regime": regime}
        cells.append(cr.run_cell(spec, args, raptors, seed=1))
    hot, idle, cold, burst = cells
    for c in cells:
        n = len(c["ref_ns"])
        assert n >= timing.HARD_MIN_ROUNDS and len(c["cand_ns"]) == len(c["ref_cpu_ns"]) == len(c["cand_cpu_ns"]) == n
        assert c["check"] == "ok" and c["regime"] in c["id"]
        assert c["cpu_clock"]["clock"] in ("thread_clocks", "process_time")
    assert "regime_setup" not in hot and hot["lead_in_calls"] >= 0
    assert idle["calls_per_sample"] == idle["cand_calls_per_sample"] == 1 and idle["lead_in_calls"] == 0
    assert idle["regime_setup"]["work_ms"] == 2.0 and idle["regime_setup"]["work_iterations_median"] > 0
    assert cold["regime_setup"]["evict_bytes"] == 2 << 16 and cold["regime_setup"]["llc_bytes"] == 1 << 16
    assert burst["calls_per_sample"] == 20 and burst["regime_setup"]["work_ms"] == 4.0


def test_simd_flags_are_this_architectures(monkeypatch):
    """Under qemu-user an aarch64 process reads the x86-64 host's /proc/cpuinfo: its AVX flags must
    not be listed as the machine's SIMD flags."""
    flags = ["fp", "asimd", "asimddp", "sve", "avx2", "sse4_2", "fma"]
    monkeypatch.setattr(machine_facts, "read_cpuinfo", lambda: ("cpu", flags, 2))
    for machine, want in (("aarch64", ["asimd", "asimddp", "fp", "sve"]),
                          ("x86_64", ["avx2", "fma", "sse4_2"]), ("riscv64", [])):
        monkeypatch.setattr(machine_facts.platform, "machine", lambda m=machine: m)
        stand_in = types.SimpleNamespace(simd_level=lambda: "scalar")
        assert machine_facts.machine_info(stand_in)["simd_flags"] == want, machine
