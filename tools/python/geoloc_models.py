"""Model definitions behind tools/export_model.py and tools/train: backbones, descriptor heads,
fingerprint and geoloc.json (checkpoint files: geoloc_checkpoints.py).

Every model is a GeolocNet: `backbone` (a torchvision CNN cut before its classifier, an
nn.Sequential whose indices follow CosPlace's layout) and `aggregation` (a descriptor head). It
exposes the three methods of the geoloc model contract (docs/MODEL.md):

    features(x)  normalised batch [B, 3, H, W] -> last conv feature map [B, C, h, w]
    pool(fmap)   feature map -> L2-normalised descriptor [B, D]
    forward(x)   pool(features(x))

Runs with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14).
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

BACKBONES = ("resnet18", "resnet50", "vgg16", "efficientnet_b0", "efficientnet_b1")
HEADS = ("avg", "gem", "cosplace", "netvlad", "crn")
COSPLACE_DIMS = (128, 256, 512, 1024, 2048)

# Channels of the last conv map: (full backbone, ResNet with its last stage removed).
_FEATURE_CHANNELS = {
    "resnet18": (512, 256),
    "resnet50": (2048, 1024),
    "vgg16": (512, None),
    "efficientnet_b0": (1280, None),
    "efficientnet_b1": (1280, None),
}
# VGG-16 keeps features[0..28]: conv5_3 without its ReLU and the last max-pool, as CosPlace does.
VGG16_LAST_LAYER = 28
# NetVLAD's random initialisation: assignment logits 2*alpha*<x, c_k> - alpha*|c_k|^2, i.e. a soft
# nearest-centroid assignment with temperature 1/alpha (Arandjelovic et al.), for unit-norm c_k.
_NETVLAD_INIT_ALPHA = 10.0
# CRN context branch (Kim et al. 2017): filters per kernel size 3, 5, 7.
_CRN_FILTERS = (32, 32, 20)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ModelError(ValueError):
    """A configuration or checkpoint the exporter refuses, with a message a user can act on."""


@dataclass
class ModelConfig:
    backbone: str = "resnet18"
    head: str = "gem"
    dim: Optional[int] = None  # cosplace only; other heads derive D from the backbone
    truncate: bool = False  # ResNets: drop the last stage (layer4)
    gem_p: float = 3.0
    gem_learnable: bool = False
    clusters: int = 64
    input_size: Tuple[int, int] = (224, 224)
    resize: str = "resize_center_crop"
    metric: str = "ip"
    mean: Tuple[float, float, float] = IMAGENET_MEAN
    std: Tuple[float, float, float] = IMAGENET_STD
    seed: int = 0
    name: Optional[str] = None

    def validate(self) -> None:
        if self.backbone not in BACKBONES:
            raise ModelError(f"unknown backbone '{self.backbone}'; "
                             f"choose one of {', '.join(BACKBONES)}")
        if self.head not in HEADS:
            raise ModelError(f"unknown head '{self.head}'; choose one of {', '.join(HEADS)}")
        if self.truncate and not self.backbone.startswith("resnet"):
            raise ModelError("--truncate-last-stage applies to ResNet backbones only")
        if self.head == "cosplace":
            if self.dim is None:
                self.dim = 512
            if self.dim <= 0:
                raise ModelError(f"--dim must be positive, got {self.dim}")
        elif self.dim is not None and self.dim != self.derived_dim():
            raise ModelError(
                f"--dim {self.dim} does not match head '{self.head}', whose dimension is fixed "
                f"by the backbone: {self.derived_dim()} (only the cosplace head has a projection "
                "to choose D)")
        if not self.gem_p > 0:
            raise ModelError(f"--gem-p must be positive, got {self.gem_p}")
        if self.head in ("netvlad", "crn") and not 1 <= self.clusters <= 4096:
            raise ModelError(f"--clusters must be in [1, 4096], got {self.clusters}")
        h, w = self.input_size
        if not (16 <= h <= 4096 and 16 <= w <= 4096):
            raise ModelError(f"--input-size must be within [16, 4096] per side, got {h}x{w}")
        if self.resize not in ("resize_center_crop", "resize"):
            raise ModelError(f"--resize must be resize_center_crop or resize, got '{self.resize}'")
        if self.metric not in ("ip", "l2"):
            raise ModelError(f"--metric must be ip or l2, got '{self.metric}'")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ModelError("--mean and --std need 3 values each (RGB), std > 0")

    def feature_channels(self) -> int:
        full, truncated = _FEATURE_CHANNELS[self.backbone]
        return truncated if self.truncate else full

    def derived_dim(self) -> int:
        c = self.feature_channels()
        if self.head in ("netvlad", "crn"):
            return self.clusters * c
        if self.head == "cosplace":
            return self.dim if self.dim is not None else 512
        return c

    def default_name(self) -> str:
        trunc = "-trunc" if self.truncate else ""
        return f"{self.backbone}{trunc}-{self.head}{self.derived_dim()}"


# ---------------------------------------------------------------------------------------------
# Heads. Each L2-normalises every location's C-vector first (as CosPlace and NetVLAD do, and seed
# 003 for its base and GeM heads), and ends with an L2 normalisation of the descriptor.


class AvgHead(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        x = F.normalize(x, p=2.0, dim=1)
        return F.normalize(F.adaptive_avg_pool2d(x, 1).flatten(1), p=2.0, dim=1)


class GeMFixed(nn.Module):
    """Generalised mean with a constant exponent: a plain float, so freezing folds it away."""

    p: float
    eps: float

    def __init__(self, p: float, eps: float = 1e-6):
        super().__init__()
        self.p = float(p)
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(self.p), 1).pow(1.0 / self.p)


class GeMLearnable(nn.Module):
    """Generalised mean with a learnable exponent (a Parameter of shape [1], CosPlace's layout)."""

    eps: float

    def __init__(self, p: float, eps: float = 1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * p)
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(self.p), 1).pow(1.0 / self.p)


