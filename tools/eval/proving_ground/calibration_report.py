"""The calibration part of the proving-ground report (docs/CALIBRATION.md): from
eval/calibration.json (what `geoloc-eval calibrate` fitted on val and calib) and eval/coverage.json
(`geoloc-eval coverage` on test) it writes report/calibration.md with the coverage, sharpness,
reliability and abstention tables, and the plots calibration_reliability.png (P(within t) per
threshold) and risk_coverage.png (P(localizable))."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _km(t):
    return f"{t:g} km"


def plot_reliability(report, path):
    within = report["within"]
    fig, axes = plt.subplots(1, len(within), figsize=(3.3 * len(within), 3.7), squeeze=False)
    for ax, w in zip(axes[0], within):
        bins = [b for b in w["reliability"] if int(b.get("count", 0)) > 0]
        total = max(1, sum(int(b["count"]) for b in w["reliability"]))
        centres = [(b["confidence_lo"] + b["confidence_hi"]) / 2 for b in w["reliability"]]
        width = w["reliability"][0]["confidence_hi"] - w["reliability"][0]["confidence_lo"]
        ax.bar(centres, [int(b.get("count", 0)) / total for b in w["reliability"]],
               width=width * 0.9, color="tab:orange", alpha=0.45, label="share of photos")
        ax.plot([b["mean_confidence"] for b in bins], [b["accuracy"] for b in bins], "o-",
                color="tab:blue", markersize=4, label="observed")
        ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="calibrated")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"P(within {_km(w['threshold_km'])})")
        ax.set_title(f"{_km(w['threshold_km'])}: ECE {w['ece']:.3f}", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("observed share within t")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Reliability of P(truth within t km of the best estimate), "
                 f"{report['settings']}, {report['split']} split (20 bins)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_risk_coverage(reports, path):
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for r in reports:
        curve = r["risk_coverage"]
        line, = ax.plot([p.get("coverage", 0) for p in curve], [p.get("risk", 0) for p in curve],
                        label=r["settings"])
        answered = r.get("answered", 0)
        ax.plot([answered], [r.get("answered_risk", 0)], "o", color=line.get_color())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("coverage: share of photos answered (P(localizable) >= threshold)")
    ax.set_ylabel(f"risk: share answered not within {reports[0]['localizable_within_km']:g} km")
    ax.set_title(f"Risk-coverage of P(localizable), {reports[0]['split']} split; dots: abstain "
                 f"below {reports[0].get('abstain_below', 0):g}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(calibration, coverage):
    md = ["# Calibration on the proving ground\n",
          "`geoloc-eval calibrate` fitted the score function on the val split and the conformal "
          "scores and isotonic maps on the calib split; everything below is measured on the test "
          "split, which nothing was fitted or tuned on (docs/CALIBRATION.md). Settings ending in "
          "`+classifier` are the fused answer (the database bundle with the HMC classifier).\n"]
    md.append(_table(["settings", "fit split", "calibration split", "score groups", "mixture "
                      "narrow / broad / floor", "broad bandwidth"],
                     [[e["settings"], f"{e['fit_split']['name']} ({e['fit_split']['photos']})",
                       f"{e['calibration_split']['name']} ({e['calibration_split']['photos']})",
                       ", ".join(str(n) for n in e.get("score_group_sizes", [])),
                       f"{e.get('narrow', 0):.3f} / {e.get('broad', 0):.3f} / "
                       f"{e.get('floor', 0):.4f}", _km(e.get("broad_bandwidth_km", 0))]
                      for e in calibration["entries"]]))
    for r in coverage["reports"]:
        md.append(f"## {r['settings']}\n")
        md.append(f"{r['photos']} test photos, {r['with_place']} with a place, "
                  f"{r.get('distractors', 0)} distractors; calibration "
                  f"{_fmt(r.get('calibrate_ms_per_answer'), 2)} ms per answer.\n")
        md.append(_table(["level", "coverage (cells shown)", "coverage (exact set)",
                          "cells by score group", "median area km²", "whole sphere", "empty"],
                         [[_fmt(l["level"], 2), _fmt(l.get("coverage", 0)),
                           _fmt(l.get("exact_coverage", 0)),
                           ", ".join(_fmt(c) for c in l.get("coverage_by_group", [])),
                           f"{l.get('median_area_km2', 0):,.0f}",
                           _fmt(l.get("whole_sphere_share", 0)), _fmt(l.get("empty_share", 0))]
                          for l in r["levels"]]))
        md.append(f"\nThe naive alternative, a disc of the best estimate's uncalibrated radius: "
                  f"coverage {_fmt(r.get('disc_coverage', 0))}, median area "
                  f"{r.get('disc_median_area_km2', 0):,.0f} km².\n")
        md.append(_table(["P(within t)", "ECE", "ECE of the raw mass", "mean P", "observed"],
                         [[_km(w["threshold_km"]), _fmt(w.get("ece", 0), 4),
                           _fmt(w.get("raw_mass_ece", 0), 4), _fmt(w.get("mean_probability", 0)),
                           _fmt(w.get("frequency", 0))] for w in r["within"]]))
        md.append(f"\nP(localizable) (best estimate within {r['localizable_within_km']:g} km): "
                  f"ECE {_fmt(r.get('localizable_ece', 0), 4)}. Abstaining below "
                  f"{r.get('abstain_below', 0):g}: {_fmt(r.get('distractors_abstained', 0))} of "
                  f"the distractors abstained, {_fmt(r.get('localized_lost', 0))} of the "
                  f"localized photos lost; {_fmt(r.get('answered', 0))} of all photos answered, "
                  f"of which {_fmt(r.get('answered_risk', 0))} not localized.\n")
    md.append("![reliability of P(within t)](calibration_reliability.png)\n")
    md.append("![risk-coverage of P(localizable)](risk_coverage.png)\n")
    return "\n".join(md)


def write(ctx):
    with open(ctx.path("eval", "calibration.json")) as f:
        calibration = json.load(f)
    with open(ctx.path("eval", "coverage.json")) as f:
        coverage = json.load(f)
    # The fused answer's calibration (a bundle with the classifier), when the step made one.
    if os.path.exists(ctx.path("eval", "coverage_fused.json")):
        with open(ctx.path("eval", "calibration_fused.json")) as f:
            calibration["entries"] += json.load(f)["entries"]
        with open(ctx.path("eval", "coverage_fused.json")) as f:
            coverage["reports"] += json.load(f)["reports"]
    out = ctx.path("report")
    os.makedirs(out, exist_ok=True)
    plot_reliability(coverage["reports"][0], os.path.join(out, "calibration_reliability.png"))
    plot_risk_coverage(coverage["reports"], os.path.join(out, "risk_coverage.png"))
    partial = os.path.join(out, "calibration.md.partial")
    with open(partial, "w") as f:
        f.write(markdown(calibration, coverage))
    os.replace(partial, os.path.join(out, "calibration.md"))
