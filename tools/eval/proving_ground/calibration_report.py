"""The calibration part of the proving-ground report (docs/CALIBRATION.md): from
eval/calibration.json (what `geoloc-eval calibrate` fitted on val and calib) and eval/coverage.json
(`geoloc-eval coverage` on test) it writes report/calibration.md with the coverage, sharpness,
reliability and abstention tables (each ECE with its noise floor), and the plots
calibration_reliability.png (P(within t) per answer and threshold, with the band a perfectly
calibrated P lands in) and risk_coverage.png (P(localizable))."""
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


def _noise(n):
    """A reliability diagram's noise floor (eval.proto EceNoise) with the defaults JSON omits."""
    n = n or {}
    return {"median": n.get("median"), "p95": n.get("p95"),
            "share": n.get("share_at_or_above", 0.0) if "median" in n else None,
            "beyond": bool(n.get("beyond_noise", False)),
            "debiased_l2": n.get("debiased_l2", 0.0) if "median" in n else None}


def verdict(noise):
    """Within or beyond the ECE of a perfectly calibrated P with the same confidences."""
    n = _noise(noise)
    if n["median"] is None:
        return "-"
    return "beyond noise" if n["beyond"] else "within noise"


def _short_settings(settings):
    words = settings.split()
    name = {"spherical_kde": "KDE", "nearest": "1-NN"}.get(words[0], words[0])
    return name + (" + classifier (fused)" if "+classifier" in words else "")


