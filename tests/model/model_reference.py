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


class CosPlaceEfficientNetReplica(nn.Module):
    """CosPlace's GeoLocalizationNet with an EfficientNet-B0 backbone. CosPlace builds it as
    Sequential(*efficientnet.children()[:-2]) = Sequential(features), so its keys read
    backbone.0.<i>.* (wrapped=True); forks that take features.children() store backbone.<i>.*."""

    def __init__(self, dim: int, p: float, wrapped: bool = True):
        super().__init__()
        effnet = torchvision.models.efficientnet_b0(weights=None)
        layers = list(effnet.children())[:-2] if wrapped else list(effnet.features.children())
        self.backbone = nn.Sequential(*layers)
        self.aggregation = nn.Sequential(L2Norm(), GeMParam(p), Flatten(), nn.Linear(1280, dim),
                                         L2Norm())

    def forward(self, x: Tensor) -> Tensor:
        return self.aggregation(self.backbone(x))


class PytorchNetVladLayer(nn.Module):
    """pytorch-NetVlad's NetVLAD layer as its netvlad.py computes it: input L2-normalised, soft
    assignment by a 1x1 conv (no bias in vladv1) and softmax, residuals accumulated cluster by
    cluster, intra-normalisation, flatten, L2."""

    def __init__(self, clusters: int, dim: int, vladv2: bool):
        super().__init__()
        self.num_clusters = clusters
        self.conv = nn.Conv2d(dim, clusters, kernel_size=(1, 1), bias=vladv2)
        self.centroids = nn.Parameter(torch.rand(clusters, dim))

    def forward(self, x: Tensor) -> Tensor:
        n, c = x.shape[:2]
        x = F.normalize(x, p=2, dim=1)
        soft_assign = F.softmax(self.conv(x).view(n, self.num_clusters, -1), dim=1)
        x_flatten = x.view(n, c, -1)
        vlad = torch.zeros([n, self.num_clusters, c], dtype=x.dtype)
        for k in range(self.num_clusters):
            residual = x_flatten.unsqueeze(0).permute(1, 0, 2, 3) - \
                self.centroids[k:k + 1, :].expand(x_flatten.size(-1), -1, -1).permute(
                    1, 2, 0).unsqueeze(0)
            residual = residual * soft_assign[:, k:k + 1, :].unsqueeze(2)
            vlad[:, k:k + 1, :] = residual.sum(dim=-1)
        vlad = F.normalize(vlad, p=2, dim=2)
        return F.normalize(vlad.view(n, -1), p=2, dim=1)


class PytorchNetVladReplica(nn.Module):
    """pytorch-NetVlad's model: a bare nn.Module with `encoder` (VGG-16 features without the last
    ReLU and max-pool) and `pool` (the NetVLAD layer); checkpoint keys encoder.<i>.*,
    pool.centroids, pool.conv.weight (+ pool.conv.bias for vladv2)."""

    def __init__(self, clusters: int, vladv2: bool = False):
        super().__init__()
        vgg = torchvision.models.vgg16(weights=None)
        self.encoder = nn.Sequential(*list(vgg.features.children())[:-2])
        self.pool = PytorchNetVladLayer(clusters, 512, vladv2)
        with torch.no_grad():  # k-means-like centroids and a soft assignment around them
            self.pool.centroids.copy_(F.normalize(torch.randn(clusters, 512), dim=1))
            self.pool.conv.weight.copy_(20.0 * self.pool.centroids[:, :, None, None])
            if vladv2:
                self.pool.conv.bias.copy_(-10.0 * torch.ones(clusters)
                                          + 0.5 * torch.randn(clusters))

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.encoder(x))


def pytorch_netvlad_checkpoint(model: PytorchNetVladReplica, parallel: bool = False):
    """The dict pytorch-NetVlad's save_checkpoint writes, numpy metrics included."""
    import numpy as np
    state = model.state_dict()
    if parallel:  # model.encoder / model.pool wrapped in nn.DataParallel
        state = {k.replace("encoder.", "encoder.module.", 1).replace("pool.", "pool.module.", 1):
                 v for k, v in state.items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0001, momentum=0.9)
    return {"epoch": 7, "state_dict": state,
            "recalls": {1: np.float64(0.81), 5: np.float64(0.9)},
            "best_score": np.float64(0.9), "optimizer": optimizer.state_dict(),
            "parallel": parallel}
