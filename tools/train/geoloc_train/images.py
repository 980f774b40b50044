"""Pictures in, tensors out: decoding, the serving preprocessing, and seed 002's augmentations.

Serving preprocessing (what the C++ pipeline does, docs/IMAGES.md): EXIF orientation, then for
`resize_center_crop` the centred largest rectangle with the model's aspect ratio, for `resize`
the whole picture, resized to H x W (antialiased bilinear here, area + bilinear in C++; the
difference is far below what training changes), RGB, (x / 255 - mean) / std. Validation, NetVLAD
mining and k-means see images this way, as geolocd will.

Training augmentation (seed 002's best settings, CosPlace's pipeline): random rotation within
+-10 degrees, a random resized crop covering 50-100% of the area (aspect ratio within 3/4..4/3 of
the model's), colour jitter (brightness 0.8, contrast 0.3, saturation 0.7, hue 0, in a random
order), normalisation, and random erasing (p 0.5) of a square 16/512 of the short side (seed 002's
Cutout(16, 0.5, 0) at CosPlace's 512 px). Every random number is drawn in advance from the
caller's torch.Generator (AugmentDraw), so a batch is a pure function of the generator state,
whichever thread decodes it, and a resumed run sees exactly the images an uninterrupted one would.

  pixels = load_preprocessed(path, (120, 160), "resize_center_crop")     # uint8 [3, H, W]
  x = normalise(torch.stack([pixels]), mean, std)                         # float [1, 3, H, W]
  draw = AugmentDraw.sample(generator)
  x = augment(load_image(path, (120, 160)), draw, settings, (120, 160), mean, std)
"""

import math
from dataclasses import asdict, dataclass
from typing import Sequence, Tuple

import torch
import torchvision.transforms.functional as TF
from PIL import Image, ImageOps
from torch import Tensor

# Uniform draws per augmented image: rotation 1, crop 10 attempts x (area, ratio, top, left),
# jitter 4, erase 3.
_CROP_ATTEMPTS = 10
_CROP_UNIFORMS = 4 * _CROP_ATTEMPTS
_UNIFORMS = 1 + _CROP_UNIFORMS + 4 + 3


@dataclass(frozen=True)
class AugmentSettings:
    """Seed 002's augmentation settings (its Table 2 winners); 0 disables a step."""

    rotation_deg: float = 10.0
    crop_min_area: float = 0.5  # CosPlace's --random_resized_crop 0.5: scale [0.5, 1]
    brightness: float = 0.8
    contrast: float = 0.3
    saturation: float = 0.7
    hue: float = 0.0
    erase_probability: float = 0.5
    erase_fraction: float = 16.0 / 512.0  # of the short side

    def record(self):
        return asdict(self)


