#!/usr/bin/python3
"""Exports a geoloc model: one TorchScript archive with features / pool / forward and geoloc.json.

Run with Debian's Python, which has python3-torch and python3-torchvision:

  /usr/bin/python3 tools/export_model.py --demo -o models/demo.pt
  /usr/bin/python3 tools/export_model.py --backbone resnet50 --head cosplace \\
      --checkpoint ResNet50_2048_cosplace.pth --checkpoint-format cosplace -o models/cosplace.pt
  /usr/bin/python3 tools/export_model.py --backbone vgg16 --head netvlad \\
      --checkpoint model_best.pth.tar --checkpoint-format netvlad -o models/netvlad.pt
  /usr/bin/python3 tools/export_model.py --checkpoint runs/r18/best.pth --checkpoint-format geoloc \\
      -o models/trained.pt
  /usr/bin/python3 tools/export_model.py --demo --quantize int8 \\
      --calibration-images /tmp/world/world.csv -o models/demo-int8.pt

The archive is written atomically (a temporary file beside the target, verified, then renamed),
so a reader never sees a half-written model. The contract, the checkpoint formats with their key
mapping and the input size each format brings are in docs/MODEL.md. `--quantize int8` makes the
backbone int8 (tools/python/geoloc_quantize.py) and refuses a result whose descriptors drift from
fp32 (docs/MODEL.md, "int8"). Exit status: 0 on success, 2 on a usage, checkpoint or calibration
error, 1 when verification fails.
"""

import argparse
import json
import os
import sys
import tempfile
from typing import Dict, List, NamedTuple, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))

import geoloc_checkpoints as gc  # noqa: E402
import geoloc_models as gm  # noqa: E402
import geoloc_quantize as gq  # noqa: E402
import torch  # noqa: E402

VERIFY_TOLERANCE = 1e-4
# int8 quality guard: descriptors of the check images must keep at least this cosine to fp32's.
DEFAULT_INT8_MIN_COSINE = 0.99
INT8_CHECK_COUNT = 16
DEMO = {"backbone": "resnet18", "head": "cosplace", "dim": 512, "seed": 0, "input_size": [224, 224]}


class ExportError(Exception):
    """Verification failed: the scripted archive does not reproduce the eager module."""


