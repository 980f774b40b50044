"""What the confidence regions' cell budget buys (docs/CALIBRATION.md "Cost"): from `geoloc-eval
coverage --json` runs of one test split under several `--region_cells_per_level` budgets, a
Markdown table (the calibrate stage's mean time per answer, and per level the coverage of the
cells shown, of the exact set and the median area) and a plot of median area against time per
level, with the issue's 1 ms goal marked.

  PYTHONPATH=tools/eval /usr/bin/python3 -m proving_ground.region_budget \\
      --run 1000=kde-1000.json --run 250=kde-250.json --estimator spherical_kde --out budget.png
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .calibration_report import _table  # noqa: E402

GOAL_MS = 1.0  # the goal: calibration adds under 1 ms per Locate


def load(runs, estimator):
    """[(budget, report)] sorted by budget, the report of `estimator` from each run's JSON."""
    out = []
    for run in runs:
        budget, _, path = run.partition("=")
        if not budget.isdigit() or not path:
            raise SystemExit(f"region_budget: --run wants BUDGET=FILE, got '{run}'")
        with open(path) as f:
            reports = json.load(f)["reports"]
        mine = [r for r in reports if r["settings"].split()[0] == estimator]
        if not mine:
            raise SystemExit(f"region_budget: {path} has no report of {estimator}")
        out.append((int(budget), mine[0]))
    return sorted(out, key=lambda x: -x[0])


def table(rows):
    levels = [lv["level"] for lv in rows[0][1]["levels"]]
    head = ["cells per region", "calibrate ms / answer"] + [
        f"{round(100 * a)}%: shown / exact, median km²" for a in levels]
    body = [[f"{budget:,}", f"{r['calibrate_ms_per_answer']:.2f}"]
            + [f"{lv['coverage']:.3f} / {lv['exact_coverage']:.3f}, {lv['median_area_km2']:,.0f}"
               for lv in r["levels"]]
            for budget, r in rows]
    return _table(head, body)


def plot(rows, title, path):
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ms = [r["calibrate_ms_per_answer"] for _, r in rows]
    for j, lv in enumerate(rows[0][1]["levels"]):
        areas = [r["levels"][j]["median_area_km2"] for _, r in rows]
        ax.plot(ms, areas, marker="o", label=f"{round(100 * lv['level'])}% region")
        if j == 0:
            for (budget, _), x, y in zip(rows, ms, areas):
                ax.annotate(f"{budget:,} cells", (x, y), textcoords="offset points",
                            xytext=(4, -12), fontsize=8)
    ax.axvline(GOAL_MS, color="grey", linestyle="--", linewidth=1)
    ax.text(GOAL_MS, ax.get_ylim()[1], " goal: 1 ms", va="top", fontsize=8, color="grey")
    ax.set_xlim(0, max(max(ms), GOAL_MS) * 1.15)
    ax.set_yscale("log")
    ax.set_xlabel("calibrate stage, ms per answer (mean, one core)")
    ax.set_ylabel("median region area, km² (cells shown)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", action="append", required=True, help="BUDGET=coverage.json")
    p.add_argument("--estimator", default="spherical_kde")
    p.add_argument("--title", default="Region cell budget: time against sharpness")
    p.add_argument("--out", required=True, help="the PNG to write")
    args = p.parse_args(argv)
    rows = load(args.run, args.estimator)
    plot(rows, args.title, args.out)
    sys.stdout.write(table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
