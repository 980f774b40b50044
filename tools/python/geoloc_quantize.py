"""Static int8 quantization of a GeolocNet's backbone, and the images that calibrate it.

    sets = calibration_sets(config, source=None, count=64)   # or a folder / CSV of images
    qmodel = quantize_backbone(model, sets.calibration)       # backbone int8, pool (head) fp32

What quantize_backbone does (PyTorch FX graph mode, torch.ao.quantization.quantize_fx):
  * traces `model.backbone` (an nn.Sequential of torchvision layers), fuses conv + BN (+ ReLU);
  * inserts observers with the "fbgemm" qconfig: activations quint8 with reduce_range (7 bits,
    a histogram observer that minimises the quantization error), weights qint8 per output
    channel, symmetric. reduce_range keeps the int8 products from saturating on CPUs without
    VNNI under either engine (FBGEMM, or oneDNN, the only x86 engine in Debian's LibTorch), so one
    archive serves on every x86 CPU; on this model it cost nothing measurable (docs/MODEL.md);
  * runs the calibration images through it, then converts: a quantize at the input, int8 kernels
    inside, and a dequantize at the end, so `features(x)` still returns a float [B, C, h, w] map
    and `pool` stays fp32. Grad-CAM, which differentiates pool(A) with respect to A =
    features(x), therefore works on an int8 archive as on an fp32 one;
  * swaps the input's quantize_per_tensor for quantize_input (below): the same integers, but
    ATen's own kernel is scalar without FBGEMM (Debian's build) and took 15% of an int8 ResNet-18
    forward.

Calibration sets (case table):
  source                          -> images
  None                            -> `count` procedural street-like scenes (seeded; see below)
  a directory                     -> image files under it (jpg, jpeg, png, bmp, webp), sorted,
                                     `count` of them evenly spaced
  a .csv file                     -> its `path` column (or first column), relative to the CSV;
                                     rows whose `split` column is "query" are left out (a
                                     geoloc-synth world.csv keeps its queries for evaluation)
Images are preprocessed as the server does (resize_center_crop or resize to the input size, then
mean/std); unreadable files are an error naming them.

The default set is a stand-in: activation ranges of a randomly initialised model depend on little
more than image statistics, so procedural scenes calibrate it about as well as photos. A model with
trained weights should be calibrated on a few hundred photos from the domain it will serve.
"""

import copy
import csv
import hashlib
import math
import os
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import geoloc_models as gm

QUANTIZATIONS = ("int8",)
QCONFIG_BACKEND = "fbgemm"
DEFAULT_CALIBRATION_COUNT = 64
DEFAULT_CALIBRATION_SEED = 20240
CALIBRATION_BATCH = 8
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class CalibrationError(gm.ModelError):
    """A calibration set that cannot be used (missing, empty, unreadable image)."""


# ---------------------------------------------------------------------------------------------
# Quantization.


def quantization_record() -> Dict[str, object]:
    """What decides the int8 model besides its weights and calibration (goes into geoloc.json and
    the fingerprint)."""
    return {"scheme": "int8", "method": "fx_static", "scope": "backbone",
            "qconfig": QCONFIG_BACKEND, "activations": "quint8_reduce_range_histogram",
            "weights": "qint8_per_channel_symmetric"}


def quantize_input(x: Tensor, scale: Tensor, zero_point: Tensor) -> Tensor:
    """torch.quantize_per_tensor(x, scale, zero_point, torch.quint8), the same integers (as
    ATen: zero_point + round-half-even(x * (1 / scale)), clamped to [0, 255]), in vectorised
    passes: ATen's kernel is a scalar loop in builds without FBGEMM. Scripted into the archive."""
    s = float(scale.item())
    z = int(zero_point.item())
    q = x.mul(1.0 / s)
    q.round_()
    q.add_(z)
    q.clamp_(0, 255)
    return torch._make_per_tensor_quantized_tensor(q.to(torch.uint8), s, z)


def _use_fast_input_quantize(module: torch.fx.GraphModule) -> int:
    """Replaces quantize_per_tensor(graph input, scale, zero point, quint8) by quantize_input.
    Returns how many nodes it replaced."""
    inputs = {n for n in module.graph.nodes if n.op == "placeholder"}
    replaced = 0
    for node in list(module.graph.nodes):
        if (node.op == "call_function" and node.target is torch.quantize_per_tensor
                and len(node.args) == 4 and node.args[0] in inputs
                and node.args[3] == torch.quint8):
            with module.graph.inserting_after(node):
                fast = module.graph.call_function(quantize_input, node.args[:3])
            node.replace_all_uses_with(fast)
            module.graph.erase_node(node)
            replaced += 1
    module.graph.lint()
    module.recompile()
    return replaced


