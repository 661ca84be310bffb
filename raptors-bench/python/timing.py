"""How the runners time an op: the stopping rule of a cell's rounds (on the precision of its median
speedup, never on the verdict) and the time bank, the batch size calibration, the untimed lead-in
calls, one timed sample (wall clock and this thread's CPU clock), the timing regimes' preludes (other
work, or reading a buffer larger than the last-level cache, before each sample) and the CPU clocks of
Raptors's helper threads.

Used by compare_runner.py (all of it) and against_runner.py (the stopping rule, calibration and
samples). raptors-bench mirrors the stopping rule's constants in src/runner.rs, and a test there
keeps the two in step: change them in both.
"""
import math
import os
import sys
import threading
import time

import numpy as np

import machine_facts

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


def lead_in_calls(n, fraction, min_calls=LEAD_IN_MIN_CALLS):
    """Untimed calls before each timed sample of n calls: max(2, fraction of n); one when the sample
    has fewer than `min_calls` (long) calls; none when fraction is 0 (off).

    One call even for long calls: a sample of one or two calls otherwise starts right after the
    other side's sample, which took Raptors's helper threads past their 1 ms of spinning and, for
    arrays of several MiB, pushed this side's arrays out of the shared last-level cache. The
    timed calls then measured that transition (after-idle with part of the inputs evicted), not
    back-to-back calls."""
    if fraction <= 0:
        return 0
    if n < min_calls:
        return 1
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


# --- Timing regimes (the op table's `regimes`): what precedes each timed sample -----------------

# After the last call of a Raptors sample its helper threads spin this long before they park
# (raptors-kernels helpers.rs); the runner waits a little longer before reading their clocks at the
# edges of a cell's rounds, so a cell is charged the spinning its own calls caused.
HELPER_SETTLE_S = 0.003


class BusyWork:
    """Other work a program does between calls: NumPy element-wise ops on three 8 KiB arrays
    (they stay in L1, so the timed call's inputs stay wherever the previous call left them), for
    at least `ms` by the wall clock. Not sleep: a program computes between calls, and the CPU
    stays busy (no clocking down), while Raptors's helper threads, idle on the other core, park
    after their spin period exactly as they would in such a program."""

    def __init__(self):
        self.a = np.linspace(1.0, 2.0, 1024)
        self.b = np.linspace(2.0, 1.0, 1024)
        self.out = np.empty(1024)

    def run(self, ms, clock=time.perf_counter_ns):
        end = clock() + int(ms * 1e6)
        iterations = 0
        while True:
            np.multiply(self.a, self.b, out=self.out)
            np.add(self.out, self.a, out=self.out)
            iterations += 1
            if clock() >= end:
                return iterations