# Flags that describe the model, with their defaults. They are parsed with default None, so that
# the ones a user gave can be told apart (a checkpoint may then fill the others).
MODEL_DEFAULTS = {"backbone": "resnet18", "head": "gem", "dim": None, "truncate": False,
                  "gem_p": 3.0, "gem_learnable": False, "clusters": 64, "input_size": None,
                  "resize": None, "metric": "ip", "mean": list(gm.IMAGENET_MEAN),
                  "std": list(gm.IMAGENET_STD), "seed": 0}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Export a geoloc TorchScript model (docs/MODEL.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-o", "--output", required=True, help="archive to write (e.g. models/demo.pt)")
    p.add_argument("--demo", action="store_true",
                   help="the demo preset: resnet18 + cosplace (GeM, FC 512), seed 0, 224x224")
    p.add_argument("--backbone", choices=gm.BACKBONES, default=None,
                   help="torchvision backbone [resnet18]")
    p.add_argument("--head", choices=gm.HEADS, default=None, help="descriptor head [gem]")
    p.add_argument("--dim", type=int, choices=gm.COSPLACE_DIMS, default=None,
                   help="cosplace head: descriptor dimension [512, or the checkpoint's]")
    p.add_argument("--truncate-last-stage", dest="truncate", action="store_true", default=None,
                   help="ResNets: cut before layer4 (256 / 1024 channels), as seed 003 did")
    p.add_argument("--gem-p", type=float, default=None, help="GeM exponent [3]")
    p.add_argument("--gem-learnable", action="store_true", default=None,
                   help="keep GeM's p as a Parameter (default: a constant float)")
    p.add_argument("--clusters", type=int, default=None,
                   help="netvlad / crn: number of clusters [64, or the checkpoint's]")
    p.add_argument("--input-size", type=int, nargs="+", default=None, metavar="N",
                   help="input H W (or one value for a square) [the checkpoint format's "
                        "training size: torchvision 224, cosplace 512, netvlad 480 640, geoloc "
                        "as trained; 224 for random weights]")
    p.add_argument("--resize", choices=("resize_center_crop", "resize"), default=None,
                   help="[resize for netvlad checkpoints, as trained; else resize_center_crop]")
    p.add_argument("--metric", choices=("ip", "l2"), default=None, help="[ip]")
    p.add_argument("--mean", type=float, nargs=3, default=None, metavar=("R", "G", "B"),
                   help="[ImageNet's]")
    p.add_argument("--std", type=float, nargs=3, default=None, metavar=("R", "G", "B"),
                   help="[ImageNet's]")
    p.add_argument("--seed", type=int, default=None, help="seed of the random initialisation [0]")
    p.add_argument("--name", default=None, help="model name in geoloc.json [derived]")
    p.add_argument("--checkpoint", default=None, help="weights to load (a state dict file)")
    p.add_argument("--checkpoint-format", choices=gc.FORMATS, default=None,
                   help="torchvision: a backbone state dict; cosplace: a CosPlace/EigenPlaces "
                        "model; netvlad: a pytorch-NetVlad checkpoint; geoloc: a tools/train "
                        "checkpoint (docs/MODEL.md)")
    p.add_argument("--quantize", choices=gq.QUANTIZATIONS, default=None,
                   help="int8: statically quantize the backbone (features) after calibration; "
                        "pool stays fp32 [none: fp32]")
    p.add_argument("--calibration-images", default=None, metavar="DIR|CSV",
                   help="--quantize: a folder of images, or a CSV naming them (path column or "
                        "first column; a geoloc-synth world.csv's query rows are skipped) "
                        "[procedural scenes, a stand-in fit for random weights only]")
    p.add_argument("--calibration-count", type=int, default=None, metavar="N",
                   help="--quantize: images used for calibration, evenly spaced over the set "
                        f"[{gq.DEFAULT_CALIBRATION_COUNT}]")
    p.add_argument("--int8-min-cosine", type=float, default=None, metavar="C",
                   help="--quantize: fail when the int8 descriptors of the check images fall "
                        f"below this cosine to fp32's [{DEFAULT_INT8_MIN_COSINE}]")
    p.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                   help="check the written archive against the eager module "
                        f"(max abs diff < {VERIFY_TOLERANCE})")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = p.parse_args(argv)

    if args.demo:
        for key, value in DEMO.items():
            given = getattr(args, key)
            if given is not None and given != value:
                p.error(f"--demo fixes --{key.replace('_', '-')} to {value}; drop one of them")
            setattr(args, key, value)
        if args.name is None:
            args.name = "demo-resnet18-cosplace512" + (f"-{args.quantize}" if args.quantize else "")
    # The model flags the user gave (or --demo fixed); a checkpoint may fill in the others.
    args.explicit = {key for key in MODEL_DEFAULTS if getattr(args, key) is not None}
    for key, default in MODEL_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    if args.input_size is not None:
        if len(args.input_size) not in (1, 2):
            p.error("--input-size takes H W or a single value")
        args.input_size = (args.input_size[0], args.input_size[-1])
    if (args.checkpoint is None) != (args.checkpoint_format is None):
        p.error("--checkpoint and --checkpoint-format go together")
    int8_flags = (args.calibration_images, args.calibration_count, args.int8_min_cosine)
    if args.quantize is None and any(flag is not None for flag in int8_flags):
        p.error("--calibration-images, --calibration-count and --int8-min-cosine need --quantize")
    if args.calibration_count is None:
        args.calibration_count = gq.DEFAULT_CALIBRATION_COUNT
    if args.int8_min_cosine is None:
        args.int8_min_cosine = DEFAULT_INT8_MIN_COSINE
    if args.calibration_count < 1:
        p.error(f"--calibration-count must be at least 1, got {args.calibration_count}")
    if not -1.0 <= args.int8_min_cosine <= 1.0:
        p.error(f"--int8-min-cosine must be within [-1, 1], got {args.int8_min_cosine}")
    return args