NO_AUGMENTATION = AugmentSettings(0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class AugmentDraw:
    uniforms: Tensor  # [_UNIFORMS] in [0, 1)
    jitter_order: Tuple[int, ...]

    @staticmethod
    def sample(generator: torch.Generator) -> "AugmentDraw":
        u = torch.rand(_UNIFORMS, generator=generator, dtype=torch.float64)
        order = tuple(torch.randperm(4, generator=generator).tolist())
        return AugmentDraw(u, order)


def load_image(path: str, target_hw: Sequence[int]) -> Image.Image:
    """RGB picture, EXIF-oriented; big JPEGs are decoded at a reduced scale that still keeps at
    least twice the target size on each side."""
    with Image.open(path) as img:
        if img.format == "JPEG":
            img.draft("RGB", (2 * int(target_hw[1]), 2 * int(target_hw[0])))
        img = ImageOps.exif_transpose(img)
        return img.convert("RGB")


def serving_region(width: int, height: int, target_hw: Sequence[int], resize: str):
    """(left, top, right, bottom): the whole image, or the centred largest rectangle with the
    target's aspect ratio (C++'s CropRegion)."""
    if resize == "resize":
        return (0, 0, width, height)
    th, tw = target_hw
    if width * th > height * tw:  # wider than the target: crop the sides
        w = height * tw / th
        left = (width - w) / 2
        return (left, 0, left + w, height)
    h = width * th / tw
    top = (height - h) / 2
    return (0, top, width, top + h)


def to_uint8_tensor(img: Image.Image) -> Tensor:
    return TF.pil_to_tensor(img)  # uint8 [3, H, W]


def load_preprocessed(path: str, target_hw: Sequence[int], resize: str) -> Tensor:
    """uint8 [3, H, W]: the picture as the serving pipeline sees it, before normalisation."""
    img = load_image(path, target_hw)
    region = serving_region(img.width, img.height, target_hw, resize)
    img = img.resize((int(target_hw[1]), int(target_hw[0])), Image.BILINEAR, box=region)
    return to_uint8_tensor(img)


def normalise(pixels: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """uint8 [..., 3, H, W] -> float (x / 255 - mean) / std."""
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return (pixels.float() / 255.0 - m) / s


def _crop_box(width: int, height: int, u: Tensor, settings: AugmentSettings, aspect: float):
    """torchvision's RandomResizedCrop.get_params with pre-drawn uniforms; aspect = W / H of the
    model input, around which the crop's aspect ratio varies by 3/4..4/3."""
    area = width * height
    log_lo, log_hi = math.log(aspect * 3 / 4), math.log(aspect * 4 / 3)
    for attempt in range(_CROP_ATTEMPTS):
        a, r, ut, ul = (float(v) for v in u[4 * attempt:4 * attempt + 4])
        target_area = area * (settings.crop_min_area + (1 - settings.crop_min_area) * a)
        ratio = math.exp(log_lo + (log_hi - log_lo) * r)
        w = int(round(math.sqrt(target_area * ratio)))
        h = int(round(math.sqrt(target_area / ratio)))
        if 0 < w <= width and 0 < h <= height:
            return int((height - h + 1) * ut), int((width - w + 1) * ul), h, w
    # Fallback, as torchvision: the largest centred crop with the target aspect ratio.
    if width / height > aspect:
        h = height
        w = int(round(h * aspect))
    else:
        w = width
        h = int(round(w / aspect))
    return (height - h) // 2, (width - w) // 2, h, w


def augment(img: Image.Image, draw: AugmentDraw, settings: AugmentSettings,
            target_hw: Sequence[int], mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """float [3, H, W], normalised, augmented as described above."""
    u = draw.uniforms
    th, tw = int(target_hw[0]), int(target_hw[1])
    x = to_uint8_tensor(img).float() / 255.0
    if settings.rotation_deg > 0:
        angle = (2 * float(u[0]) - 1) * settings.rotation_deg
        x = TF.rotate(x, angle, interpolation=TF.InterpolationMode.BILINEAR)
    top, left, h, w = _crop_box(x.shape[2], x.shape[1], u[1:1 + _CROP_UNIFORMS], settings,
                                tw / th)
    x = TF.resized_crop(x, top, left, h, w, [th, tw], antialias=True)
    j = u[1 + _CROP_UNIFORMS:]
    for step in draw.jitter_order:
        if step == 0 and settings.brightness > 0:
            x = TF.adjust_brightness(x, 1 + settings.brightness * (2 * float(j[0]) - 1))
        elif step == 1 and settings.contrast > 0:
            x = TF.adjust_contrast(x, 1 + settings.contrast * (2 * float(j[1]) - 1))
        elif step == 2 and settings.saturation > 0:
            x = TF.adjust_saturation(x, 1 + settings.saturation * (2 * float(j[2]) - 1))
        elif step == 3 and settings.hue > 0:
            x = TF.adjust_hue(x, settings.hue * (2 * float(j[3]) - 1))
    x = x.clamp(0.0, 1.0)
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    x = (x - m) / s
    e = u[1 + _CROP_UNIFORMS + 4:]
    if settings.erase_probability > 0 and float(e[0]) < settings.erase_probability:
        side = max(1, int(round(settings.erase_fraction * min(th, tw))))
        top = int(float(e[1]) * (th - side + 1))
        left = int(float(e[2]) * (tw - side + 1))
        x[:, top:top + side, left:left + side] = 0.0  # the mean colour after normalisation
    return x