def quantize_backbone(model: gm.GeolocNet, images: Tensor,
                      batch: int = CALIBRATION_BATCH) -> gm.GeolocNet:
    """A new GeolocNet whose backbone is statically quantized (int8) after calibration on
    `images` (normalised [N, 3, H, W]); `model` is left as it was. The head is shared."""
    # Imported here: torch.ao's FX modules take a while to import and fp32 exports do not need them.
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    if images.dim() != 4 or images.shape[0] == 0:
        raise CalibrationError("quantization needs at least one calibration image")
    backbone = copy.deepcopy(model.backbone).eval()
    mapping = get_default_qconfig_mapping(QCONFIG_BACKEND)
    with warnings.catch_warnings():
        # torch 1.13 announces that observers' reduce_range will be renamed; it is what we want.
        warnings.filterwarnings("ignore", message=".*reduce_range will be deprecated.*")
        prepared = prepare_fx(backbone, mapping, example_inputs=(images[:1],))
        with torch.no_grad():
            for start in range(0, images.shape[0], batch):
                prepared(images[start:start + batch])
        quantized = convert_fx(prepared)
    _use_fast_input_quantize(quantized)
    return gm.GeolocNet(quantized, model.aggregation).eval()


# ---------------------------------------------------------------------------------------------
# Calibration images.


def _normalise(rgb01: Tensor, config: gm.ModelConfig) -> Tensor:
    mean = torch.tensor(config.mean).view(1, 3, 1, 1)
    std = torch.tensor(config.std).view(1, 3, 1, 1)
    return (rgb01 - mean) / std


def _smooth_noise(gen: torch.Generator, channels: int, h: int, w: int, cells: int) -> Tensor:
    """Low-frequency noise in [0, 1]: a random cells x cells grid upsampled bilinearly."""
    grid = torch.rand(1, channels, cells, cells, generator=gen)
    return F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)[0]


def procedural_scene(gen: torch.Generator, h: int, w: int) -> Tensor:
    """One street-like scene, RGB in [0, 1], [3, h, w]: a sky gradient over a textured ground,
    blocks with window grids, round shapes, uneven light, sensor noise and a little blur."""
    ys = torch.linspace(0, 1, h).view(h, 1)
    xs = torch.linspace(0, 1, w).view(1, w)
    horizon = 0.3 + 0.35 * float(torch.rand(1, generator=gen))
    sky_top, sky_bottom, ground = (torch.rand(3, generator=gen) for _ in range(3))
    img = torch.empty(3, h, w)
    t = (ys / horizon).clamp(0, 1)
    for c in range(3):
        sky = sky_top[c] * (1 - t) + sky_bottom[c] * t
        img[c] = sky.expand(h, w)
    below = (ys >= horizon).expand(h, w)
    texture = _smooth_noise(gen, 1, h, w, 24)[0] * 0.3 + _smooth_noise(gen, 1, h, w, 6)[0] * 0.3
    for c in range(3):
        img[c] = torch.where(below, ground[c] * 0.7 + texture, img[c])
    for _ in range(int(torch.randint(3, 10, (1,), generator=gen))):
        x0, x1 = sorted(float(v) for v in torch.rand(2, generator=gen))
        top = horizon * float(torch.rand(1, generator=gen))
        bottom = horizon + (1 - horizon) * 0.5 * float(torch.rand(1, generator=gen))
        inside = (xs >= x0) & (xs <= x1) & (ys >= top) & (ys <= bottom)
        colour = torch.rand(3, generator=gen)
        period = 4 + int(torch.randint(0, 12, (1,), generator=gen))
        rows = torch.arange(h).view(h, 1) % period < period // 2
        cols = torch.arange(w).view(1, w) % period < period // 2
        windows = (rows & cols).float() * 0.35 * float(torch.rand(1, generator=gen))
        for c in range(3):
            img[c] = torch.where(inside, colour[c] - windows, img[c])
    for _ in range(int(torch.randint(0, 4, (1,), generator=gen))):
        cx, cy, r = (float(v) for v in torch.rand(3, generator=gen))
        r = 0.03 + 0.15 * r
        inside = ((xs - cx) ** 2 + (ys - cy) ** 2) < r * r
        colour = torch.rand(3, generator=gen)
        for c in range(3):
            img[c] = torch.where(inside, colour[c], img[c])
    img = img * (0.6 + 0.8 * _smooth_noise(gen, 1, h, w, 3))
    img = img + 0.03 * torch.randn(3, h, w, generator=gen)
    img = F.avg_pool2d(img.unsqueeze(0), 3, stride=1, padding=1, count_include_pad=False)[0]
    return img.clamp(0, 1)


def procedural_images(config: gm.ModelConfig, count: int,
                      seed: int = DEFAULT_CALIBRATION_SEED) -> Tensor:
    """`count` procedural scenes at the model's input size, normalised like the server's input."""
    h, w = config.input_size
    gen = torch.Generator().manual_seed(seed)
    scenes = torch.stack([procedural_scene(gen, h, w) for _ in range(count)])
    return _normalise(scenes, config)


