"""Independent Python references for the model tests (Debian's /usr/bin/python3).

- write_tensor: the tiny GLT1 tensor file the C++ tests read (tests/model/test_tensors.h):
  b"GLT1", int32 ndim, int64 dims[ndim], float32 data (row-major, little-endian).
- image_batch: deterministic image-like inputs (smooth colour fields plus fine texture).
- grad_cam: Grad-CAM with torch autograd on an eager module (seed 001's recipe).
- CosPlaceReplica: a model in the layout CosPlace / EigenPlaces publish, for checkpoint tests.
- TorchvisionGeM: a torchvision ResNet followed by GeM written out by hand, for checkpoint tests.
"""

import os
import struct
import sys
from typing import Callable

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "python"))


def write_tensor(path: str, t: Tensor) -> None:
    t = t.detach().to(torch.float32).contiguous()
    with open(path, "wb") as f:
        f.write(b"GLT1")
        f.write(struct.pack("<i", t.dim()))
        f.write(struct.pack(f"<{t.dim()}q", *t.shape))
        f.write(t.numpy().astype("<f4").tobytes())


def image_batch(n: int, h: int, w: int, seed: int) -> Tensor:
    """[n, 3, h, w] normalised-looking inputs: smooth colour regions plus fine texture."""
    g = torch.Generator().manual_seed(seed)
    low = torch.randn(n, 3, 5, 5, generator=g)
    smooth = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    return 1.2 * smooth + 0.3 * torch.randn(n, 3, h, w, generator=g)


def to_hwc(x: Tensor) -> Tensor:
    return x.permute(0, 2, 3, 1).contiguous()


def grad_cam(model: nn.Module, x: Tensor, score_fn: Callable[[Tensor], Tensor]):
    """(coarse map [h, w] = ReLU(sum_c mean(dS/dA_c) * A_c), score) for one image x [1, 3, H, W]."""
    with torch.no_grad():
        fmap = model.features(x)
    fmap = fmap.detach().requires_grad_(True)
    score = score_fn(model.pool(fmap))
    grad, = torch.autograd.grad(score, fmap)
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * fmap.detach()).sum(dim=1))[0]
    return cam.detach(), float(score)


class L2Norm(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(x, p=2.0, dim=1)


class GeMParam(nn.Module):
    def __init__(self, p: float):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * p)

    def forward(self, x: Tensor) -> Tensor:
        pooled = F.avg_pool2d(x.clamp(min=1e-6).pow(self.p), (x.size(-2), x.size(-1)))
        return pooled.pow(1.0 / self.p)


class Flatten(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x[:, :, 0, 0]


class CosPlaceReplica(nn.Module):
    """The module layout of CosPlace's GeoLocalizationNet (ResNet-18): state dict keys
    backbone.<i>... and aggregation.{1.p, 3.weight, 3.bias}."""

    def __init__(self, dim: int, p: float):
        super().__init__()
        resnet = torchvision.models.resnet18(weights=None)
        self.backbone = nn.Sequential(*list(resnet.children())[:-2])
        self.aggregation = nn.Sequential(L2Norm(), GeMParam(p), Flatten(), nn.Linear(512, dim),
                                         L2Norm())

    def forward(self, x: Tensor) -> Tensor:
        return self.aggregation(self.backbone(x))


class TorchvisionGeM(nn.Module):
    """A torchvision ResNet run by hand up to layer4, then L2Norm + GeM(p=3) + L2 written out."""

    def __init__(self, resnet: nn.Module):
        super().__init__()
        self.resnet = resnet

    def forward(self, x: Tensor) -> Tensor:
        r = self.resnet
        x = r.maxpool(r.relu(r.bn1(r.conv1(x))))
        x = r.layer4(r.layer3(r.layer2(r.layer1(x))))
        x = F.normalize(x, dim=1)
        x = x.clamp(min=1e-6).pow(3.0).mean(dim=(2, 3)).pow(1.0 / 3.0)
        return F.normalize(x, dim=1)


def randomise_batchnorm_stats(model: nn.Module, seed: int) -> None:
    """Non-trivial running statistics, so that a wrong BatchNorm mapping changes the output."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                m.weight.copy_(1.0 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
