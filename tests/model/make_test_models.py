#!/usr/bin/python3
"""Build-time data for the C++ model tests: exported archives plus eager-Python references.

  /usr/bin/python3 tests/model/make_test_models.py --out build/tests/model/data

Writes, under --out (CMake runs this once and caches it; see tests/model/CMakeLists.txt):
  <name>.pt, <name>.inputs.glt [B, H, W, 3], <name>.descriptors.glt [B, D]   for MATRIX models
  gradcam.pt, head.pt and gradcam.*.glt                                       Grad-CAM references
  bad_*.pt, state_dict.pth                                                    contract violations
  fp_seed0_a.pt, fp_seed0_b.pt, fp_seed1.pt                                   fingerprints
  ckpt_torchvision.pt, ckpt_cosplace.pt, ckpt_cosplace_effnet.pt,
  ckpt_netvlad.pt (+ .inputs/.descriptors.glt)                                checkpoint imports
  trained.pt (+ .inputs/.descriptors.glt), trained_run/                       tools/train
  user_model.pt (+ .inputs/.descriptors.glt), bf16_fragile.pt                 hand-written models
  optimize_fragile.pt                                                         optimize_for_inference
  retrieval.pt, demo.pt                                                       retrieval, bf16 tests
  demo_int8.pt, retrieval_int8.pt, gradcam_int8.pt, resnet18-cosplace-int8.pt,
  fp_seed0_int8.pt                                                            int8 (--quantize)
  stamp                                                                       written last
"""

import argparse
import json
import os
import sys
import time

import model_reference as ref  # noqa: E402 (puts tools/ and tools/python/ on sys.path)
import export_model as em  # noqa: E402
import geoloc_checkpoints as gc  # noqa: E402
import geoloc_models as gm  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

# (name, export_model.py arguments). Small inputs keep the suite fast; every backbone appears with
# GeM and ResNet-18 with every head.
MATRIX = [
    ("resnet18-avg", ["--backbone", "resnet18", "--head", "avg", "--input-size", "64"]),
    ("resnet18-gem", ["--backbone", "resnet18", "--head", "gem", "--input-size", "64"]),
    ("resnet18-gem-learnable", ["--backbone", "resnet18", "--head", "gem", "--gem-learnable",
                                "--input-size", "64"]),
    ("resnet18-cosplace", ["--backbone", "resnet18", "--head", "cosplace", "--dim", "128",
                           "--input-size", "64"]),
    ("resnet18-netvlad", ["--backbone", "resnet18", "--head", "netvlad", "--clusters", "8",
                          "--input-size", "64"]),
    ("resnet18-crn", ["--backbone", "resnet18", "--head", "crn", "--clusters", "8",
                      "--input-size", "64"]),
    ("resnet18-trunc-netvlad", ["--backbone", "resnet18", "--truncate-last-stage", "--head",
                                "netvlad", "--clusters", "8", "--input-size", "96"]),
    ("resnet18-trunc-crn", ["--backbone", "resnet18", "--truncate-last-stage", "--head", "crn",
                            "--clusters", "8", "--input-size", "96"]),
    # Non-square input, plain resize and the L2 metric: catches H/W mix-ups in the HWC wrapping.
    ("resnet18-gem-96x64", ["--backbone", "resnet18", "--head", "gem", "--input-size", "96", "64",
                            "--resize", "resize", "--metric", "l2"]),
    ("resnet50-gem", ["--backbone", "resnet50", "--head", "gem", "--input-size", "64"]),
    ("resnet50-trunc-cosplace", ["--backbone", "resnet50", "--truncate-last-stage", "--head",
                                 "cosplace", "--dim", "256", "--input-size", "64"]),
    ("vgg16-gem", ["--backbone", "vgg16", "--head", "gem", "--input-size", "64"]),
    ("efficientnet_b0-gem", ["--backbone", "efficientnet_b0", "--head", "gem", "--input-size",
                             "64"]),
    ("efficientnet_b1-gem", ["--backbone", "efficientnet_b1", "--head", "gem", "--input-size",
                             "64"]),
    ("efficientnet_b0-netvlad", ["--backbone", "efficientnet_b0", "--head", "netvlad", "--clusters",
                                 "4", "--input-size", "64"]),
]
GRADCAM_ARGS = ["--backbone", "resnet18", "--truncate-last-stage", "--head", "cosplace", "--dim",
                "128", "--input-size", "128", "--seed", "3"]
HEAD_OUTPUTS = 6
BAD_BASE = ["--backbone", "resnet18", "--truncate-last-stage", "--head", "gem", "--input-size",
            "32"]
