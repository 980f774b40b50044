#!/usr/bin/python3
"""Exports a geoloc model: one TorchScript archive with features / pool / forward and geoloc.json.

Run with Debian's Python, which has python3-torch and python3-torchvision:

  /usr/bin/python3 tools/export_model.py --demo -o models/demo.pt
  /usr/bin/python3 tools/export_model.py --backbone resnet50 --head cosplace --dim 2048 \\
      --checkpoint ResNet50_2048_cosplace.pth --checkpoint-format cosplace -o models/cosplace.pt
  /usr/bin/python3 tools/export_model.py --backbone resnet18 --head netvlad --truncate-last-stage \\
      --checkpoint resnet18-f37072fd.pth --checkpoint-format torchvision -o models/netvlad.pt

The archive is written atomically (a temporary file beside the target, verified, then renamed),
so a reader never sees a half-written model. The contract and the checkpoint key mapping are in
docs/MODEL.md. Exit status: 0 on success, 2 on a usage or checkpoint error, 1 when verification
fails.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
from typing import Dict, List, NamedTuple, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))

import geoloc_models as gm  # noqa: E402
import torch  # noqa: E402

VERIFY_TOLERANCE = 1e-4
DEMO = {"backbone": "resnet18", "head": "cosplace", "dim": 512, "seed": 0, "input_size": [224, 224]}


class ExportError(Exception):
    """Verification failed: the scripted archive does not reproduce the eager module."""


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
    p.add_argument("--truncate-last-stage", action="store_true",
                   help="ResNets: cut before layer4 (256 / 1024 channels), as seed 003 did")
    p.add_argument("--gem-p", type=float, default=3.0, help="GeM exponent")
    p.add_argument("--gem-learnable", action="store_true",
                   help="keep GeM's p as a Parameter (default: a constant float)")
    p.add_argument("--clusters", type=int, default=64, help="netvlad / crn: number of clusters")
    p.add_argument("--input-size", type=int, nargs="+", default=None, metavar="N",
                   help="input H W (or one value for a square) [224]")
    p.add_argument("--resize", choices=("resize_center_crop", "resize"),
                   default="resize_center_crop")
    p.add_argument("--metric", choices=("ip", "l2"), default="ip")
    p.add_argument("--mean", type=float, nargs=3, default=list(gm.IMAGENET_MEAN),
                   metavar=("R", "G", "B"))
    p.add_argument("--std", type=float, nargs=3, default=list(gm.IMAGENET_STD),
                   metavar=("R", "G", "B"))
    p.add_argument("--seed", type=int, default=None, help="seed of the random initialisation [0]")
    p.add_argument("--name", default=None, help="model name in geoloc.json [derived]")
    p.add_argument("--checkpoint", default=None, help="weights to load (a state dict file)")
    p.add_argument("--checkpoint-format", choices=("torchvision", "cosplace"), default=None,
                   help="torchvision: a backbone state dict; "
                        "cosplace: a CosPlace/EigenPlaces model")
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
        args.name = args.name or "demo-resnet18-cosplace512"
    args.backbone = args.backbone or "resnet18"
    args.head = args.head or "gem"
    args.seed = 0 if args.seed is None else args.seed
    size = args.input_size or [224]
    if len(size) not in (1, 2):
        p.error("--input-size takes H W or a single value")
    args.input_size = (size[0], size[-1])
    if (args.checkpoint is None) != (args.checkpoint_format is None):
        p.error("--checkpoint and --checkpoint-format go together")
    return args


def config_from_args(args: argparse.Namespace) -> gm.ModelConfig:
    return gm.ModelConfig(
        backbone=args.backbone, head=args.head, dim=args.dim, truncate=args.truncate_last_stage,
        gem_p=args.gem_p, gem_learnable=args.gem_learnable, clusters=args.clusters,
        input_size=args.input_size, resize=args.resize, metric=args.metric, mean=tuple(args.mean),
        std=tuple(args.std), seed=args.seed, name=args.name)


def build(args: argparse.Namespace):
    """(eager model, config, source record). Raises gm.ModelError for a bad config or checkpoint."""
    config = config_from_args(args)
    state = None
    if args.checkpoint is not None:
        state = gm.load_state_dict_file(args.checkpoint)
        if args.checkpoint_format == "cosplace":
            if config.head != "cosplace":
                raise gm.ModelError("--checkpoint-format cosplace holds a CosPlace/EigenPlaces "
                                    "model (GeM + FC); export it with --head cosplace")
            found = gm.cosplace_dim(state)
            if found is None:
                raise gm.ModelError(f"{args.checkpoint}: no aggregation.3.weight, so this is not a "
                                    "CosPlace/EigenPlaces state dict (docs/MODEL.md)")
            if config.dim is not None and config.dim != found:
                raise gm.ModelError(f"{args.checkpoint}: the checkpoint's descriptors have {found} "
                                    f"dimensions, not --dim {config.dim}")
            config.dim = found
    model = gm.build_model(config)
    source: Dict[str, object] = {"weights": "random", "seed": config.seed}
    if state is not None:
        summary = gm.apply_checkpoint(model, config, state, args.checkpoint_format, args.checkpoint)
        source = {"weights": "checkpoint", "checkpoint": os.path.basename(args.checkpoint),
                  "checkpoint_format": args.checkpoint_format,
                  "checkpoint_sha256": _file_sha256(args.checkpoint), **summary}
        if args.checkpoint_format == "torchvision":
            source["head_seed"] = config.seed  # the head is not in a torchvision checkpoint
    return model.eval(), config, source


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    model: torch.nn.Module  # the eager module the archive was scripted from
    config: gm.ModelConfig
    verify_max_abs_diff: Optional[float]


def export(args: argparse.Namespace) -> Exported:
    """Builds, scripts, writes and (unless --no-verify) verifies the archive."""
    model, config, source = build(args)
    fingerprint = gm.model_fingerprint(model, config)
    info = gm.geoloc_json(config, fingerprint, source)
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
    return Exported(info, model, config, diff)


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
        print(f"wrote {args.output}: {info['name']} dim {info['dim']} input {info['input_size']} "
              f"fingerprint {info['fingerprint'][:16]}{check}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