def make_gem(p: float, learnable: bool) -> nn.Module:
    return GeMLearnable(p) if learnable else GeMFixed(p)


class GeMHead(nn.Module):
    def __init__(self, p: float, learnable: bool):
        super().__init__()
        self.gem = make_gem(p, learnable)

    def forward(self, x: Tensor) -> Tensor:
        x = F.normalize(x, p=2.0, dim=1)
        return F.normalize(self.gem(x).flatten(1), p=2.0, dim=1)


class CosPlaceHead(nn.Module):
    """CosPlace's aggregation: L2Norm, GeM, Flatten, Linear(C, D), L2Norm."""

    def __init__(self, channels: int, dim: int, p: float, learnable: bool):
        super().__init__()
        self.gem = make_gem(p, learnable)
        self.fc = nn.Linear(channels, dim)

    def forward(self, x: Tensor) -> Tensor:
        x = F.normalize(x, p=2.0, dim=1)
        x = self.gem(x).flatten(1)
        return F.normalize(self.fc(x), p=2.0, dim=1)


class NetVLADHead(nn.Module):
    """NetVLAD: soft assignment (1x1 conv + softmax), residual sums, intra-normalisation, L2."""

    def __init__(self, channels: int, clusters: int):
        super().__init__()
        self.assign = nn.Conv2d(channels, clusters, kernel_size=1, bias=True)
        self.centroids = nn.Parameter(torch.empty(clusters, channels))
        self.reset_vlad_parameters()

    def reset_vlad_parameters(self) -> None:
        with torch.no_grad():
            c = F.normalize(torch.randn_like(self.centroids), p=2.0, dim=1)
            self.centroids.copy_(c)
            self.assign.weight.copy_((2.0 * _NETVLAD_INIT_ALPHA * c)[:, :, None, None])
            self.assign.bias.fill_(-_NETVLAD_INIT_ALPHA)

    def aggregate(self, x: Tensor, assignment: Tensor) -> Tensor:
        # V[k] = sum_i a_k(x_i) (x_i - c_k) = (A X^T)[k] - c_k * sum_i a_k(x_i): one batched
        # matmul instead of a [B, K, C, N] residual tensor.
        a = assignment.flatten(2)  # [B, K, N]
        xf = x.flatten(2)  # [B, C, N]
        mass = a.sum(2).unsqueeze(2)  # [B, K, 1]
        vlad = torch.bmm(a, xf.transpose(1, 2)) - self.centroids.unsqueeze(0) * mass
        vlad = F.normalize(vlad, p=2.0, dim=2)  # intra-normalisation, per cluster
        return F.normalize(vlad.flatten(1), p=2.0, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        x = F.normalize(x, p=2.0, dim=1)
        return self.aggregate(x, F.softmax(self.assign(x), dim=1))


class CRNHead(nn.Module):
    """Contextual Reweighting Network: a mask from 3/5/7 convs on half-resolution features,
    upsampled bilinearly, multiplies NetVLAD's soft assignments (Kim, Dunn, Frahm 2017)."""

    def __init__(self, channels: int, clusters: int):
        super().__init__()
        f3, f5, f7 = _CRN_FILTERS
        self.context3 = nn.Conv2d(channels, f3, kernel_size=3, padding=1)
        self.context5 = nn.Conv2d(channels, f5, kernel_size=5, padding=2)
        self.context7 = nn.Conv2d(channels, f7, kernel_size=7, padding=3)
        self.accumulate = nn.Conv2d(f3 + f5 + f7, 1, kernel_size=1)
        self.netvlad = NetVLADHead(channels, clusters)

    def context_mask(self, x: Tensor) -> Tensor:
        # ceil_mode keeps a 1x1 (or odd-sized) map alive at half resolution.
        m = F.avg_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
        m = torch.cat([F.relu(self.context3(m)), F.relu(self.context5(m)),
                       F.relu(self.context7(m))], 1)
        m = self.accumulate(m)
        return F.interpolate(m, size=[x.size(2), x.size(3)], mode="bilinear", align_corners=False)

    def forward(self, x: Tensor) -> Tensor:
        mask = self.context_mask(x)
        xn = F.normalize(x, p=2.0, dim=1)
        assignment = F.softmax(self.netvlad.assign(xn), dim=1) * mask
        return self.netvlad.aggregate(xn, assignment)


# ---------------------------------------------------------------------------------------------


class GeolocNet(nn.Module):
    """The exported model: features / pool / forward (docs/MODEL.md)."""

    def __init__(self, backbone: nn.Sequential, aggregation: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.aggregation = aggregation

    @torch.jit.export
    def features(self, x: Tensor) -> Tensor:
        return self.backbone(x)

    @torch.jit.export
    def pool(self, fmap: Tensor) -> Tensor:
        return self.aggregation(fmap)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.features(x))


def _torchvision_model(backbone: str) -> nn.Module:
    return getattr(torchvision.models, backbone)(weights=None)


def build_backbone(config: ModelConfig) -> nn.Sequential:
    model = _torchvision_model(config.backbone)
    if config.backbone.startswith("resnet"):
        layers = list(model.children())[:-2]  # drop avgpool and fc
        if config.truncate:
            layers = layers[:-1]  # drop layer4
    elif config.backbone == "vgg16":
        layers = list(model.features.children())[: VGG16_LAST_LAYER + 1]
    else:  # EfficientNet: the whole feature extractor, ending with its 1x1 conv to 1280 channels
        layers = list(model.features.children())
    return nn.Sequential(*layers)


def build_head(config: ModelConfig) -> nn.Module:
    c = config.feature_channels()
    if config.head == "avg":
        return AvgHead()
    if config.head == "gem":
        return GeMHead(config.gem_p, config.gem_learnable)
    if config.head == "cosplace":
        return CosPlaceHead(c, config.dim, config.gem_p, config.gem_learnable)
    if config.head == "netvlad":
        return NetVLADHead(c, config.clusters)
    return CRNHead(c, config.clusters)


def build_model(config: ModelConfig) -> GeolocNet:
    """A randomly initialised model; the same config (seed included) gives the same weights."""
    config.validate()
    torch.manual_seed(config.seed)
    backbone = build_backbone(config)
    head = build_head(config)
    return GeolocNet(backbone, head).eval()


# ---------------------------------------------------------------------------------------------
# Fingerprint and metadata.


def architecture_record(config: ModelConfig) -> Dict[str, object]:
    """What besides the state dict decides the descriptors (hashed into the fingerprint)."""
    return {
        "backbone": config.backbone, "head": config.head, "dim": config.derived_dim(),
        "truncate": config.truncate, "gem_p": config.gem_p if not config.gem_learnable else None,
        "clusters": config.clusters if config.head in ("netvlad", "crn") else None,
        "input_size": list(config.input_size), "resize": config.resize, "metric": config.metric,
        "mean": list(config.mean), "std": list(config.std),
    }


def state_dict_fingerprint(state: Dict[str, Tensor],
                           extra: Optional[Dict[str, object]] = None) -> str:
    """SHA-256 over the state dict (keys sorted; per entry: key, dtype, shape, raw bytes; for a
    quantized tensor also its scheme, scales and zero points, then its integers) and, when given,
    the canonical JSON of `extra`. Any change of any weight changes it. Float entries hash exactly
    as they always did, so fp32 fingerprints of earlier exports stay valid."""
    h = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        h.update(key.encode())
        if not isinstance(value, Tensor):  # e.g. a packed-parameter dtype in a quantized module
            h.update(f"|{type(value).__name__}|{value!r}|".encode())
            continue
        t = value.detach().to("cpu")
        h.update(f"|{t.dtype}|{list(t.shape)}|".encode())
        if t.is_quantized:
            # int8 weights: the integers plus the quantization parameters that give them meaning.
            h.update(f"{t.qscheme()}|".encode())
            if t.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric,
                               torch.per_channel_affine_float_qparams):
                h.update(f"axis {t.q_per_channel_axis()}|".encode())
                h.update(_tensor_bytes(t.q_per_channel_scales().to(torch.float64)))
                h.update(_tensor_bytes(t.q_per_channel_zero_points().to(torch.int64)))
            else:
                h.update(f"{float(t.q_scale())!r}|{int(t.q_zero_point())}|".encode())
            t = t.int_repr()
        h.update(_tensor_bytes(t))
    if extra is not None:
        h.update(json.dumps(extra, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def _tensor_bytes(t: Tensor) -> bytes:
    t = t.contiguous()
    return t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""


def model_fingerprint(model: nn.Module, config: ModelConfig) -> str:
    return state_dict_fingerprint(model.state_dict(), architecture_record(config))


def geoloc_json(config: ModelConfig, fingerprint: str,
                source: Dict[str, object]) -> Dict[str, object]:
    info = {
        "format_version": 1,
        "name": config.name or config.default_name(),
        "backbone": config.backbone + ("-truncated" if config.truncate else ""),
        "head": config.head,
        "dim": config.derived_dim(),
        "metric": config.metric,
        "input_size": list(config.input_size),
        "resize": config.resize,
        "mean": list(config.mean),
        "std": list(config.std),
        "fingerprint": fingerprint,
        "feature_channels": config.feature_channels(),
        "truncate": config.truncate,
        "source": source,
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
    }
    if config.head in ("gem", "cosplace"):
        info["gem_p"] = config.gem_p if not config.gem_learnable else "learnable"
    if config.head in ("netvlad", "crn"):
        info["clusters"] = config.clusters
    return info


def max_abs_diff(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max())


def to_plain(config: ModelConfig) -> Dict[str, object]:
    return asdict(config)