class Evictor:
    """Reads every cache line of a scratch buffer of `nbytes` (touched once at creation), so the
    lines the timed call needs afterwards come from DRAM."""

    def __init__(self, nbytes, line_bytes=64):
        self.buf = np.ones(max(1, nbytes // 8), dtype=np.float64)
        self.lines = self.buf[:: max(1, line_bytes // 8)]  # one element per cache line

    def run(self):
        return float(self.lines.sum())


class Prelude:
    """What runs, untimed, before each timed sample of a regime (None for `hot`, whose samples
    start after lead-in calls of their own side instead). The same for both sides."""

    def __init__(self, regime, resources):
        self.regime = regime
        self.work_ms = regime.get("work_ms")
        self.evict_multiple = regime.get("evict_llc_multiple")
        self.setup = {"calls": regime.get("calls")}
        self.work = self.evictor = None
        self.last_iterations = []
        if self.work_ms:
            self.work = resources.busy_work()
            self.setup["work_ms"] = self.work_ms
        if self.evict_multiple:
            self.evictor, llc, source = resources.evictor(self.evict_multiple)
            self.setup.update(evict_bytes=self.evictor.buf.nbytes, llc_bytes=llc, llc_source=source)

    def __call__(self):
        if self.work is not None:
            self.last_iterations.append(self.work.run(self.work_ms))
        if self.evictor is not None:
            self.evictor.run()

    def describe(self):
        out = dict(self.setup)
        if self.last_iterations:
            its = sorted(self.last_iterations)
            out["work_iterations_median"] = its[len(its) // 2]
        return out


class Resources:
    """Per-process scratch shared by every cell: the busy-work arrays and the eviction buffer
    (allocated once; its size follows the last-level cache in the machine record)."""

    def __init__(self, caches):
        self.caches = caches
        self._work = None
        self._evictors = {}

    def busy_work(self):
        if self._work is None:
            self._work = BusyWork()
        return self._work

    def evictor(self, multiple):
        llc, source = machine_facts.last_level_cache(self.caches)
        if multiple not in self._evictors:
            line = max([c.get("line_bytes", 64) for c in self.caches or []] or [64])
            self._evictors[multiple] = Evictor(int(multiple * llc), line)
        return self._evictors[multiple], llc, source


# --- CPU clocks and one timed sample ----------------------------------------------------------------

def thread_cpu_clock(tid):
    """Linux clock id of thread `tid`'s CPU time (CPUCLOCK_SCHED | CPUCLOCK_PERTHREAD_MASK):
    reading it brings a thread running on another core up to date, which the process clock
    (time.process_time) does only at scheduler ticks."""
    return ((~tid) << 3) | 6


class CpuClocks:
    """CPU time of this (main) thread and of every other thread of the process (Raptors's helper
    threads; NumPy is single-threaded here with OPENBLAS_NUM_THREADS=1), user + system.

    `kind` "thread_clocks": per-thread clocks, exact. "process_time": per-thread clocks are not
    available here, the process clock is read around each sample for both sides instead and
    other threads' time arrives in lumps at scheduler ticks (helpers_delta is then 0)."""

    def __init__(self):
        self.main_tid = threading.get_native_id()
        self.last = {}
        self.kind = "process_time"
        try:
            if sys.platform.startswith("linux"):
                time.clock_gettime_ns(thread_cpu_clock(self.main_tid))
                self.kind = "thread_clocks"
        except (OSError, AttributeError, OverflowError):
            pass
        self.main_ns = time.thread_time_ns if self.kind == "thread_clocks" else time.process_time_ns
        self.overhead_ns = self._window_overhead()

    def _window_overhead(self):
        """Median CPU time of an empty measured window (the clock and timer reads themselves),
        subtracted from every window."""
        vals = []
        for _ in range(101):
            c0 = self.main_ns()
            time.perf_counter_ns()
            time.perf_counter_ns()
            vals.append(self.main_ns() - c0)
        return sorted(vals)[len(vals) // 2]

    def other_threads(self):
        try:
            tids = [int(t) for t in os.listdir("/proc/self/task")]
        except OSError:
            return []
        return [t for t in tids if t != self.main_tid]

    def thread_names(self):
        names = []
        for t in self.other_threads():
            try:
                with open(f"/proc/self/task/{t}/comm") as f:
                    names.append(f.read().strip())
            except OSError:
                continue
        return sorted(names)

    def helpers_delta(self):
        """CPU ns the other threads used since the previous call (a thread seen for the first
        time counts from its start; one that exited keeps its last reading)."""
        if self.kind != "thread_clocks":
            return 0
        total = 0
        for t in self.other_threads():
            try:
                now = time.clock_gettime_ns(thread_cpu_clock(t))
            except OSError:
                continue
            total += now - self.last.get(t, 0)
            self.last[t] = now
        return total


def time_sample(batch, n, side, lead_in, prelude, clocks):
    """One timed sample: the regime's prelude and lead-in calls untimed, then `n` calls timed by the
    wall clock and by this thread's CPU clock. Returns (wall ns, CPU ns)."""
    if prelude is not None:
        prelude()
    if lead_in:
        batch(lead_in, **side)
    c0 = clocks.main_ns()
    t0 = time.perf_counter_ns()
    batch(n, **side)
    t1 = time.perf_counter_ns()
    c1 = clocks.main_ns()
    return t1 - t0, max(0, c1 - c0 - clocks.overhead_ns)
