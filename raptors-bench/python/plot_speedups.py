#!/usr/bin/env python3
"""Plot per-cell speedups (NumPy time / Raptors time) with their 95 % CIs from a results JSON.

usage: plot_speedups.py RESULTS.json OUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"faster": "tab:green", "slower": "tab:red", "no_difference": "tab:gray"}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        res = json.load(f)
    cells = [c for c in res["cells"] if c["kind"] == "compare"]
    if not cells:
        sys.exit("no compare cells in " + sys.argv[1])
    dtypes = sorted({c["dtype"] for c in cells})
    levels = sorted({c["level"] for c in cells}, key=lambda lv: (lv != "auto", lv))
    groups = [(d, lv) for lv in levels for d in dtypes]
    rows = max(sum(1 for c in cells if (c["dtype"], c["level"]) == g) for g in groups)
    height = max(3.0, 0.22 * rows + 1.2)
    fig, axes = plt.subplots(len(levels), len(dtypes), figsize=(7.0 * len(dtypes), height * len(levels)), squeeze=False)
    for ax, (dtype, level) in zip(axes.flat, groups):
        sub = [c for c in cells if c["dtype"] == dtype and c["level"] == level]
        # cells in another regime than the steady state are named by it (`[cache-cold]`)
        labels = [f'{c["op"]} {"×".join(map(str, c["shape"]))}'
                  + (f' [{c["regime"]}]' if c.get("regime", "hot") != "hot" else "") for c in sub]
        ys = range(len(sub))
        for y, c in zip(ys, sub):
            s = c["stats"]
            ax.errorbar(s["speedup"], y, xerr=[[s["speedup"] - s["ci_low"]], [s["ci_high"] - s["speedup"]]],
                        fmt="o", color=COLORS.get(s["verdict"], "black"), capsize=3, ms=4)
            ax.annotate(f'{s["speedup"]:.2f}x', (s["speedup"], y), textcoords="offset points", xytext=(6, 3), fontsize=7)
        ax.axvline(1.0, color="black", lw=0.8, ls="--")
        ax.set_yticks(list(ys))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("speedup = NumPy time / Raptors time (log scale, 95 % CI)")
        ax.set_title(f"{dtype}, Raptors level {level}")
        ax.grid(axis="x", which="both", alpha=0.3)
    m = res["machine"]
    fig.suptitle(f'Raptors {m.get("raptors_version")} ({m.get("raptors_simd_level")}) vs NumPy {m.get("numpy_version")} '
                 f'— {res["machine_tag"]} — {res["date"][:10]} @ {res["git"]["commit"][:9]}', fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
