"""Unit tests of the comparison runner's sampling rules (no timing: a fake clock stands in)."""
import json
import math
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import compare_runner as cr  # noqa: E402


def bootstrap_se_of_log_median(ratios, resamples=2000, seed=1):
    rng = random.Random(seed)
    logs = [math.log(r) for r in ratios]
    meds = [statistics.median(rng.choices(logs, k=len(logs))) for _ in range(resamples)]
    return statistics.pstdev(meds)


def test_se_matches_mad_rule_on_bell_shaped_rounds():
    rng = random.Random(7)
    ratios = [math.exp(rng.gauss(0.0, 0.02)) for _ in range(400)]
    se = cr.median_ratio_se(ratios, [1.0] * len(ratios))
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
    se = cr.median_ratio_se(ratios, [1.0] * len(ratios))
    boot = bootstrap_se_of_log_median(ratios)
    assert mad_se < 0.6 * boot, "the case must be one the MAD rule gets wrong"
    assert se > 0.7 * boot, (se, boot, mad_se)


def test_se_uses_both_sides_of_the_pair():
    ref = [2.0, 2.2, 1.8, 2.1, 1.9] * 10
    assert cr.median_ratio_se(ref, ref) == 0.0
    assert cr.median_ratio_se(ref, [2.0] * len(ref)) > 0.0


def test_lead_in_calls():
    assert cr.lead_in_calls(100, 0.0) == 0
    assert cr.lead_in_calls(cr.LEAD_IN_MIN_CALLS - 1, 0.125) == 0
    assert cr.lead_in_calls(cr.LEAD_IN_MIN_CALLS, 0.125) == 2
    assert cr.lead_in_calls(100, 0.125) == 13
    assert cr.lead_in_calls(5000, 0.125) == 625


class FakeClock:
    """perf_counter_ns that advances only when a fake batch runs."""

    def __init__(self):
        self.now = 0

    def __call__(self):
        return self.now