def config_from_args(args: argparse.Namespace) -> gm.ModelConfig:
    return gm.ModelConfig(
        backbone=args.backbone, head=args.head, dim=args.dim, truncate=args.truncate,
        gem_p=args.gem_p, gem_learnable=args.gem_learnable, clusters=args.clusters,
        input_size=args.input_size or (224, 224), resize=args.resize or "resize_center_crop",
        metric=args.metric, mean=tuple(args.mean), std=tuple(args.std), seed=args.seed,
        name=args.name)


class Built(NamedTuple):
    model: gm.GeolocNet  # eval mode
    config: gm.ModelConfig
    source: Dict[str, object]  # geoloc.json's `source`
    extra_info: Dict[str, object]  # further geoloc.json fields: `input`, and `training` if known


def build(args: argparse.Namespace) -> Built:
    """The eager model with its weights. Raises gm.ModelError for a bad config or checkpoint."""
    config = config_from_args(args)
    ckpt = gc.load_checkpoint(args.checkpoint) if args.checkpoint is not None else None
    input_record = gc.configure(config, ckpt, args.checkpoint_format, args.explicit)
    model = gm.build_model(config)
    source: Dict[str, object] = {"weights": "random", "seed": config.seed}
    extra: Dict[str, object] = {"input": input_record}
    if ckpt is not None:
        summary = gc.apply_checkpoint(model, config, ckpt, args.checkpoint_format)
        source = {"weights": "checkpoint", "checkpoint": os.path.basename(args.checkpoint),
                  "checkpoint_format": args.checkpoint_format,
                  "checkpoint_sha256": ckpt.sha256, **summary}
        if args.checkpoint_format == "torchvision":
            source["head_seed"] = config.seed  # the head is not in a torchvision checkpoint
        training = gc.training_record(ckpt)
        if training is not None:
            extra["training"] = training
    return Built(model.eval(), config, source, extra)


def verify_archive(path: str, model: torch.nn.Module, config: gm.ModelConfig) -> float:
    """Loads the archive back and compares features, pool and forward with the eager module."""
    scripted = torch.jit.load(path, map_location="cpu")
    h, w = config.input_size
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(2, 3, h, w, generator=gen)
    with torch.no_grad():
        want = model(x)
        got = scripted(x)
        fmap = scripted.features(x)
        pooled = scripted.pool(fmap)
    if tuple(got.shape) != (2, config.derived_dim()):
        raise ExportError(f"forward gives shape {list(got.shape)}, "
                          f"expected [2, {config.derived_dim()}]")
    if fmap.dim() != 4 or fmap.shape[1] != config.feature_channels():
        raise ExportError(f"features gives shape {list(fmap.shape)}, expected [2, "
                          f"{config.feature_channels()}, h, w]")
    diff = max(gm.max_abs_diff(want, got), gm.max_abs_diff(want, pooled))
    if not diff < VERIFY_TOLERANCE:
        raise ExportError("scripted archive differs from the eager module: "
                          f"max abs diff {diff:.3g} >= {VERIFY_TOLERANCE}")
    norms = got.norm(dim=1)
    if not torch.allclose(norms, torch.ones_like(norms), atol=1e-4):
        raise ExportError(f"descriptors are not L2-normalised (norms {norms.tolist()})")
    return diff


class Exported(NamedTuple):
    info: Dict[str, object]  # geoloc.json's content
    model: torch.nn.Module  # the eager module the archive was scripted from (int8 if quantized)
    config: gm.ModelConfig
    verify_max_abs_diff: Optional[float]
    float_model: Optional[torch.nn.Module] = None  # --quantize: the fp32 module it came from


