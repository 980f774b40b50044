#!/usr/bin/python3
"""Trains a geoloc descriptor on geotagged photos and exports it (docs/TRAINING.md).

  /usr/bin/python3 tools/train/train.py --method cosplace --train csv:world/train.csv \\
      --val-queries csv:world/val.csv --val-database csv:world/database.csv \\
      --backbone resnet18 --dim 512 --input-size 120 160 --out runs/cosplace-r18
  /usr/bin/python3 tools/train/train.py --method netvlad --truncate-last-stage \\
      --train vpr:/data/sf_xs/train --val-queries vpr:/data/sf_xs/val/queries \\
      --val-database vpr:/data/sf_xs/val/database --out runs/netvlad-r18
  /usr/bin/python3 tools/train/train.py --resume runs/cosplace-r18     # after a kill

Methods: cosplace (classification over square cells with LMCL heads per group, seed 002) and
netvlad (triplets with hard negatives, seed 003; any head, NetVLAD/CRN clusters from k-means).
Inputs: csv:FILE, vpr:DIR, exif:DIR (as geoloc-index reads them; a bare path is a CSV).
Writes into --out: config.json, state.pth (resumable), best.pth, history.json, model.pt (the
TorchScript archive, via tools/export_model.py), curves.png, summary.json.
Exit status: 0 on success, 2 for usage, data, model or checkpoint errors, 1 for other failures.
"""

import argparse
import os
import sys
from typing import List, Optional

# OpenMP workers that spin while they wait made training steps 3-20 times slower on a shared
# 2-core machine (docs/MODEL.md, "Threads"); this must be set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE)))  # tools/: export_model
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))  # geoloc_models, ...

import geoloc_checkpoints as gc  # noqa: E402
import geoloc_models as gm  # noqa: E402
from geoloc_train import cosplace, triplets  # noqa: E402
from geoloc_train.files import atomic_write_text  # noqa: E402
from geoloc_train.samples import DataError  # noqa: E402
from geoloc_train.trainer import METHODS, RunConfig, TrainError, Trainer  # noqa: E402

# Flags that may come with --resume: the epoch count (to extend a run); nothing else, because a
# resumed run must be the run that was started.
_RESUME_FLAGS = ("epochs",)

# flag dest -> (settings group, field)
_COSPLACE_FLAGS = {"cell_m": "cell_m", "heading_bin_deg": "heading_bin_deg",
                   "group_spacing": "group_spacing", "heading_groups": "heading_groups",
                   "min_images_per_class": "min_images_per_class", "groups": "groups",
                   "iterations_per_group": "iterations_per_group", "cosface_scale": "scale",
                   "cosface_margin": "margin", "classifier_lr": "classifier_lr"}
_TRIPLET_FLAGS = {"positive_radius": "positive_radius_m", "negative_radius": "negative_radius_m",
                  "negatives": "negatives", "negative_pool": "negative_pool",
                  "cache_refresh": "cache_refresh", "margin": "margin",
                  "kmeans_images": "kmeans_images"}