# int8 twins of fp32 archives above (same weights, backbone quantized): (name, arguments). The
# demo and retrieval models use the exporter's default calibration (procedural scenes), so the
# C++ tests measure int8 on synthetic-world photos the calibration never saw.
INT8 = [
    ("demo_int8", ["--demo", "--quantize", "int8"]),
    ("retrieval_int8", ["--backbone", "resnet18", "--head", "gem", "--seed", "0", "--input-size",
                        "160", "--quantize", "int8"]),
    ("gradcam_int8", GRADCAM_ARGS + ["--quantize", "int8", "--calibration-count", "32"]),
    ("resnet18-cosplace-int8", ["--backbone", "resnet18", "--head", "cosplace", "--dim", "128",
                                "--input-size", "64", "--quantize", "int8",
                                "--calibration-count", "16"]),
    ("fp_seed0_int8", BAD_BASE + ["--seed", "0", "--quantize", "int8", "--calibration-count", "8"]),
]


def export(out_dir: str, name: str, argv) -> em.Exported:
    args = em.parse_args(argv + ["-o", os.path.join(out_dir, name + ".pt"), "--quiet"])
    return em.export(args)


def write_reference(out_dir: str, name: str, model: nn.Module, h: int, w: int, seed: int) -> None:
    x = ref.image_batch(2, h, w, seed)
    with torch.no_grad():
        desc = model(x)
    ref.write_tensor(os.path.join(out_dir, f"{name}.inputs.glt"), ref.to_hwc(x))
    ref.write_tensor(os.path.join(out_dir, f"{name}.descriptors.glt"), desc)


def make_matrix(out_dir: str) -> None:
    for i, (name, argv) in enumerate(MATRIX):
        exported = export(out_dir, name, argv)
        h, w = exported.config.input_size
        write_reference(out_dir, name, exported.model, h, w, seed=100 + i)


class SoftmaxHead(nn.Module):
    """A stand-in for a cell classifier: Linear + softmax over HEAD_OUTPUTS classes."""

    def __init__(self, dim: int):
        super().__init__()
        self.fc = nn.Linear(dim, HEAD_OUTPUTS)

    def forward(self, desc: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc(desc), dim=1)


def make_gradcam(out_dir: str) -> None:
    exported = export(out_dir, "gradcam", GRADCAM_ARGS)
    model = exported.model
    dim = exported.config.derived_dim()
    torch.manual_seed(11)
    head = SoftmaxHead(dim).eval()
    # Sharpen the head so its probabilities react to the descriptor (random weights are tiny).
    with torch.no_grad():
        head.fc.weight.mul_(20.0)
    torch.jit.save(torch.jit.script(head), os.path.join(out_dir, "head.pt"),
                   _extra_files={"geoloc_head.json": json.dumps({"outputs": HEAD_OUTPUTS})})
    h, w = exported.config.input_size
    x = ref.image_batch(4, h, w, seed=7)
    with torch.no_grad():
        desc = model(x)
        probs = head(desc)
    ref.write_tensor(os.path.join(out_dir, "gradcam.inputs.glt"), ref.to_hwc(x))
    ref.write_tensor(os.path.join(out_dir, "gradcam.descriptors.glt"), desc)
    ref.write_tensor(os.path.join(out_dir, "gradcam.head_outputs.glt"), probs)
    q = x[:1]
    targets = {
        "similarity": lambda d: (d * desc[1:2]).sum(),
        "mean_similarity": lambda d: (d @ desc[1:4].t()).mean(),
        "head": lambda d: head(d)[0, 2],
    }
    scores = []
    for kind, fn in targets.items():
        cam, score = ref.grad_cam(model, q, fn)
        ref.write_tensor(os.path.join(out_dir, f"gradcam.{kind}.glt"), cam)
        scores.append(score)
    ref.write_tensor(os.path.join(out_dir, "gradcam.scores.glt"), torch.tensor(scores))


class NoPool(nn.Module):
    def __init__(self, inner: gm.GeolocNet):
        super().__init__()
        self.inner = inner

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


class Unnormalised(nn.Module):
    """features/pool/forward present, but pool forgets the final L2 normalisation."""

    def __init__(self, inner: gm.GeolocNet):
        super().__init__()
        self.inner = inner

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(x)

    @torch.jit.export
    def pool(self, fmap: torch.Tensor) -> torch.Tensor:
        return 3.0 * self.inner.pool(fmap)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x))


class UserModel(nn.Module):
    """A model written by hand, not by export_model.py, that meets the contract: it must serve."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.proj = nn.Linear(32, 24)

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))

    @torch.jit.export
    def pool(self, fmap: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.proj(fmap.amax(dim=[2, 3])), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x))


class Bf16Fragile(nn.Module):
    """Meets the contract, but its descriptor is a small difference of large activations, which
    bf16's 8-bit mantissa wipes out: the encoder's load-time bf16 guard must catch it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, stride=4, padding=1)
        with torch.no_grad():
            self.conv.bias.fill_(1000.0)

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    @torch.jit.export
    def pool(self, fmap: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(fmap.mean(dim=[2, 3]) - 1000.0, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x))


