#!/usr/bin/python3
"""What serving a model at another input size costs and gives (docs/MODEL.md, "Input size"):
recall@1/5 within 25 m of a checkpoint served at each size on a validation split, and the
multiply-accumulates per image at each size.

  /usr/bin/python3 tools/train/input_sizes.py --checkpoint runs/r18/best.pth \\
      --checkpoint-format geoloc --val-queries csv:val.csv --val-database csv:database.csv \\
      --sizes 48x64 96x128 144x192
  /usr/bin/python3 tools/train/input_sizes.py --macs-only --backbone resnet50 --head cosplace \\
      --dim 2048 --sizes 224x224 512x512

The checkpoint goes through tools/export_model.py's loading (any format it reads); the pictures
through the serving preprocessing. Exit status: 0, or 2 for usage, data and checkpoint errors.
"""

import argparse
import os
import sys
from typing import List, Optional

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

import torch  # noqa: E402

import export_model as em  # noqa: E402
import geoloc_models as gm  # noqa: E402
from geoloc_train import samples, validation  # noqa: E402


def macs(model: torch.nn.Module, h: int, w: int) -> int:
    """Multiply-accumulates of one forward pass: every convolution and linear layer."""
    total = [0]

    def conv(m, _, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, _, out):
        total[0] += out.numel() * m.in_features

    hooks = [m.register_forward_hook(conv) for m in model.modules()
             if isinstance(m, torch.nn.Conv2d)]
    hooks += [m.register_forward_hook(linear) for m in model.modules()
              if isinstance(m, torch.nn.Linear)]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, h, w))
    finally:
        for hook in hooks:
            hook.remove()
    return total[0]


def parse_size(text: str):
    h, sep, w = text.lower().partition("x")
    if not sep or not h.isdigit() or not w.isdigit():
        raise argparse.ArgumentTypeError(f"a size is HxW, e.g. 96x128, not '{text}'")
    return int(h), int(w)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=parse_size, nargs="+", required=True, metavar="HxW")
    p.add_argument("--macs-only", action="store_true", help="count MACs, evaluate nothing")
    p.add_argument("--val-queries", metavar="SPEC")
    p.add_argument("--val-database", metavar="SPEC")
    p.add_argument("--threads", type=int, default=2)
    args, model_argv = p.parse_known_args(argv)
    if not args.macs_only and (args.val_queries is None or args.val_database is None):
        p.error("--val-queries and --val-database are needed (or --macs-only)")
    torch.set_num_threads(args.threads)
    try:
        base = em.parse_args(model_argv + ["-o", os.devnull])
        if not args.macs_only:
            q = samples.read_samples(args.val_queries).samples
            db = samples.read_samples(args.val_database).samples
            coords = [torch.tensor([getattr(s, a) for s in group], dtype=torch.float64)
                      for group in (q, db) for a in ("lat", "lon")]
        for h, w in args.sizes:
            base.input_size, base.explicit = (h, w), base.explicit | {"input_size"}
            model, config, _, _ = em.build(base)
            line = f"{config.default_name()} at {h}x{w}: {macs(model, h, w) / 1e9:.2f} GMAC"
            if not args.macs_only:
                cache = validation.PixelCache((h, w), config.resize, 4 << 30)
                device = torch.device("cpu")
                d = validation.encode(model, [s.path for s in db], cache, config.mean,
                                      config.std, 32, device)
                e = validation.encode(model, [s.path for s in q], cache, config.mean,
                                      config.std, 32, device)
                r = validation.recall_at(e, d, coords[0], coords[1], coords[2], coords[3])
                line += f", recall@1 {r[1]:.3f} @5 {r[5]:.3f} ({len(q)} queries)"
            print(line, flush=True)
    except (gm.ModelError, samples.DataError) as e:
        print(f"input_sizes.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
