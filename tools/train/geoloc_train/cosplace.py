"""CosPlace-style classification training (Berton et al., CVPR 2022; seed 002).

Classes are square geographic cells of side M metres, split by heading bins of alpha degrees where
the photos have headings. A class's group is (row mod N, column mod N, heading bin mod L), so two
classes of one group are at least (N - 1) * M metres (or (L - 1) * alpha degrees) apart and never
show the same place. Each group has its own LMCL (CosFace) head; the groups take turns, each for
`iterations_per_group` steps, while the backbone, GeM and FC are shared. Classes with fewer than
`min_images_per_class` photos and groups of a single class are left out.

Cells without UTM: row = floor(R * lat / M) (rows M metres tall); a row at latitude phi is cut
into a multiple of N columns, N * floor(2 pi R cos(phi) / (M N)) (at least N), so columns are
about M metres wide and wrap exactly at the antimeridian without two same-group columns meeting.

  classes = make_classes(samples, CosPlaceSettings())
  step = CosPlaceStep(model, classes, settings, device)
  loss = step.step(global_step, generator, loader)
"""

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .geo import EARTH_RADIUS_M
from .samples import Sample


@dataclass(frozen=True)
class CosPlaceSettings:
    """Defaults: CosPlace's (M, alpha, N, L, s, m, batch) and seed 002's optimiser (Adam, lr 1e-5
    for the model, 1e-3 for the classifiers, weight decay 1e-3 for both, its Table 3 winner)."""

    cell_m: float = 10.0  # M
    heading_bin_deg: float = 30.0  # alpha
    group_spacing: int = 5  # N
    heading_groups: int = 2  # L
    min_images_per_class: int = 10
    groups: int = 0  # use the largest G groups; 0: all
    iterations_per_group: int = 100
    batch: int = 32
    scale: float = 30.0  # s
    margin: float = 0.4  # m
    lr: float = 1e-5
    classifier_lr: float = 1e-3
    weight_decay: float = 1e-3

    def record(self) -> Dict[str, object]:
        return asdict(self)


def cell_of(lat: float, lon: float, heading, s: CosPlaceSettings) -> Tuple[Tuple[int, int, int],
                                                                             Tuple[int, int, int]]:
    """(class key, group key) of a photo."""
    row = math.floor(math.radians(lat) * EARTH_RADIUS_M / s.cell_m)
    phi = min(math.pi / 2, max(-math.pi / 2, (row + 0.5) * s.cell_m / EARTH_RADIUS_M))
    n = s.group_spacing
    columns = n * max(1, math.floor(2 * math.pi * EARTH_RADIUS_M * math.cos(phi) / (s.cell_m * n)))
    col = min(columns - 1, math.floor((lon + 180.0) / 360.0 * columns)) % columns
    if heading is None:
        hbin, hgroup = 0, 0
    else:
        bins = max(1, round(360.0 / s.heading_bin_deg))
        hbin = math.floor(heading / s.heading_bin_deg) % bins
        hgroup = hbin % s.heading_groups
    return (row, col, hbin), (row % n, col % n, hgroup)


@dataclass
class Classes:
    """images[c]: sample indices of class c; groups[g]: the classes of group g (largest first)."""

    images: List[List[int]]
    groups: List[List[int]]
    dropped_classes: int
    dropped_images: int

    def describe(self) -> Dict[str, object]:
        return {"classes": len(self.images), "groups": len(self.groups),
                "classes_per_group": [len(g) for g in self.groups],
                "images": sum(len(i) for i in self.images),
                "dropped_classes": self.dropped_classes,
                "dropped_images": self.dropped_images}


def make_classes(samples: Sequence[Sample], s: CosPlaceSettings) -> Classes:
    by_class: Dict[Tuple[int, int, int], List[int]] = {}
    group_of: Dict[Tuple[int, int, int], Tuple[int, int, int]] = {}
    for i, sample in enumerate(samples):
        key, group = cell_of(sample.lat, sample.lon, sample.heading, s)
        by_class.setdefault(key, []).append(i)
        group_of[key] = group
    kept = sorted(k for k, v in by_class.items() if len(v) >= s.min_images_per_class)
    grouped: Dict[Tuple[int, int, int], List[Tuple[int, int, int]]] = {}
    for key in kept:
        grouped.setdefault(group_of[key], []).append(key)
    # A group of one class teaches nothing (its softmax is constant): left out.
    groups = sorted((keys for keys in grouped.values() if len(keys) >= 2),
                    key=lambda keys: (-len(keys), keys[0]))
    if s.groups > 0:
        groups = groups[:s.groups]
    used = [key for keys in groups for key in keys]  # classes numbered in group order
    number = {key: i for i, key in enumerate(used)}
    images = [by_class[key] for key in used]
    return Classes(images, [[number[key] for key in keys] for keys in groups],
                   dropped_classes=len(by_class) - len(used),
                   dropped_images=len(samples) - sum(len(i) for i in images))