def test_calibrate_sizes_each_side_to_the_sample_time(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(cr.time, "perf_counter_ns", clock)

    def batch(n, cost_ns):
        clock.now += n * cost_ns

    sides = ({"cost_ns": 10_000}, {"cost_ns": 2_000})  # NumPy-like 10 µs, Raptors-like 2 µs
    (n_slow, n_fast), calls = cr.calibrate((batch, batch), sides, target_ns=500_000, warmup_ns=1_000_000)
    assert (n_slow, n_fast) == (50, 250)
    assert calls > 0


def test_time_batch_leaves_lead_in_calls_untimed(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(cr.time, "perf_counter_ns", clock)
    ran = []

    def batch(n, cost_ns):
        ran.append(n)
        clock.now += n * cost_ns

    assert cr.time_batch(batch, 10, {"cost_ns": 100}, lead_in=3) == 1000
    assert ran == [3, 10]


def test_se_sees_a_long_side_of_a_skewed_sample():
    # 57 tight rounds and a 43 % tail 2-6 % above them: the interval of the median is narrow below
    # it and wide above it; the estimate follows the wide side.
    rng = random.Random(11)
    ratios = [math.exp(rng.gauss(0.0, 0.002)) for _ in range(57)]
    ratios += [math.exp(rng.uniform(0.02, 0.06)) for _ in range(43)]
    logs = sorted(math.log(r) for r in ratios)
    n, med = len(logs), statistics.median(logs)
    z = cr.DECISION_Z
    half = z * math.sqrt(n) / 2
    below = (med - logs[math.floor(n / 2 - half)]) / z
    above = (logs[math.ceil(n / 2 + half) - 1] - med) / z
    assert above > 3 * below, "the case must be skewed"
    assert cr.median_ratio_se(ratios, [1.0] * n) >= above


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
    se = cr.median_ratio_se(ratios, [1.0] * n)
    assert se > 0.01, se


class Args:
    def __init__(self, **kw):
        self.max_rounds, self.min_rounds, self.target_se = 2000, 30, 0.005
        self.__dict__.update(kw)


def test_time_bank_lends_unused_time_to_later_cells_only():
    budget = 0.8
    cap, mean = cr.HARD_CAP_FACTOR * budget, cr.MEAN_CAP_FACTOR * budget
    # First cell: its own share; quiet cells before bank time, up to the hard cap.
    assert cr.rounds_limit_s(budget, 0, 0.0) == mean
    assert cr.rounds_limit_s(budget, 10, 10 * 0.3) == cap
    assert math.isclose(cr.rounds_limit_s(budget, 2, 2 * mean - 0.1), mean + 0.1)
    # Noisy cells before used it up: still the budget itself, never less.
    assert cr.rounds_limit_s(budget, 5, 5 * cap) == budget


def test_matrix_time_is_bounded_by_the_bank():
    # Every cell as noisy as it gets (never precise): the total stays within one budget of
    # MEAN_CAP_FACTOR budgets per cell.
    budget, used = 0.8, 0.0
    for k in range(50):
        used += cr.rounds_limit_s(budget, k, used)
    assert used <= 50 * cr.MEAN_CAP_FACTOR * budget + budget


def test_stop_reasons():
    args = Args()
    quiet = [1.0] * 40
    noisy = [math.exp(0.2 * math.sin(i)) for i in range(40)]
    # Too few rounds or too little time: go on.
    assert cr.stop_reason(quiet[:20], quiet[:20], 1.0, 0.8, 2.4, args) is None
    assert cr.stop_reason(quiet, quiet, 0.1, 0.8, 2.4, args) is None
    # Precise enough after a quarter of the budget.
    assert cr.stop_reason(quiet, quiet, 0.3, 0.8, 2.4, args) == "precision"
    # Not precise: on past the budget, until the limit.
    assert cr.stop_reason(noisy, quiet, 1.0, 0.8, 2.4, args) is None
    assert cr.stop_reason(noisy, quiet, 2.4, 0.8, 2.4, args) == "time_limit"
    # A very slow side stops at the limit after HARD_MIN_ROUNDS, not before.
    few = noisy[: cr.HARD_MIN_ROUNDS]
    assert cr.stop_reason(few[:-1], quiet[: len(few) - 1], 9.0, 0.8, 2.4, args) is None
    assert cr.stop_reason(few, quiet[: len(few)], 9.0, 0.8, 2.4, args) == "time_limit"
    assert cr.stop_reason(noisy, quiet, 0.3, 0.8, 2.4, Args(max_rounds=40)) == "max_rounds"
    # Fixed budget (target_se 0).
    assert cr.stop_reason(quiet, quiet, 0.3, 0.8, 2.4, Args(target_se=0)) is None
    assert cr.stop_reason(quiet, quiet, 0.8, 0.8, 2.4, Args(target_se=0)) == "budget"


def test_op_table_is_read_from_ops_json():
    ops, dtypes = cr.load_table()
    assert set(dtypes) == {"f32", "f64"} and dtypes["f64"]["np"].itemsize == 8
    assert cr.default_ops(ops) == [
        "sum", "mean", "mean_axis0", "mean_axis1", "broadcast_add_row", "broadcast_add_col",
        "add", "add_out", "scale", "scale_out", "add_tiny"]
    for op in ops.values():
        assert op["numpy"] and op["raptors"], op["name"]
    assert cr.op_shape(ops["add_tiny"], 512) == (8,)
    assert cr.op_shape(ops["add"], 512) == (512, 512)
    assert ops["add_out"]["out"] and not ops["add"]["out"]


def test_op_table_path_can_be_overridden(tmp_path, monkeypatch):
    ops, _ = cr.load_table()
    with open(cr.ops_path()) as f:
        table = json.load(f)
    table["ops"] = [op for op in table["ops"] if op["name"] == "sum"]
    path = tmp_path / "ops.json"
    path.write_text(json.dumps(table))
    monkeypatch.setenv(cr.OPS_ENV, str(path))
    assert list(cr.load_table()[0]) == ["sum"]
    table["schema"] = "something/else"
    path.write_text(json.dumps(table))
    try:
        cr.load_table()
        raise AssertionError("a table with another schema must be refused")
    except ValueError as e:
        assert "schema" in str(e)


def test_plan_takes_shapes_from_the_table():
    ops, dtypes = cr.load_table()
    args = Args(table_ops=ops, table_dtypes=dtypes, quick=True, no_self_check=True, level="auto",
                dtypes=["f32"], ops=["add", "add_tiny"], sizes=[64, 128])
    cells = cr.plan(args)
    assert [(c["id"], c["shape"]) for c in cells] == [
        ("add/f32/64/auto", [64, 64]), ("add/f32/128/auto", [128, 128]), ("add_tiny/f32/8/auto", [8])]