class OptimizeFragile(nn.Module):
    """Meets the contract with ops optimize_for_inference handles, but its descriptor is a small
    difference of large activations, so the rewrite's reordered float sums move it by more than
    1e-4: the encoder must notice and keep the frozen graph."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, stride=4, padding=1)
        with torch.no_grad():
            self.conv.bias.fill_(1000.0)

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    @torch.jit.export
    def pool(self, fmap: torch.Tensor) -> torch.Tensor:
        pooled = nn.functional.adaptive_avg_pool2d(fmap, 1).flatten(1)
        return nn.functional.normalize(pooled - 1000.0, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x))


def make_user_model(out_dir: str) -> None:
    torch.manual_seed(12)
    model = UserModel().eval()
    info = {"format_version": 1, "name": "user-maxpool24", "dim": 24, "metric": "ip",
            "input_size": [40, 56], "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
            "fingerprint": "user-model-v1"}
    torch.jit.save(torch.jit.script(model), os.path.join(out_dir, "user_model.pt"),
                   _extra_files={"geoloc.json": json.dumps(info)})
    write_reference(out_dir, "user_model", model, 40, 56, seed=23)

    torch.manual_seed(13)
    fragile = Bf16Fragile().eval()
    info = {**info, "name": "bf16-fragile", "dim": 32, "input_size": [32, 32],
            "fingerprint": "bf16-fragile-v1"}
    torch.jit.save(torch.jit.script(fragile), os.path.join(out_dir, "bf16_fragile.pt"),
                   _extra_files={"geoloc.json": json.dumps(info)})

    torch.manual_seed(14)
    info = {**info, "name": "optimize-fragile", "fingerprint": "optimize-fragile-v1"}
    torch.jit.save(torch.jit.script(OptimizeFragile().eval()),
                   os.path.join(out_dir, "optimize_fragile.pt"),
                   _extra_files={"geoloc.json": json.dumps(info)})


def make_bad(out_dir: str) -> None:
    exported = export(out_dir, "bad_base", BAD_BASE)
    info, model = exported.info, exported.model
    scripted = torch.jit.script(model)

    def save(name: str, module, extra) -> None:
        files = {"geoloc.json": json.dumps(extra)} if extra is not None else {}
        torch.jit.save(module, os.path.join(out_dir, name), _extra_files=files)

    save("bad_no_json.pt", scripted, None)
    save("bad_no_pool.pt", torch.jit.script(NoPool(model)), info)
    save("bad_wrong_dim.pt", scripted, {**info, "dim": info["dim"] + 1})
    save("bad_unnormalised.pt", torch.jit.script(Unnormalised(model)), info)
    save("bad_metric.pt", scripted, {**info, "metric": "cosine"})
    torch.save(model.state_dict(), os.path.join(out_dir, "state_dict.pth"))


def make_fingerprints(out_dir: str) -> None:
    export(out_dir, "fp_seed0_a", BAD_BASE + ["--seed", "0"])
    export(out_dir, "fp_seed0_b", BAD_BASE + ["--seed", "0"])
    export(out_dir, "fp_seed1", BAD_BASE + ["--seed", "1"])


def make_checkpoints(out_dir: str) -> None:
    # A torchvision ResNet-18 state dict (with non-trivial BatchNorm statistics).
    torch.manual_seed(5)
    resnet = torchvision.models.resnet18(weights=None)
    ref.randomise_batchnorm_stats(resnet, seed=5)
    tv_path = os.path.join(out_dir, "torchvision_resnet18.pth")
    torch.save(resnet.state_dict(), tv_path)
    export(out_dir, "ckpt_torchvision", ["--backbone", "resnet18", "--head", "gem", "--input-size",
                                         "64", "--checkpoint", tv_path, "--checkpoint-format",
                                         "torchvision"])
    write_reference(out_dir, "ckpt_torchvision", ref.TorchvisionGeM(resnet).eval(), 64, 64, seed=21)

    # A CosPlace-layout model (ResNet-18, 256-d, learned p = 3.2), saved as CosPlace publishes it.
    torch.manual_seed(6)
    replica = ref.CosPlaceReplica(dim=256, p=3.2)
    ref.randomise_batchnorm_stats(replica, seed=6)
    replica.eval()
    cp_path = os.path.join(out_dir, "cosplace_resnet18_256.pth")
    torch.save(replica.state_dict(), cp_path)
    export(out_dir, "ckpt_cosplace", ["--backbone", "resnet18", "--head", "cosplace",
                                      "--input-size", "64", "--checkpoint", cp_path,
                                      "--checkpoint-format", "cosplace"])
    write_reference(out_dir, "ckpt_cosplace", replica, 64, 64, seed=22)


def make_new_checkpoint_formats(out_dir: str) -> None:
    # CosPlace with an EfficientNet-B0 backbone, in its Sequential(features) layout (backbone.0.*).
    torch.manual_seed(15)
    effnet = ref.CosPlaceEfficientNetReplica(dim=128, p=3.1, wrapped=True)
    ref.randomise_batchnorm_stats(effnet, seed=15)
    effnet.eval()
    path = os.path.join(out_dir, "cosplace_efficientnet_b0_128.pth")
    torch.save(effnet.state_dict(), path)
    export(out_dir, "ckpt_cosplace_effnet", ["--backbone", "efficientnet_b0", "--head",
                                             "cosplace", "--input-size", "64", "--checkpoint",
                                             path, "--checkpoint-format", "cosplace"])
    write_reference(out_dir, "ckpt_cosplace_effnet", effnet, 64, 64, seed=24)

    # pytorch-NetVlad: VGG-16 + NetVLAD (vladv1, 8 clusters), as its save_checkpoint writes it.
    torch.manual_seed(16)
    netvlad = ref.PytorchNetVladReplica(clusters=8).eval()
    path = os.path.join(out_dir, "netvlad_vgg16_8.pth.tar")
    torch.save(ref.pytorch_netvlad_checkpoint(netvlad), path, _use_new_zipfile_serialization=False)
    export(out_dir, "ckpt_netvlad", ["--backbone", "vgg16", "--head", "netvlad", "--input-size",
                                     "64", "--checkpoint", path, "--checkpoint-format", "netvlad"])
    write_reference(out_dir, "ckpt_netvlad", netvlad, 64, 64, seed=25)


def make_trained(out_dir: str) -> None:
    """A few CosPlace steps of tools/train on a tiny world, then its last weights exported."""
    sys.path.insert(0, os.path.join(ref.ROOT, "tests", "train"))
    sys.path.insert(0, os.path.join(ref.ROOT, "tools", "train"))
    import tiny_world  # noqa: E402
    import train  # noqa: E402
    world = os.path.join(out_dir, "trained_world")
    rows = tiny_world.write_world(world, places=6, views=3, size=64, seed=4)
    split = tiny_world.write_split(world, "views.csv", rows)
    run = os.path.join(out_dir, "trained_run")
    if os.path.exists(os.path.join(run, "config.json")):
        import shutil
        shutil.rmtree(run)
    status = train.main(["--method", "cosplace", "--train", split, "--val-queries", split,
                         "--val-database", split, "--input-size", "64", "--dim", "128",
                         "--min-images-per-class", "2", "--group-spacing", "1", "--epochs", "1",
                         "--iterations-per-epoch", "3", "--batch", "6", "--lr", "1e-3",
                         "--threads", "1", "--out", run])
    if status != 0:
        raise RuntimeError(f"tools/train/train.py failed with status {status}")
    # The weights after the last step (best.pth may be epoch 0 on so easy a set), as a geoloc
    # checkpoint with the run's configuration.
    last = gc.restricted_torch_load(os.path.join(run, "state.pth"))["model"]
    initial = gc.load_checkpoint(os.path.join(run, "initial.pth"))
    if all(torch.equal(last[k], initial.state[k]) for k in last):
        raise RuntimeError("tools/train changed no weight")
    path = os.path.join(out_dir, "trained_last.pth")
    torch.save({"state_dict": last, "geoloc_config": initial.meta["geoloc_config"],
                "training": initial.meta["training"]}, path)
    exported = export(out_dir, "trained", ["--checkpoint", path, "--checkpoint-format", "geoloc"])
    write_reference(out_dir, "trained", exported.model, 64, 64, seed=26)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    stamp = os.path.join(args.out, "stamp")
    if os.path.exists(stamp):
        os.unlink(stamp)
    torch.set_num_threads(1)  # the build runs other jobs beside this one
    start = time.time()
    make_matrix(args.out)
    make_gradcam(args.out)
    make_user_model(args.out)
    make_bad(args.out)
    make_fingerprints(args.out)
    make_checkpoints(args.out)
    make_new_checkpoint_formats(args.out)
    make_trained(args.out)
    export(args.out, "retrieval", ["--backbone", "resnet18", "--head", "gem", "--seed", "0",
                                   "--input-size", "160"])
    export(args.out, "demo", ["--demo"])
    for name, argv in INT8:
        export(args.out, name, argv)
    with open(stamp, "w") as f:
        f.write(f"{len(MATRIX)} matrix models, {time.time() - start:.1f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
