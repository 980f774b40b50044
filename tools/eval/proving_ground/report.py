"""The proving ground's report: a Markdown file and its PNG plots, from the files the steps wrote.

    report.write(ctx)   # WORK/report/report.md and its plots beside it (WORK/report/*.png)

Tables keep the seeds' formats: seed 000's Table 4.4 (accuracy per threshold, one column per
method, each tuned for 100 m on the validation split) and seed 001's Table 6.8 (loss, accuracy and
IoR per classifier variant), here on the test split. With --publish DIR the report directory is
copied to DIR/proving_ground/PRESET/ (docs/PROVING_GROUND.md links to the medium one).
"""
import collections
import csv
import json
import math
import os
import shutil
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .protocol import CLASSIFIER_VARIANTS  # noqa: E402

ESTIMATOR_COLUMNS = [("grid_kde", "KDE (grid, seed)"), ("spherical_kde", "KDE (spherical)"),
                     ("nearest", "NN"), ("mean", "AVG"), ("weighted_mean", "W_AVG")]
THRESHOLDS = [("100m", "100 m"), ("1km", "1 km"), ("25km", "25 km"), ("200km", "200 km"),
              ("750km", "750 km"), ("2500km", "2500 km")]


def _load_json(path):
    with open(path) as f:
        return json.load(f)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _fmt(x, digits=3):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _config(row):
    e = row["estimator"]
    if e == "nearest":
        return "1-NN"
    if e == "mean":
        return f"k={row['k']}"
    if e == "weighted_mean":
        return f"k={row['k']}, m={row['weight_exponent']:g}"
    if e == "grid_kde":
        return f"k={row['k']}, m={row['weight_exponent']:g}, sigma={row['sigma_deg']:g} deg"
    return f"k={row['k']}, m={row['weight_exponent']:g}, h={row['bandwidth_km']:g} km"


# ------------------------------------------------------------------------------------------------
# Plots