_SHARED_FLAGS = {"batch": "batch", "lr": "lr", "weight_decay": "weight_decay"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Train a geoloc descriptor (CosPlace or NetVLAD) and export it "
                    "(docs/TRAINING.md). Defaults in [brackets].")
    a = p.add_argument
    a("--method", choices=METHODS, help="cosplace (seed 002) or netvlad (seed 003)")
    a("--train", metavar="SPEC", help="training photos: csv:FILE, vpr:DIR or exif:DIR")
    a("--val-queries", metavar="SPEC", help="validation queries (held-out places)")
    a("--val-database", metavar="SPEC", help="the database the validation queries search")
    a("--image-root", help="relative CSV paths start here [the CSV's directory]")
    a("--out", help="run directory (created; refused if it holds a run)")
    a("--resume", metavar="RUN", help="continue the run in RUN (alone, or with --epochs)")
    g = p.add_argument_group("model (as tools/export_model.py)")
    g.add_argument("--backbone", choices=gm.BACKBONES, help="[resnet18]")
    g.add_argument("--head", choices=gm.HEADS, help="[cosplace for --method cosplace, netvlad "
                   "for --method netvlad]")
    g.add_argument("--dim", type=int, choices=gm.COSPLACE_DIMS, help="cosplace head: D [512]")
    g.add_argument("--truncate-last-stage", dest="truncate", action="store_true", default=None,
                   help="ResNets: cut before layer4 (seed 003's NetVLAD on 256 channels)")
    g.add_argument("--clusters", type=int, help="netvlad / crn: K [64]")
    g.add_argument("--gem-p", type=float, help="[3]")
    g.add_argument("--gem-learnable", action="store_true", default=None,
                   help="learn GeM's p (CosPlace does) [fixed]")
    g.add_argument("--input-size", type=int, nargs="+", metavar="N",
                   help="H W (or one value) the model trains, validates and serves at "
                        "[the checkpoint format's, else 224]")
    g.add_argument("--resize", choices=("resize_center_crop", "resize"),
                   help="how a photo becomes H x W [resize_center_crop]")
    g.add_argument("--name", help="model name in geoloc.json [<architecture>-<method>]")
    g = p.add_argument_group("initial weights [random, seeded]")
    g.add_argument("--checkpoint", help="start from these weights (fine-tuning)")
    g.add_argument("--checkpoint-format", choices=gc.FORMATS)
    g.add_argument("--bn", choices=("train", "frozen"),
                   help="BatchNorm statistics: follow the training batches, or stay as loaded "
                        "(scale and shift still train) [train]")
    g.add_argument("--train-from", metavar="WHICH",
                   help="default (ResNet from layer3, VGG-16 from conv5_1, EfficientNet from "
                        "block 5, as CosPlace), all, or the index of the first trained backbone "
                        "child [default]")
    g = p.add_argument_group("schedule")
    g.add_argument("--epochs", type=int, help="[10]")
    g.add_argument("--iterations-per-epoch", type=int,
                   help="[cosplace 1000; netvlad one pass over the queries]")
    g.add_argument("--batch", type=int, help="[cosplace 32 classes; netvlad 4 triplets]")
    g.add_argument("--lr", type=float, help="model learning rate, Adam [1e-5, both seeds]")
    g.add_argument("--weight-decay", type=float, help="[cosplace 1e-3; netvlad 0]")
    g.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="seed 002's augmentations [on for cosplace, off for netvlad]")
    g = p.add_argument_group("cosplace")
    g.add_argument("--cell-m", type=float, help="M, cell side in metres [10]")
    g.add_argument("--heading-bin-deg", type=float, help="alpha [30]")
    g.add_argument("--group-spacing", type=int, help="N [5]")
    g.add_argument("--heading-groups", type=int, help="L [2]")
    g.add_argument("--min-images-per-class", type=int, help="[10]")
    g.add_argument("--groups", type=int, help="train the G largest groups; 0: all [0]")
    g.add_argument("--iterations-per-group", type=int, help="steps before the next group [100]")
    g.add_argument("--cosface-scale", type=float, help="s [30]")
    g.add_argument("--cosface-margin", type=float, help="m [0.4]")
    g.add_argument("--classifier-lr", type=float, help="[1e-3]")
    g = p.add_argument_group("netvlad")
    g.add_argument("--positive-radius", type=float, help="metres [10]")
    g.add_argument("--negative-radius", type=float, help="negatives lie beyond, metres [25]")
    g.add_argument("--negatives", type=int, help="hard negatives per query [10]")
    g.add_argument("--negative-pool", type=int, help="candidates per refresh [1000]")
    g.add_argument("--cache-refresh", type=int, help="queries between refreshes [1000]")
    g.add_argument("--margin", type=float, help="triplet margin [0.1]")
    g.add_argument("--kmeans-images", type=int, help="photos for the cluster k-means [500]")
    g = p.add_argument_group("machine and bookkeeping")
    g.add_argument("--seed", type=int, help="[0]")
    g.add_argument("--threads", type=int, help="intra-op threads [2]")
    g.add_argument("--loader-threads", type=int, help="decoding threads [2]")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), help="[auto: cuda if present]")
    g.add_argument("--val-batch", type=int, help="[32]")
    g.add_argument("--val-max-queries", type=int, help="evenly spaced subset; 0: all [0]")
    g.add_argument("--val-max-database", type=int,
                   help="validate against the queries' matches plus evenly spaced other "
                        "database photos, this many in all (faster epochs; recall on a smaller "
                        "haystack); 0: the whole database [0]")
    g.add_argument("--cache-mb", type=int, help="decoded-picture cache [2048]")
    g.add_argument("--checkpoint-every", type=int, help="also save state every N steps [0]")
    g.add_argument("--checkpoint-minutes", type=float, help="save state this often [5]")
    g.add_argument("--simulate-kill-after-step", type=int, default=0, help=argparse.SUPPRESS)
    return p


