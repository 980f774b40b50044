"""Why a calibrated answer's measured coverage or ECE is off nominal: method flaw or sampling noise.

Reads two `geoloc-eval coverage --per_photo --json` reports of the same calibrated bundle and
settings, one on the calibration split (its scores are the conformal scores the calibration
holds) and one on the test split, and measures, without fitting anything on test:

- ties: the share of photos whose score is the largest one (the truth got only the uniform floor's
  density). A score with such an atom makes every level whose quantile falls on it cover the atom
  wholly: the region is the whole sphere and coverage jumps to 1.
- coverage noise: calib and test are exchangeable only as places (every place's photos are in one
  split, about 3 per place, and they share their neighbours). Pooling both splits' photos, the
  places are re-split at random into a calibration part and a test part of the real sizes, the
  Mondrian quantiles (ceil((n + 1) a)-th smallest score per score group) are taken on the first
  and the coverage measured on the second, many times: the spread of coverage minus nominal is
  what a correct method shows on this proving ground. The same with photos re-split one by one
  shows what the clustering adds.
- ECE noise: the ECE (20 equal-width bins, as core/calibration/reliability.h) of test outcomes
  drawn as Bernoulli(p) from the calibrated probabilities themselves: what a perfectly calibrated
  P(within t) would score at this sample size (photos independent; clustered outcomes only add);
  and the ECE on the test part when the places are re-split as above and the isotonic map from
  the raw predictive mass is refitted on the calibration part (pool adjacent violators, a step
  function where the calibrator interpolates its knots): what the method itself shows here.

  /usr/bin/python3 -m proving_ground.calibration_diagnostics CALIB.json TEST.json [--settings S]
      [--json OUT]

Pure numpy; deterministic (seeded).
"""
import argparse
import json
import math
import sys

import numpy as np

LEVELS = (0.5, 0.68, 0.9, 0.95)
BINS = 20


def _report(path, settings):
    with open(path) as f:
        reports = json.load(f)["reports"]
    for r in reports:
        if settings is None or r["settings"] == settings:
            if not r.get("per_photo"):
                raise SystemExit(f"{path}: no per_photo outcomes (run coverage with --per_photo)")
            return r
    raise SystemExit(f"{path}: no report for settings {settings!r}")


def _with_place(report):
    rows = [p for p in report["per_photo"] if p.get("has_place")]
    score = np.array([p.get("score", 0.0) for p in rows])
    group = np.array([p.get("score_group", 0) for p in rows], dtype=int)
    place = [p.get("place", "") for p in rows]
    return score, group, place, rows


def conformal_quantile(sorted_scores, level):
    """The ceil((n + 1) level)-th smallest score (infinity when that rank exceeds n)."""
    n = len(sorted_scores)
    rank = math.ceil((n + 1) * level - 1e-12)
    return math.inf if rank > n or n == 0 else sorted_scores[rank - 1]


def coverage(cal_score, cal_group, test_score, test_group, level, groups):
    covered = 0
    for g in range(groups):
        q = conformal_quantile(np.sort(cal_score[cal_group == g]), level)
        covered += int(np.sum(test_score[test_group == g] <= q))
    return covered / len(test_score)


def ece(p, hit):
    b = np.minimum(BINS - 1, (p * BINS).astype(int))
    total = 0.0
    for k in range(BINS):
        m = b == k
        if m.any():
            total += abs(hit[m].mean() - p[m].mean()) * m.sum()
    return total / len(p)