def _load_rgb01(path: str, config: gm.ModelConfig) -> Tensor:
    """One image file as the server preprocesses it: EXIF orientation, resize (+ centre crop)."""
    from PIL import Image, ImageOps  # python3-pil (tools/packages.txt)

    h, w = config.input_size
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            if config.resize == "resize":
                im = im.resize((w, h), Image.BILINEAR)
            else:
                scale = max(h / im.height, w / im.width)
                rw = max(w, int(math.ceil(im.width * scale - 1e-6)))
                rh = max(h, int(math.ceil(im.height * scale - 1e-6)))
                im = im.resize((rw, rh), Image.BILINEAR)
                left, top = (rw - w) // 2, (rh - h) // 2
                im = im.crop((left, top, left + w, top + h))
            data = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
    except (OSError, ValueError) as e:
        raise CalibrationError(f"{path}: cannot read the calibration image ({e})") from None
    return data.view(h, w, 3).permute(2, 0, 1).float() / 255.0


def _csv_paths(csv_path: str) -> List[str]:
    base = os.path.dirname(os.path.abspath(csv_path))
    try:
        with open(csv_path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise CalibrationError(f"{csv_path}: cannot read ({e.strerror})") from None
    if not rows:
        raise CalibrationError(f"{csv_path}: empty CSV")
    header = [c.strip().lower() for c in rows[0]]
    path_col, split_col = 0, None
    if "path" in header:
        path_col = header.index("path")
        split_col = header.index("split") if "split" in header else None
        rows = rows[1:]
    elif rows[0] and not rows[0][0].lower().endswith(IMAGE_SUFFIXES):
        rows = rows[1:]  # some other header (e.g. im2gps's id,lat,lon)
    paths = []
    for row in rows:
        if len(row) <= path_col or not row[path_col].strip():
            continue
        if split_col is not None and len(row) > split_col and row[split_col].strip() == "query":
            continue
        p = row[path_col].strip()
        paths.append(p if os.path.isabs(p) else os.path.join(base, p))
    return paths


def _directory_paths(directory: str) -> List[str]:
    paths = []
    for root, _, files in os.walk(directory):
        paths.extend(os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_SUFFIXES))
    return sorted(paths)


def _evenly_spaced(items: Sequence[str], count: int) -> List[str]:
    if len(items) <= count:
        return list(items)
    return [items[(i * len(items)) // count] for i in range(count)]


class CalibrationSets(NamedTuple):
    calibration: Tensor  # normalised [N, 3, H, W]: observed to choose the activation ranges
    check: Tensor  # normalised [M, 3, H, W], disjoint from `calibration`: the int8 quality guard
    record: Dict[str, object]  # what calibrated the model, for geoloc.json
    check_source: str  # "held_out" (unused images of the same set) or "procedural"


def _image_paths(source: str) -> Tuple[List[str], str]:
    if os.path.isdir(source):
        return _directory_paths(source), "directory"
    if os.path.isfile(source) and source.lower().endswith(".csv"):
        return _csv_paths(source), "csv"
    if os.path.exists(source):
        raise CalibrationError(f"{source}: --calibration-images takes a directory of images or a "
                               "CSV whose first (or `path`) column names images")
    raise CalibrationError(f"{source}: no such file or directory")


def calibration_sets(config: gm.ModelConfig, source: Optional[str],
                     count: int = DEFAULT_CALIBRATION_COUNT,
                     check_count: int = 16) -> CalibrationSets:
    """The calibration images (see the module's case table) and a disjoint check set: images of
    the same set left out of calibration when there are enough, else procedural scenes drawn
    with another seed."""
    if count < 1:
        raise CalibrationError(f"--calibration-count must be at least 1, got {count}")
    procedural_check = procedural_images(config, check_count, seed=DEFAULT_CALIBRATION_SEED + 1)
    if source is None:
        record = {"source": "procedural", "seed": DEFAULT_CALIBRATION_SEED, "images": count}
        return CalibrationSets(procedural_images(config, count), procedural_check, record,
                               "procedural")
    paths, kind = _image_paths(source)
    if not paths:
        raise CalibrationError(f"{source}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    chosen = _evenly_spaced(paths, count)
    taken = set(chosen)
    rest = [p for p in paths if p not in taken]
    images = _normalise(torch.stack([_load_rgb01(p, config) for p in chosen]), config)
    root = source if kind == "directory" else os.path.dirname(os.path.abspath(source))
    digest = hashlib.sha256()
    for p in chosen:
        digest.update(os.path.relpath(p, root).encode())
        digest.update(b"\0")
    record = {"source": kind, "name": os.path.basename(os.path.normpath(source)),
              "images": len(chosen), "available": len(paths), "paths_sha256": digest.hexdigest()}
    if len(rest) >= check_count:
        check = _normalise(torch.stack([_load_rgb01(p, config)
                                        for p in _evenly_spaced(rest, check_count)]), config)
        return CalibrationSets(images, check, record, "held_out")
    return CalibrationSets(images, procedural_check, record, "procedural")


def descriptor_cosines(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise cosine of two batches of descriptors."""
    return F.cosine_similarity(a, b, dim=1)


def is_quantized_module(model: nn.Module) -> bool:
    return any(getattr(t, "is_quantized", False) for t in model.state_dict().values()
               if isinstance(t, Tensor))
