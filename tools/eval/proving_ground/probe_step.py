"""The probe step: linear probes per level (probe.py) on the descriptors the index step stored in
the training and database bundles, written to WORK/probe.json."""
import csv
import json

from .bundle_vectors import read_flat_bundle
from .probe import probe_levels


def _load(ctx, split):
    with open(ctx.path("world", f"{split}.csv")) as f:
        rows = list(csv.DictReader(f))
    vectors = read_flat_bundle(ctx.path("bundles", split))
    if len(vectors) != len(rows):
        raise ValueError(f"{split}: {len(vectors)} vectors for {len(rows)} rows (unreadable photos?)")
    keep = [i for i, r in enumerate(rows) if r["localizable"] == "1"]
    return vectors[keep], [rows[i] for i in keep]


def run(ctx):
    train_x, train_rows = _load(ctx, "train")
    eval_x, eval_rows = _load(ctx, "database")
    result = probe_levels(train_x, train_rows, eval_x, eval_rows)
    with open(ctx.path("probe.json"), "w") as f:
        json.dump(result, f, indent=1)
    for level, r in result.items():
        if r:
            print(f"probe {level}: {r['accuracy']:.3f} (chance {r['chance']:.3f}), within parent "
                  f"{r['within_parent']} (chance {r['within_parent_chance']})")