def isotonic_fit(x, y):
    """Pool adjacent violators: the non-decreasing step function of least squares, as a callable."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order].astype(float)
    blocks = []  # [sum, count, right x]
    for xi, yi in zip(xs, ys):
        blocks.append([yi, 1.0, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s_, c_, r_ = blocks.pop()
            blocks[-1][0] += s_
            blocks[-1][1] += c_
            blocks[-1][2] = r_
    right = np.array([b[2] for b in blocks])
    value = np.array([b[0] / b[1] for b in blocks])

    def f(q):
        i = np.minimum(np.searchsorted(right, q, side="left"), len(value) - 1)
        return value[i]
    return f


def resampled_ece(raw, hit, units, n_cal_units, rng, repeats):
    """Test-part ECE of the isotonic map refitted on a random calibration part of the units."""
    unique = np.unique(units)
    out = np.zeros(repeats)
    for r in range(repeats):
        cal = np.isin(units, rng.choice(unique, size=n_cal_units, replace=False))
        f = isotonic_fit(raw[cal], hit[cal])
        floor = 1.0 / (cal.sum() + 1)
        out[r] = ece(np.clip(f(raw[~cal]), floor, 1 - floor), hit[~cal])
    return out


def resampled_coverage(score, group, units, n_cal_units, groups, rng, repeats):
    """Coverage minus nominal per level when `units` (place or photo ids) are re-split at random."""
    unique = np.unique(units)
    out = np.zeros((repeats, len(LEVELS)))
    for r in range(repeats):
        cal_units = rng.choice(unique, size=n_cal_units, replace=False)
        cal = np.isin(units, cal_units)
        for j, a in enumerate(LEVELS):
            out[r, j] = coverage(score[cal], group[cal], score[~cal], group[~cal], a, groups) - a
    return out


def diagnose(calib, test, repeats=1000, seed=1):
    c_score, c_group, c_place, _ = _with_place(calib)
    t_score, t_group, t_place, t_rows = _with_place(test)
    groups = int(max(c_group.max(), t_group.max())) + 1
    top = max(c_score.max(), t_score.max())
    result = {"settings": test["settings"], "calib_photos": len(c_score),
              "test_photos": len(t_score), "groups": groups}
    result["ties_at_floor"] = {
        "calib": float(np.mean(np.abs(c_score - top) < 1e-9)),
        "test": float(np.mean(np.abs(t_score - top) < 1e-9)),
        "calib_by_group": [float(np.mean(np.abs(c_score[c_group == g] - top) < 1e-9))
                           for g in range(groups)],
    }
    result["observed"] = [coverage(c_score, c_group, t_score, t_group, a, groups) - a
                          for a in LEVELS]
    score = np.concatenate([c_score, t_score])
    group = np.concatenate([c_group, t_group])
    places = np.array([f"c:{p}" for p in c_place] + [f"t:{p}" for p in t_place])
    photos = np.arange(len(score))
    rng = np.random.default_rng(seed)
    n_cal_places = len(set(c_place))
    by_place = resampled_coverage(score, group, places, n_cal_places, groups, rng, repeats)
    by_photo = resampled_coverage(score, group, photos, len(c_score), groups, rng, repeats)
    result["places"] = {"calib": n_cal_places, "test": len(set(t_place))}
    for name, d in (("resplit_by_place", by_place), ("resplit_by_photo", by_photo)):
        result[name] = [{"level": a, "mean": float(d[:, j].mean()), "sd": float(d[:, j].std()),
                         "p2.5": float(np.percentile(d[:, j], 2.5)),
                         "p97.5": float(np.percentile(d[:, j], 97.5)),
                         "share_within_2.5_points": float(np.mean(np.abs(d[:, j]) <= 0.025)),
                         "share_at_least_observed": float(
                             np.mean(d[:, j] >= result["observed"][j] - 1e-12))}
                        for j, a in enumerate(LEVELS)]

    thresholds = [w["threshold_km"] for w in test["within"]]
    _, _, _, c_rows = _with_place(calib)
    err = np.array([r.get("error_km", math.inf) for r in t_rows])
    p = np.array([r["within_probability"] for r in t_rows])
    pooled_err = np.array([r.get("error_km", math.inf) for r in c_rows + t_rows])
    pooled_raw = np.array([r["within_raw_mass"] for r in c_rows + t_rows])
    ece_rows = []
    for k, t in enumerate(thresholds):
        hit = (err <= t).astype(float)
        observed = ece(p[:, k], hit)
        null = np.array([ece(p[:, k], (rng.random(len(hit)) < p[:, k]).astype(float))
                         for _ in range(repeats)])
        refit = resampled_ece(pooled_raw[:, k], (pooled_err <= t).astype(float), places,
                              n_cal_places, rng, max(1, repeats // 5))
        ece_rows.append({"threshold_km": t, "observed": observed,
                         "perfect_mean": float(null.mean()),
                         "perfect_p95": float(np.percentile(null, 95)),
                         "perfect_share_at_least_observed": float(np.mean(null >= observed)),
                         "resplit_mean": float(refit.mean()),
                         "resplit_p95": float(np.percentile(refit, 95)),
                         "resplit_share_at_least_observed": float(np.mean(refit >= observed)),
                         "calib_frequency": float(np.mean([r.get("error_km", math.inf) <= t
                                                           for r in c_rows])),
                         "test_frequency": float(hit.mean())})
    result["ece"] = ece_rows
    return result


def to_markdown(d):
    lines = [f"### {d['settings']}", "",
             f"{d['calib_photos']} calibration photos with a place ({d['places']['calib']} places), "
             f"{d['test_photos']} test photos ({d['places']['test']} places), {d['groups']} score "
             f"groups. Scores tied at the floor (the truth got only the uniform floor's density): "
             f"calib {d['ties_at_floor']['calib']:.3f} (by group "
             + ", ".join(f"{x:.3f}" for x in d['ties_at_floor']['calib_by_group'])
             + f"), test {d['ties_at_floor']['test']:.3f}.", "",
             "| level | observed coverage - nominal | re-split by place: mean, sd [2.5%, 97.5%] | "
             "share within 2.5 points | share >= observed | re-split by photo: sd |",
             "|---|---|---|---|---|---|"]
    for j, a in enumerate(LEVELS):
        pl, ph = d["resplit_by_place"][j], d["resplit_by_photo"][j]
        lines.append(f"| {a:.2f} | {d['observed'][j]:+.3f} | {pl['mean']:+.3f}, {pl['sd']:.3f} "
                     f"[{pl['p2.5']:+.3f}, {pl['p97.5']:+.3f}] | {pl['share_within_2.5_points']:.2f}"
                     f" | {pl['share_at_least_observed']:.2f} | {ph['sd']:.3f} |")
    lines += ["", "| P(within t) | ECE observed | ECE of a perfectly calibrated P, mean (95th "
              "percentile) | share of perfect draws >= observed | re-split by place and refitted: "
              "mean (95th percentile) | share of re-splits >= observed | within t: calib, test |",
              "|---|---|---|---|---|---|---|"]
    for e in d["ece"]:
        lines.append(f"| {e['threshold_km']:g} km | {e['observed']:.4f} | {e['perfect_mean']:.4f}"
                     f" ({e['perfect_p95']:.4f}) | {e['perfect_share_at_least_observed']:.2f} | "
                     f"{e['resplit_mean']:.4f} ({e['resplit_p95']:.4f}) | "
                     f"{e['resplit_share_at_least_observed']:.2f} | {e['calib_frequency']:.3f}, "
                     f"{e['test_frequency']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("calib", help="coverage --per_photo --json on the calibration split")
    ap.add_argument("test", help="coverage --per_photo --json on the test split")
    ap.add_argument("--settings", help="the report's settings (default: the first)")
    ap.add_argument("--repeats", type=int, default=1000)
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args(argv)
    d = diagnose(_report(a.calib, a.settings), _report(a.test, a.settings), a.repeats)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(d, f, indent=1)
    sys.stdout.write(to_markdown(d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