def config_from_args(args: argparse.Namespace, p: argparse.ArgumentParser) -> RunConfig:
    for required in ("method", "train", "val_queries", "val_database", "out"):
        if getattr(args, required) is None:
            p.error(f"--{required.replace('_', '-')} is required (or --resume RUN)")
    if (args.checkpoint is None) != (args.checkpoint_format is None):
        p.error("--checkpoint and --checkpoint-format go together")
    cfg = RunConfig(method=args.method, train=args.train, val_queries=args.val_queries,
                    val_database=args.val_database, image_root=args.image_root)
    for name in ("backbone", "head", "dim", "truncate", "clusters", "gem_p", "gem_learnable",
                 "resize", "checkpoint", "checkpoint_format", "name", "augment"):
        setattr(cfg, name, getattr(args, name))
    if args.input_size is not None:
        if len(args.input_size) not in (1, 2):
            p.error("--input-size takes H W or a single value")
        cfg.input_size = (args.input_size[0], args.input_size[-1])
    if args.checkpoint is not None:
        cfg.checkpoint = os.path.abspath(args.checkpoint)
    for name in ("train_from", "bn", "epochs", "iterations_per_epoch", "seed", "threads",
                 "loader_threads", "device", "val_batch", "val_max_queries", "val_max_database",
                 "cache_mb",
                 "checkpoint_every", "checkpoint_minutes"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    own, other = ((_COSPLACE_FLAGS, _TRIPLET_FLAGS) if args.method == "cosplace"
                  else (_TRIPLET_FLAGS, _COSPLACE_FLAGS))
    wrong = [f for f in other if f not in own and getattr(args, f) is not None]
    if wrong:
        p.error(f"--method {args.method} does not use "
                + ", ".join("--" + f.replace("_", "-") for f in wrong))
    settings = dict(cosplace.CosPlaceSettings().record() if args.method == "cosplace"
                    else triplets.TripletSettings().record())
    for flag, key in {**own, **_SHARED_FLAGS}.items():
        if getattr(args, flag) is not None:
            settings[key] = getattr(args, flag)
    if args.method == "cosplace":
        cfg.cosplace = settings
    else:
        cfg.triplets = settings
    checks = [(cfg.epochs >= 0, "--epochs must be >= 0"),
              (cfg.iterations_per_epoch >= 0, "--iterations-per-epoch must be >= 0"),
              (settings["batch"] >= 1, "--batch must be >= 1"),
              (settings["lr"] > 0, "--lr must be > 0"),
              (cfg.threads >= 1, "--threads must be >= 1"),
              (cfg.val_batch >= 1, "--val-batch must be >= 1")]
    if args.method == "cosplace":
        checks += [(settings["cell_m"] > 0, "--cell-m must be > 0"),
                   (settings["group_spacing"] >= 1, "--group-spacing must be >= 1"),
                   (settings["heading_groups"] >= 1, "--heading-groups must be >= 1"),
                   (0 < settings["heading_bin_deg"] <= 360, "--heading-bin-deg in (0, 360]"),
                   (settings["min_images_per_class"] >= 1, "--min-images-per-class >= 1"),
                   (settings["iterations_per_group"] >= 1, "--iterations-per-group >= 1")]
    else:
        checks += [(settings["negatives"] >= 1, "--negatives must be >= 1"),
                   (settings["negative_pool"] >= settings["negatives"],
                    "--negative-pool must be >= --negatives"),
                   (settings["cache_refresh"] >= 1, "--cache-refresh must be >= 1"),
                   (settings["negative_radius_m"] >= settings["positive_radius_m"],
                    "--negative-radius must be >= --positive-radius")]
    for ok, message in checks:
        if not ok:
            p.error(message)
    return cfg


def main(argv: Optional[List[str]] = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    try:
        if args.resume is not None:
            given = [k for k, v in vars(args).items()
                     if v is not None and k not in ("resume", "simulate_kill_after_step")
                     + _RESUME_FLAGS]
            if given:
                p.error("--resume continues a run with its own settings; drop "
                        + ", ".join("--" + k.replace("_", "-") for k in sorted(given)))
            config_path = os.path.join(args.resume, "config.json")
            if not os.path.exists(config_path):
                print(f"train.py: error: {args.resume} holds no run (no config.json)",
                      file=sys.stderr)
                return 2
            with open(config_path) as f:
                cfg = RunConfig.from_json(f.read())
            if args.epochs is not None and args.epochs != cfg.epochs:
                cfg.epochs = args.epochs  # extend (or shorten) the run from here on
                atomic_write_text(config_path, cfg.to_json())
            trainer = Trainer(cfg, args.resume, simulate_kill_after_step=args.simulate_kill_after_step)
            trainer.run(resume=True)
        else:
            cfg = config_from_args(args, p)
            trainer = Trainer(cfg, args.out, simulate_kill_after_step=args.simulate_kill_after_step)
            trainer.run(resume=False)
    except (TrainError, DataError, gm.ModelError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