def _plot_accuracy_vs_distance(queries, labels, path):
    grid = np.logspace(-2, math.log10(20000), 300)
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, name, style in labels:
        errors = np.array([float(q[label]) for q in queries if q["localizable"] == "1"])
        ax.plot(grid, [(errors <= d).mean() for d in grid], style, label=name, linewidth=1.6)
    for km, text in [(0.1, "100 m"), (1, "1 km"), (25, "25 km"), (200, "200 km"), (750, "750 km"),
                     (2500, "2500 km")]:
        ax.axvline(km, color="0.85", linewidth=0.8, zorder=0)
        ax.text(km, 1.01, text, ha="center", va="bottom", fontsize=7, color="0.4")
    ax.set_xscale("log")
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(0, 1)
    ax.set_xlabel("distance from the true position (km, log scale)")
    ax.set_ylabel("share of test queries located within the distance")
    ax.set_title("Accuracy against distance (test split; configurations tuned on val)", pad=16)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_recall(queries, world_rows, path):
    by_path = {r["path"]: r for r in world_rows}
    ranks = [(int(q["first_hit_rank"]), by_path.get(q["source"], {})) for q in queries
             if q["localizable"] == "1"]
    ns = np.arange(1, 101)

    def curve(subset):
        r = np.array([rank for rank, _ in subset])
        return [((r >= 1) & (r <= n)).mean() for n in ns]

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    groups = [("time", ["day", "dusk", "night"]), ("weather", ["clear", "overcast", "fog", "rain"])]
    for ax, (column, values) in zip(axes, groups):
        ax.plot(ns, curve(ranks), "k-", linewidth=2.2, label=f"all ({len(ranks)})")
        for value in values:
            subset = [(r, w) for r, w in ranks if w.get(column) == value]
            if subset:
                ax.plot(ns, curve(subset), linewidth=1.4, label=f"{column} {value} ({len(subset)})")
        for n in (1, 5, 10, 20):
            ax.axvline(n, color="0.85", linewidth=0.8, zorder=0)
        ax.set_xscale("log")
        ax.set_xlabel("N (database photos looked at, log scale)")
        ax.set_title(f"recall@N at 25 m by {column}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("share of test queries with a database photo\nwithin 25 m among the first N")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_reliability(classifiers, path):
    fig, axes = plt.subplots(1, len(classifiers), figsize=(3.6 * len(classifiers), 3.9),
                             squeeze=False)
    for ax, row in zip(axes[0], classifiers):
        m = row["classifier_metrics"]
        bins = m["reliability"]
        centres = [(b["confidence_lo"] + b["confidence_hi"]) / 2 for b in bins]
        width = bins[0]["confidence_hi"] - bins[0]["confidence_lo"]
        acc = [b["accuracy"] if int(b["count"]) > 0 else 0 for b in bins]
        ax.bar(centres, acc, width=width * 0.9, color="tab:blue", alpha=0.75, label="accuracy")
        ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="calibrated")
        counts = [int(b["count"]) for b in bins]
        total = max(1, sum(counts))
        ax.bar(centres, [c / total for c in counts], width=width * 0.9, color="tab:orange",
               alpha=0.5, label="share of queries")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("top-1 cell probability (confidence)")
        ax.set_title(f"{row['classifier']}: ECE {m['ece']:.3f}", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("accuracy of the top cell")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Reliability of the cell classifiers (test split, 20 bins)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_probe(probe, path):
    levels = [l for l in ("region", "city", "neighbourhood", "place") if probe.get(l)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    x = np.arange(len(levels))
    for ax, (key, chance, title) in zip(axes, [
            ("accuracy", "chance", "all classes of the level"),
            ("within_parent", "within_parent_chance", "among the classes of the true parent")]):
        vals = [probe[l][key] or 0 for l in levels]
        ch = [probe[l][chance] or 0 for l in levels]
        ax.bar(x - 0.2, vals, 0.4, label="linear probe (balanced accuracy)")
        ax.bar(x + 0.2, ch, 0.4, label="chance", color="0.6")
        ax.set_xticks(x)
        ax.set_xticklabels(levels)
        ax.set_ylim(0, 1)
        ax.set_title(title, fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel("balanced accuracy on held-out places")
    axes[0].legend(fontsize=8)
    fig.suptitle("What a linear probe reads off the random-weight descriptors, per level")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_world_map(ctx, world_rows, path):
    pts = np.loadtxt(os.path.join(ctx.root, "tools", "synth", "data",
                                  "mp16_photo_coordinates_100k.csv"), delimiter=",", skiprows=1)
    fig, ax = plt.subplots(figsize=(11, 5.5))
    ax.scatter(pts[:, 1], pts[:, 0], s=0.3, c="0.75", label="MP-16 photo locations (100,000)")
    colours = {"train": "tab:blue", "database": "tab:green", "val": "tab:orange",
               "calib": "tab:purple", "test": "tab:red"}
    seen = {}
    for r in world_rows:
        if r["localizable"] != "1":
            continue
        seen.setdefault((r["place"], r["split"]), (float(r["true_lat"]), float(r["true_lon"])))
    for split, colour in colours.items():
        xy = [v for (p, s), v in seen.items() if s == split]
        if xy:
            ax.scatter([v[1] for v in xy], [v[0] for v in xy], s=4, c=colour,
                       label=f"{split} places ({len(set(p for (p, s) in seen if s == split))})")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-70, 80)
    ax.set_xlabel("longitude (degrees)")
    ax.set_ylabel("latitude (degrees)")
    ax.set_title("Where the planet's places are: drawn from real photo density (MP-16)")
    ax.legend(fontsize=8, markerscale=3, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_geotags(world_rows, path):
    collection = [r for r in world_rows if r["split"] in ("train", "database")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    bins = np.logspace(-1, 5.2, 60)
    for kind, colour in [("gps", "tab:blue"), ("manual", "tab:orange"), ("city_snap", "tab:green"),
                         ("gross", "tab:red")]:
        e = [max(0.1, float(r["tag_error_m"])) for r in collection if r["tag"] == kind]
        axes[0].hist(e, bins=bins, color=colour, alpha=0.7,
                     label=f"{kind} ({100 * len(e) / len(collection):.1f}%)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("geotag error (m, log scale)")
    axes[0].set_ylabel("collection photos")
    axes[0].set_title("Geotag errors of train + database photos, by cause")
    axes[0].legend(fontsize=8)
    e = np.sort([float(r["tag_error_m"]) for r in collection])
    axes[1].plot(e, np.arange(1, len(e) + 1) / len(e), "k-")
    for m in (10, 100, 1000):
        axes[1].axvline(m, color="0.85", linewidth=0.8)
    axes[1].set_xscale("log")
    axes[1].set_xlim(0.1, 2e5)
    axes[1].set_xlabel("geotag error (m, log scale)")
    axes[1].set_ylabel("share of photos with a smaller error")
    axes[1].set_title(f"median {np.median(e):.1f} m, mean {e.mean():.0f} m")
    axes[1].grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_coverage(world_rows, path):
    collection = collections.Counter(r["place"] for r in world_rows
                                     if r["split"] in ("train", "database") and r["localizable"] == "1")
    queries = collections.Counter(r["place"] for r in world_rows
                                  if r["split"] in ("val", "calib", "test") and r["localizable"] == "1")
    cities = collections.Counter()
    places_seen = set()
    for r in world_rows:
        if r["place"] not in places_seen:
            places_seen.add(r["place"])
            cities[r["city"]] += 1
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for counter, name, style in [(collection, "collection photos per place", "o-"),
                                 (queries, "query photos per query place", "s-")]:
        v = np.array(sorted(counter.values()))
        xs = np.arange(1, v.max() + 1)
        axes[0].loglog(xs, [(v >= x).mean() for x in xs], style, markersize=3, label=name)
    axes[0].set_xlabel("photos per place n (log)")
    axes[0].set_ylabel("share of places with at least n (log)")
    axes[0].set_title("Heavy-tailed coverage")
    axes[0].grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    ranked = sorted(cities.values(), reverse=True)
    axes[1].loglog(np.arange(1, len(ranked) + 1), ranked, "o-", markersize=3)
    axes[1].set_xlabel("city rank (log)")
    axes[1].set_ylabel("places in the city (log)")
    axes[1].set_title(f"Places per city, {len(ranked)} cities (follows MP-16 density)")
    axes[1].grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _montage(ctx, world_rows, path):
    from PIL import Image, ImageDraw, ImageOps
    by_place = collections.defaultdict(list)
    for r in world_rows:
        if r["localizable"] == "1":
            by_place[r["place"]].append(r)
    # Places with a database photo and at least three test photos: the appearance change.
    chosen = [p for p, rs in by_place.items()
              if any(r["split"] == "database" for r in rs) and
              sum(r["split"] == "test" for r in rs) >= 3][:4]
    distractors = [r for r in world_rows if r["localizable"] == "0"][:5]
    w, h, cols = 200, 150, 5
    rows_out = []
    for p in chosen:
        rs = by_place[p]
        db = [r for r in rs if r["split"] == "database"][:2]
        q = [r for r in rs if r["split"] == "test"][:cols - len(db)]
        rows_out.append(db + q)
    rows_out.append(distractors)
    img = Image.new("RGB", (cols * w, len(rows_out) * (h + 16)), "white")
    draw = ImageDraw.Draw(img)
    for i, row in enumerate(rows_out):
        for j, r in enumerate(row):
            photo = ImageOps.exif_transpose(Image.open(ctx.path("world", r["path"])))
            photo.thumbnail((w - 4, h - 4))
            img.paste(photo, (j * w + 2, i * (h + 16) + 2))
            text = (f"{r['split']}: {r['time']} {r['weather']} {r['season']}"
                    if r["localizable"] == "1" else f"distractor: {r['scene']}")
            draw.text((j * w + 2, i * (h + 16) + h), text, fill="black")
    img.save(path)


# ------------------------------------------------------------------------------------------------
# The report

def _by_estimator(rows):
    return {r["estimator"]: r for r in rows if r["method"] == "retrieval"}


def write(ctx):
    out_dir = ctx.path("report")
    img_dir = out_dir
    os.makedirs(img_dir, exist_ok=True)
    world_rows = _rows(ctx.path("world", "world.csv"))
    test_rows = [r for r in world_rows if r["split"] == "test"]
    tuned = _load_json(ctx.path("eval", "tuned.json"))
    test = _load_json(ctx.path("eval", "test.json"))
    queries = _rows(ctx.path("eval", "test_queries.csv"))
    probe = _load_json(ctx.path("probe.json")) if os.path.exists(ctx.path("probe.json")) else {}
    timings = _load_json(ctx.path("timings.json")) if os.path.exists(ctx.path("timings.json")) else {}
    # This step's own time is only known once it has written this file.
    timings["report"] = {"wall_s": None, "cpu_s": None, "command": ctx.settings["command"]}
    protocol = _load_json(ctx.path("protocol.json"))
    with open(ctx.path("world.txt")) as f:
        world_summary = f.read().strip()
    rows = test["estimators"]
    retrieval = _by_estimator(rows)
    classifiers = [r for r in rows if r["method"] == "classifier"]
    fused = [r for r in rows if r["method"] == "fused"]

    # Plots.
    curves = [(retrieval[e]["label"], name, style) for (e, name), style in
              zip(ESTIMATOR_COLUMNS, ["-", "-", "-", "--", "--"]) if e in retrieval]
    for c in classifiers:
        curves.append((c["label"], f"classifier {c['classifier']}", ":"))
    best_fused = [f for f in fused if f["estimator"] == "spherical_kde"]
    for f in best_fused:
        if f["classifier"] == "hmc":
            curves.append((f["label"], "fused HMC + spherical KDE", "-."))
    _plot_accuracy_vs_distance(queries, curves, os.path.join(img_dir, "accuracy_vs_distance.png"))
    _plot_recall(queries, test_rows, os.path.join(img_dir, "recall_at_n.png"))
    if classifiers:
        _plot_reliability(classifiers, os.path.join(img_dir, "reliability.png"))
    if probe:
        _plot_probe(probe, os.path.join(img_dir, "probe.png"))
    _plot_world_map(ctx, world_rows, os.path.join(img_dir, "world_map.png"))
    _plot_geotags(world_rows, os.path.join(img_dir, "geotags.png"))
    _plot_coverage(world_rows, os.path.join(img_dir, "coverage.png"))
    _montage(ctx, world_rows, os.path.join(img_dir, "photos.png"))

    md = []
    md.append(f"# Proving ground: the `{ctx.preset}` world, seed {ctx.seed}\n")
    md.append("Generated by the protocol (`tools/proving_ground.sh`, docs/PROVING_GROUND.md "
              "explains every step and how to read the figures). The commands that ran its steps:\n")
    runs = collections.OrderedDict()
    for name, t in timings.items():
        if name != "report":  # this step: the command that writes this file
            runs.setdefault(t.get("command") or ctx.settings["command"], []).append(name)
    runs.setdefault(ctx.settings["command"], []).append("report")
    md.append("```\n" + "\n".join(f"{cmd}    # {', '.join(steps)}" for cmd, steps in runs.items()) +
              "\n```\n")
    md.append(f"The world (`geoloc-synth` summary):\n\n```\n{world_summary}\n```\n")
    md.append(f"Model: `{test['model']}` (random weights unless `--model` was given); database "
              f"bundle `{test['bundle']}`. Test split: {test['queries']} localizable queries "
              f"(distractors kept apart: {test['distractors']}); configurations tuned on "
              f"`{test['tuned_on']}` ({tuned['queries']} queries, {tuned['configurations']} "
              "configurations).\n")
    md.append("## Protocol\n")
    md.append(_table(["step", "fits on", "tunes on", "reports on", "what"],
                     [[s["name"], ", ".join(s["fits"]) or "-", ", ".join(s["tunes"]) or "-",
                       ", ".join(s["reports"]) or "-", s["doc"]] for s in protocol["steps"]]))
    md.append("\nThe protocol refuses any step that fits or tunes on `test`; `geoloc-eval tune` "
              "refuses a query file whose split is `test`, and `geoloc-eval run --tuned` refuses to "
              "report on the split it was tuned on.\n")

    # Estimators, seed 000 Table 4.4 format.
    md.append("## Estimators (seed 000, Table 4.4 format)\n")
    md.append("Accuracy on the test split; each method with its configuration tuned for 100 m on "
              "the validation split (as the thesis chose); median error in km.\n")
    cols = [(e, n) for e, n in ESTIMATOR_COLUMNS if e in retrieval]
    table = []
    for key, name in THRESHOLDS:
        table.append([name] + [_fmt(retrieval[e]["accuracy"].get(key)) for e, _ in cols])
    table.append(["median km"] + [_fmt(retrieval[e]["median_error_km"], 1) for e, _ in cols])
    md.append(_table(["Threshold"] + [n for _, n in cols], table))
    md.append("\n" + "; ".join(f"{n}: {_config(retrieval[e])}" for e, n in cols) + ".\n")

    md.append("### Each threshold with its own tuned configuration\n")
    md.append("Accuracy at threshold t of the configuration tuned on val for t (the fair version "
              "of a per-threshold optimum).\n")
    per = collections.defaultdict(dict)
    for r in test.get("per_threshold", []):
        per[r["tuned_for"]][r["estimator"]] = r
    table = []
    for key, name in THRESHOLDS:
        cells = []
        for e, _ in cols:
            r = per.get(key, {}).get(e)
            cells.append(f"{_fmt(r['accuracy'].get(key))} ({_config(r)})" if r else "n/a")
        table.append([name] + cells)
    md.append(_table(["Threshold"] + [n for _, n in cols], table) + "\n")

    # Classifiers, seed 001 Table 6.8 format.
    if classifiers:
        md.append("## Cell classifiers (seed 001, Table 6.8 format)\n")
        m0 = classifiers[0]["classifier_metrics"]
        md.append(f"Trained on the training split's descriptors (frozen backbone), "
                  f"{m0['num_classes']} leaf cells; scored on the test split (loss = mean "
                  f"-log p(true cell) over the {100 * m0['covered']:.1f}% of test photos inside a "
                  "kept cell; a photo outside every cell counts as wrong).\n")
        md.append(_table(
            ["Model name", "Test loss", "Test accuracy", "IoR", "ECE", "mean confidence"],
            [[c["classifier"].upper().replace("_", "-"), _fmt(c["classifier_metrics"]["nll"]),
              _fmt(c["classifier_metrics"]["cell_accuracy"]), _fmt(c["classifier_metrics"]["ior"], 2),
              _fmt(c["classifier_metrics"]["ece"]), _fmt(c["classifier_metrics"]["mean_confidence"])]
             for c in classifiers]))
        md.append("\n### Classifier alone and fused with retrieval\n")
        md.append("The classifier answers with its top cell's centre; fused is Locate's `best`: "
                  "the estimator's first 5 peaks re-ranked by the classifier (docs/CLASSIFIER.md).\n")
        shown = classifiers + [f for f in fused if f["estimator"] in ("spherical_kde", "nearest")]
        md.append(_table(["answer"] + [n for _, n in THRESHOLDS] + ["median km"],
                         [[r["label"]] + [_fmt(r["accuracy"].get(k)) for k, _ in THRESHOLDS] +
                          [_fmt(r["median_error_km"], 1)] for r in
                          [retrieval.get("spherical_kde"), retrieval.get("nearest")] + shown if r]))
        md.append(f"\n![reliability](reliability.png)\n")

    md.append("## Accuracy against distance\n")
    md.append(f"![accuracy against distance](accuracy_vs_distance.png)\n")

    md.append("## Retrieval\n")
    rec = test["recall_at"]
    md.append(_table(["recall@1", "recall@5", "recall@10", "recall@20"],
                     [[_fmt(rec["1"]), _fmt(rec["5"]), _fmt(rec["10"]), _fmt(rec["20"])]]))
    md.append("\nA query counts at N when one of its first N database photos lies within 25 m of "
              "its true position (by the database photo's geotag, which is noisy).\n")
    md.append(f"![recall@N](recall_at_n.png)\n")
    by_path = {r["path"]: r for r in test_rows}
    groups = []
    for column in ("time", "weather", "season"):
        values = collections.defaultdict(list)
        for q in queries:
            if q["localizable"] == "1":
                values[by_path[q["source"]][column]].append(int(q["first_hit_rank"]))
        for value, ranks in sorted(values.items()):
            r = np.array(ranks)
            groups.append([f"{column} = {value}", len(r), _fmt(((r >= 1) & (r <= 1)).mean()),
                           _fmt(((r >= 1) & (r <= 10)).mean())])
    md.append(_table(["test queries", "n", "recall@1", "recall@10"], groups) + "\n")
    d = test["distractor_separation"]
    md.append(f"Distractors (test split): {d['distractors']}; the top-1 similarity separates "
              f"localizable queries from distractors with AUROC {_fmt(d['auroc'])} (median top-1 "
              f"{_fmt(d['median_top1_localizable'], 4)} against {_fmt(d['median_top1_distractor'], 4)}).\n")
    s = test["retrieval_stats"]
    md.append("### What the neighbours offer the estimators\n")
    md.append(_table(["quantity (first k = %d neighbours, localizable test queries)" % s["k"], "value"], [
        ["median similarity of the best neighbour", _fmt(s["median_top1_score"], 4)],
        [f"median similarity of the {s['k']}th", _fmt(s["median_kth_score"], 4)],
        ["median weight ratio best / kth at m = 5", _fmt(s["median_weight_ratio"], 4)],
        ["best neighbour within 100 m of the truth", _fmt(s["top1_within_100m"])],
        ["some neighbour within 100 m", _fmt(s["any_within_100m"])],
        ["mean number within 100 m", _fmt(s["mean_within_100m"], 2)],
        ["mean number within 1 km", _fmt(s["mean_within_1km"], 2)],
        ["mean number within 25 km", _fmt(s.get("mean_within_25km"), 2)]]) + "\n")

    if probe:
        md.append("## Linear probes per level\n")
        md.append("Ridge-regression probes on the model's descriptors, fitted on the training "
                  "split and scored on the database split's (held-out) places; places: half of "
                  "each database place's photos fit, the other half scored. Balanced accuracy "
                  "(chance = 1 / classes); within parent: only the classes of the true parent "
                  "compete.\n")
        md.append(_table(["level", "classes", "balanced accuracy", "chance", "within parent",
                          "chance within parent"],
                         [[l, p["classes"], _fmt(p["accuracy"]), _fmt(p["chance"]),
                           _fmt(p["within_parent"]), _fmt(p["within_parent_chance"])]
                          for l, p in probe.items() if p]))
        md.append(f"\n![probe](probe.png)\n")

    md.append("## The world\n")
    md.append(f"![map](world_map.png)\n\n![geotags](geotags.png)\n\n"
              f"![coverage](coverage.png)\n\n"
              f"Database and test photos of four places, and distractors:\n\n"
              f"![photos](photos.png)\n")

    if os.path.exists(os.path.join(out_dir, "calibration.md")):
        md.append("## Calibration\n")
        md.append("Confidence regions, calibrated probabilities and abstention on the test split: "
                  "[calibration.md](calibration.md).\n")

    md.append("## Time per step\n")
    md.append("Wall time of this run and CPU time (user + system, the tools and this script); on "
              "a machine shared with other work the wall time overstates what two idle cores "
              "take, the CPU time does not.\n")
    total_wall = sum(t["wall_s"] or 0 for t in timings.values())
    total_cpu = sum(t["cpu_s"] or 0 for t in timings.values())
    md.append(_table(["step", "wall s", "CPU s"],
                     [[k, _fmt(v["wall_s"], 1), _fmt(v["cpu_s"], 1)] for k, v in timings.items()] +
                     [["total (without this step)", _fmt(total_wall, 1), _fmt(total_cpu, 1)]]) +
              "\n")
    text = "\n".join(md)
    partial = os.path.join(out_dir, "report.md.partial")
    with open(partial, "w") as f:
        f.write(text)
    os.replace(partial, os.path.join(out_dir, "report.md"))
    publish = ctx.settings.get("publish")
    if publish:
        target = os.path.join(publish, "proving_ground", ctx.preset)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(out_dir, target)
        print(f"report published to {target}", file=sys.stderr)