def plot_reliability(reports, path):
    """One row per report, one panel per threshold: the observed accuracy per bin against its mean
    probability, with the band (5th-95th percentile) where a perfectly calibrated P's accuracy
    falls in that bin at this sample size; points outside it are drawn red."""
    rows, cols = len(reports), max(len(r["within"]) for r in reports)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.5 * rows), squeeze=False)
    for row, report in zip(axes, reports):
        for ax, w in zip(row, report["within"]):
            rel = w["reliability"]
            total = max(1, sum(int(b.get("count", 0)) for b in rel))
            centres = [(b.get("confidence_lo", 0) + b["confidence_hi"]) / 2 for b in rel]
            width = rel[0]["confidence_hi"] - rel[0].get("confidence_lo", 0)
            ax.bar(centres, [int(b.get("count", 0)) / total for b in rel], width=width * 0.9,
                   color="tab:orange", alpha=0.45, label="share of photos")
            bins = [b for b in rel if int(b.get("count", 0)) > 0]
            x = [b.get("mean_confidence", 0) for b in bins]
            y = [b.get("accuracy", 0) for b in bins]
            n = _noise(w.get("ece_noise"))
            if n["median"] is not None:
                lo = [b.get("band_lo", 0) for b in bins]
                hi = [b.get("band_hi", 0) for b in bins]
                ax.vlines(x, lo, hi, color="tab:gray", alpha=0.55, linewidth=4,
                          label="5-95% of a calibrated P")
                out = [(xi, yi) for xi, yi, l, h in zip(x, y, lo, hi) if yi < l or yi > h]
            else:
                out = []
            ax.plot(x, y, "o-", color="tab:blue", markersize=3.5, linewidth=1, label="observed")
            if out:
                ax.plot([p[0] for p in out], [p[1] for p in out], "o", color="tab:red",
                        markersize=4.5, label="outside the band")
            ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="calibrated")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ax.set_xlabel(f"P(within {_km(w['threshold_km'])})", fontsize=8)
            title = f"{_km(w['threshold_km'])}: ECE {w.get('ece', 0):.3f}"
            if n["median"] is not None:
                title += (f"\ncalibrated P: median {n['median']:.3f}, 95th {n['p95']:.3f}; "
                          f"{verdict(w.get('ece_noise'))}")
            ax.set_title(title, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, alpha=0.3)
        row[0].set_ylabel(f"{_short_settings(report['settings'])}\nobserved share within t",
                          fontsize=8)
        for ax in row[len(report["within"]):]:
            ax.axis("off")
    seen = {}  # one legend for the figure: every label any panel drew
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    fig.legend(list(seen.values()), list(seen.keys()), loc="lower center", ncol=len(seen),
               fontsize=8, frameon=False)
    fig.suptitle(f"Reliability of P(truth within t km of the best estimate), "
                 f"{reports[0]['split']} split, 20 bins; grey: where a perfectly calibrated P "
                 f"with the same probabilities lands (consistency resampling)", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    fig.savefig(path, dpi=100)
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


def _noise_cells(noise):
    n = _noise(noise)
    if n["median"] is None:
        return ["-", "-", "-", "-"]
    return [f"{n['median']:.4f} ({n['p95']:.4f})", f"{100 * n['share']:.1f}%", verdict(noise),
            f"{n['debiased_l2']:.4f}"]


def markdown(calibration, coverage):
    md = ["# Calibration on the proving ground\n",
          "`geoloc-eval calibrate` fitted the score function on the val split and the conformal "
          "scores and isotonic maps on the calib split; everything below is measured on the test "
          "split, which nothing was fitted or tuned on (docs/CALIBRATION.md). Settings ending in "
          "`+classifier` are the fused answer (the database bundle with the HMC classifier).\n"]
    md.append(_table(["settings", "fit split", "calibration split", "score groups", "mixture "
                      "narrow / broad / regional / floor", "broad / regional bandwidth"],
                     [[e["settings"], f"{e['fit_split']['name']} ({e['fit_split']['photos']})",
                       f"{e['calibration_split']['name']} ({e['calibration_split']['photos']})",
                       ", ".join(str(n) for n in e.get("score_group_sizes", [])),
                       f"{e.get('narrow', 0):.3f} / {e.get('broad', 0):.3f} / "
                       f"{e.get('regional', 0):.3f} / {e.get('floor', 0):.4f}",
                       _km(e.get("broad_bandwidth_km", 0)) + " / "
                       + (_km(e["regional_bandwidth_km"]) if e.get("regional", 0) > 0 else "none")]
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
        md.append(_table(["P(within t)", "ECE", "a calibrated P: median (95th pct.)",
                          "draws >= observed", "verdict", "debiased l2 error",
                          "ECE of the raw mass", "mean P", "observed"],
                         [[_km(w["threshold_km"]), _fmt(w.get("ece", 0), 4)] + _noise_cells(
                             w.get("ece_noise")) + [_fmt(w.get("raw_mass_ece", 0), 4),
                                                    _fmt(w.get("mean_probability", 0)),
                                                    _fmt(w.get("frequency", 0))]
                          for w in r["within"]]))
        ln = r.get("localizable_ece_noise")
        floor = ("" if _noise(ln)["median"] is None else
                 f" (a calibrated P: median {_fmt(_noise(ln)['median'], 4)}, 95th percentile "
                 f"{_fmt(_noise(ln)['p95'], 4)}; {verdict(ln)})")
        md.append(f"\nP(localizable) (best estimate within {r['localizable_within_km']:g} km): "
                  f"ECE {_fmt(r.get('localizable_ece', 0), 4)}{floor}. Abstaining below "
                  f"{r.get('abstain_below', 0):g}: {_fmt(r.get('distractors_abstained', 0))} of "
                  f"the distractors abstained, {_fmt(r.get('localized_lost', 0))} of the "
                  f"localized photos lost; {_fmt(r.get('answered', 0))} of all photos answered, "
                  f"of which {_fmt(r.get('answered_risk', 0))} not localized.\n")
    md.append("ECE: 20 equal-width bins. A calibrated P: the ECE a perfectly calibrated P with the "
              "same probabilities scores on these photos (outcomes redrawn as Bernoulli(P), 1,000 "
              "draws, seed 1): its median and 95th percentile; draws >= observed: the share of "
              "those draws at or above the observed ECE (below 5%: beyond noise). Debiased l2 "
              "error: the binned root-mean-square calibration error with each bin's sampling "
              "variance removed (Kumar, Liang and Ma 2019), never below the true ECE of the same "
              "bins (docs/CALIBRATION.md).\n")
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
    plot_reliability(coverage["reports"], os.path.join(out, "calibration_reliability.png"))
    plot_risk_coverage(coverage["reports"], os.path.join(out, "risk_coverage.png"))
    partial = os.path.join(out, "calibration.md.partial")
    with open(partial, "w") as f:
        f.write(markdown(calibration, coverage))
    os.replace(partial, os.path.join(out, "calibration.md"))
