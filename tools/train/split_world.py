#!/usr/bin/python3
"""Splits a geoloc-synth world.csv by place into the proving ground's named split files, for
worlds that do not come with them (docs/TRAINING.md, "The experiment"):

  train.csv     database views of the training places (what descriptors are trained on)
  database.csv  every database view (what geoloc-index indexes)
  val.csv       query views of the validation places (model selection, tuning)
  test.csv      query views of the test places (reported; nothing is fitted or tuned on it)

Places are shuffled with --seed and cut by --fractions (train, val, test); validation and test
places are never trained on, though their database views are in database.csv, as a user's own
collection would be. Columns: path (relative to the split file), lat, lon, place.

  /usr/bin/python3 tools/train/split_world.py --world /tmp/world/world.csv --out /tmp/splits
"""

import argparse
import csv
import os
import random
import sys
from typing import Dict, List, Optional

SPLITS = ("train", "database", "val", "test")


def split_world(world_csv: str, out_dir: str, fractions, seed: int) -> Dict[str, int]:
    world_csv = os.path.abspath(world_csv)
    root = os.path.dirname(world_csv)
    with open(world_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    needed = {"path", "lat", "lon", "place", "split"}
    if not rows or not needed <= set(rows[0]):
        raise ValueError(f"{world_csv}: expected geoloc-synth's columns {sorted(needed)}")
    places = sorted({r["place"] for r in rows}, key=lambda p: (len(p), p))
    random.Random(seed).shuffle(places)
    n_train = round(fractions[0] * len(places))
    n_val = round(fractions[1] * len(places))
    role = {p: "train" for p in places[:n_train]}
    role.update({p: "val" for p in places[n_train:n_train + n_val]})
    role.update({p: "test" for p in places[n_train + n_val:]})
    out: Dict[str, List[dict]] = {s: [] for s in SPLITS}
    for r in rows:
        kind = role[r["place"]]
        if r["split"] == "database":
            out["database"].append(r)
            if kind == "train":
                out["train"].append(r)
        elif r["split"] == "query" and kind in ("val", "test"):
            out[kind].append(r)
    os.makedirs(out_dir, exist_ok=True)
    for name, chosen in out.items():
        path = os.path.join(out_dir, f"{name}.csv")
        tmp = path + ".tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "lat", "lon", "place"])
            for r in chosen:
                image = os.path.relpath(os.path.join(root, r["path"]), os.path.abspath(out_dir))
                w.writerow([image, r["lat"], r["lon"], r["place"]])
        os.replace(tmp, path)
    return {name: len(chosen) for name, chosen in out.items()}


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--world", required=True, help="geoloc-synth's world.csv")
    p.add_argument("--out", required=True, help="directory for the split files")
    p.add_argument("--fractions", type=float, nargs=3, default=[0.6, 0.2, 0.2],
                   metavar=("TRAIN", "VAL", "TEST"), help="shares of places [0.6 0.2 0.2]")
    p.add_argument("--seed", type=int, default=0, help="place shuffle [0]")
    args = p.parse_args(argv)
    if any(f < 0 for f in args.fractions) or abs(sum(args.fractions) - 1) > 1e-6:
        p.error("--fractions must be three non-negative shares summing to 1")
    try:
        counts = split_world(args.world, args.out, args.fractions, args.seed)
    except (OSError, ValueError) as e:
        print(f"split_world.py: error: {e}", file=sys.stderr)
        return 2
    print(" ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