def quantize(args: argparse.Namespace, model: gm.GeolocNet, config: gm.ModelConfig):
    """(int8 model, geoloc.json fields) for --quantize int8. Raises gm.ModelError for a bad
    calibration set and ExportError when the int8 descriptors drift from fp32's."""
    sets = gq.calibration_sets(config, args.calibration_images, args.calibration_count,
                               INT8_CHECK_COUNT)
    qmodel = gq.quantize_backbone(model, sets.calibration)
    with torch.no_grad():
        cosines = gq.descriptor_cosines(model(sets.check), qmodel(sets.check))
    low, mean = float(cosines.min()), float(cosines.mean())
    if not low >= args.int8_min_cosine:
        raise ExportError(
            f"int8 descriptors drift from fp32 on the {sets.check.shape[0]} check images "
            f"(cosine min {low:.4f}, mean {mean:.4f} < --int8-min-cosine "
            f"{args.int8_min_cosine}); keep this model in fp32, or calibrate with images closer "
            "to what it will serve (--calibration-images)")
    fields = {
        "quantization": args.quantize,
        "quantization_scheme": gq.quantization_record(),
        "calibration": sets.record,
        "int8_check": {"images": int(sets.check.shape[0]), "source": sets.check_source,
                       "min_cosine_to_fp32": round(low, 6), "mean_cosine_to_fp32": round(mean, 6)},
    }
    return qmodel, fields


def export(args: argparse.Namespace) -> Exported:
    """Builds, (with --quantize) quantizes, scripts, writes and (unless --no-verify) verifies the
    archive."""
    model, config, source, extra_info = build(args)
    float_model = None
    if args.quantize is not None:
        if config.name is None:
            config.name = f"{config.default_name()}-{args.quantize}"
        float_model = model
        model, quantized_fields = quantize(args, float_model, config)
        # The int8 weights, scales and zero points are hashed, so the calibration set counts too;
        # the scheme is hashed as well: an int8 archive never shares an fp32 archive's fingerprint.
        fingerprint = gm.state_dict_fingerprint(
            model.state_dict(),
            {**gm.architecture_record(config), "quantization": gq.quantization_record()})
        info = {**gm.geoloc_json(config, fingerprint, source), **extra_info,
                **quantized_fields}
    else:
        fingerprint = gm.model_fingerprint(model, config)
        info = {**gm.geoloc_json(config, fingerprint, source), **extra_info}
    scripted = torch.jit.script(model)
    out = os.path.abspath(args.output)
    out_dir = os.path.dirname(out)
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{os.path.basename(out)}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.jit.save(scripted, tmp, _extra_files={"geoloc.json": json.dumps(info, indent=2)})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a model is read by other users
        diff = verify_archive(tmp, model, config) if args.verify else None
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
        dir_fd = os.open(out_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return Exported(info, model, config, diff, float_model)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        exported = export(args)
    except gm.ModelError as e:
        print(f"export_model.py: error: {e}", file=sys.stderr)
        return 2
    except ExportError as e:
        print(f"export_model.py: verification failed: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        info, verified = exported.info, exported.verify_max_abs_diff
        check = (f", verified (max abs diff {verified:.2g})" if verified is not None
                 else ", not verified")
        int8 = ""
        if "int8_check" in info:
            c = info["int8_check"]
            int8 = (f", int8 (calibration: {info['calibration']['images']} "
                    f"{info['calibration']['source']} images; cosine to fp32 min "
                    f"{c['min_cosine_to_fp32']:.4f} mean {c['mean_cosine_to_fp32']:.4f})")
        print(f"wrote {args.output}: {info['name']} dim {info['dim']} input {info['input_size']} "
              f"fingerprint {info['fingerprint'][:16]}{int8}{check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