class CosFaceHead(nn.Module):
    """Large margin cosine loss (LMCL, CosFace): logits s * (cos(theta_j) - m [j = y]) between the
    L2-normalised descriptor and one weight vector per class (Xavier-initialised)."""

    def __init__(self, dim: int, classes: int, scale: float, margin: float):
        super().__init__()
        self.scale, self.margin = scale, margin
        self.weight = nn.Parameter(torch.empty(classes, dim))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, desc: Tensor, labels: Tensor) -> Tensor:
        cosine = F.normalize(desc, dim=1) @ F.normalize(self.weight, dim=1).t()
        one_hot = F.one_hot(labels, cosine.shape[1]).to(cosine.dtype)
        return self.scale * (cosine - self.margin * one_hot)


class CosPlaceStep:
    """One optimisation step at a time; state_dict() holds everything a resume needs beyond the
    model weights (heads, both optimisers, each group's class order)."""

    def __init__(self, model: nn.Module, classes: Classes, s: CosPlaceSettings, dim: int,
                 device: torch.device):
        self.model, self.classes, self.s, self.device = model, classes, s, device
        # Heads are created in group order from the global RNG, which the caller has seeded.
        self.heads = nn.ModuleList(CosFaceHead(dim, len(g), s.scale, s.margin)
                                   for g in classes.groups).to(device)
        trainable = [p for p in model.parameters() if p.requires_grad]
        self.model_optimizer = torch.optim.Adam(trainable, lr=s.lr, weight_decay=s.weight_decay)
        self.head_optimizers = [torch.optim.Adam(h.parameters(), lr=s.classifier_lr,
                                                 weight_decay=s.weight_decay)
                                for h in self.heads]
        # Per group: a shuffled order of its classes and the position reached in it.
        self.orders: List[Tensor] = [torch.empty(0, dtype=torch.long) for _ in classes.groups]
        self.positions: List[int] = [0 for _ in classes.groups]
        self.criterion = nn.CrossEntropyLoss()

    def group_at(self, global_step: int) -> int:
        return (global_step // self.s.iterations_per_group) % len(self.classes.groups)

    def draw_batch(self, global_step: int, generator: torch.Generator):
        """(group, labels within the group, sample indices): distinct classes of the current
        group in a shuffled order, one random photo each (CosPlace's sampling)."""
        g = self.group_at(global_step)
        group = self.classes.groups[g]
        size = min(self.s.batch, len(group))
        if self.positions[g] + size > self.orders[g].numel():
            self.orders[g] = torch.randperm(len(group), generator=generator)
            self.positions[g] = 0
        labels = self.orders[g][self.positions[g]:self.positions[g] + size]
        self.positions[g] += size
        picks = []
        for label in labels.tolist():
            imgs = self.classes.images[group[label]]
            picks.append(imgs[int(torch.randint(len(imgs), (1,), generator=generator))])
        return g, labels, picks

    def step(self, global_step: int, generator: torch.Generator, load_batch) -> float:
        """load_batch(sample indices, generator) -> float [B, 3, H, W] (augmented)."""
        g, labels, picks = self.draw_batch(global_step, generator)
        x = load_batch(picks, generator).to(self.device)
        labels = labels.to(self.device)
        self.model_optimizer.zero_grad(set_to_none=True)
        self.head_optimizers[g].zero_grad(set_to_none=True)
        loss = self.criterion(self.heads[g](self.model(x), labels), labels)
        loss.backward()
        self.model_optimizer.step()
        self.head_optimizers[g].step()
        return float(loss.detach())

    def state_dict(self) -> Dict[str, object]:
        return {"heads": self.heads.state_dict(),
                "model_optimizer": self.model_optimizer.state_dict(),
                "head_optimizers": [o.state_dict() for o in self.head_optimizers],
                "orders": list(self.orders), "positions": list(self.positions)}

    def load_state_dict(self, state: Dict[str, object]) -> None:
        self.heads.load_state_dict(state["heads"])
        self.model_optimizer.load_state_dict(state["model_optimizer"])
        for optimizer, saved in zip(self.head_optimizers, state["head_optimizers"]):
            optimizer.load_state_dict(saved)
        self.orders = list(state["orders"])
        self.positions = list(state["positions"])
