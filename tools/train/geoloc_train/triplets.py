"""NetVLAD / CRN training with triplets (Arandjelovic et al.; seed 003 and the benchmark code it
used).

Every training photo with at least one other photo within `positive_radius_m` is a query. Every
`cache_refresh` queries the descriptors are recomputed with the current weights (serving
preprocessing, eval mode) for those queries, their positives and a random pool of
`negative_pool` photos; each query then gets its best positive (the most similar one within the
radius) and its `negatives` hardest negatives (the most similar pool photos farther than
`negative_radius_m`). A step runs `batch` triplets of 2 + negatives photos through the model in
train mode and minimises sum_i max(|q - p| - |q - n_i| + margin, 0) / (batch * negatives).

Before training, NetVLAD's clusters are initialised as seed 003 and pytorch-NetVlad do: k-means
(k-means++ seeding) over L2-normalised local features of `kmeans_images` training photos
(`kmeans_descriptors_per_image` locations each), centroids c_k, assignment weights
alpha * c_k / |c_k| and no bias (vladv1), alpha = -ln(0.01) / mean(top-1 minus top-2 similarity).

  init_clusters(model, paths, settings, generator, load_pixels, device, batch)
  step = TripletStep(model, samples, settings, device, encode_fn)
  loss = step.step(generator, load_batch)
"""

import math
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import geo
from .samples import Sample


@dataclass(frozen=True)
class TripletSettings:
    """Defaults: the benchmark seed 003 ran (deep-visual-geo-localization-benchmark) and
    pytorch-NetVlad where it is silent: Adam at seed 003's best learning rate 1e-5, margin 0.1,
    10 negatives, 4 queries per step, positives within 10 m, negatives beyond 25 m, descriptors
    refreshed every 1000 queries, 1000 negative candidates per refresh."""

    positive_radius_m: float = 10.0
    negative_radius_m: float = 25.0
    negatives: int = 10
    negative_pool: int = 1000
    cache_refresh: int = 1000
    batch: int = 4
    margin: float = 0.1
    lr: float = 1e-5
    weight_decay: float = 0.0
    kmeans_images: int = 500
    kmeans_descriptors_per_image: int = 100
    kmeans_iterations: int = 30

    def record(self) -> Dict[str, object]:
        return asdict(self)


def netvlad_of(model: nn.Module) -> nn.Module:
    head = model.aggregation
    return head.netvlad if hasattr(head, "netvlad") else head


def kmeans(x: Tensor, k: int, iterations: int, generator: torch.Generator) -> Tensor:
    """Lloyd's k-means on the rows of x, seeded by k-means++ (each next seed drawn with
    probability proportional to its squared distance to the seeds so far); an emptied cluster
    keeps its previous centre."""
    first = int(torch.randint(x.shape[0], (1,), generator=generator))
    centres = [x[first]]
    d2 = ((x - x[first]) ** 2).sum(dim=1)
    for _ in range(1, k):
        weights = d2.double() if float(d2.sum()) > 0 else torch.ones_like(d2, dtype=torch.float64)
        pick = int(torch.multinomial(weights, 1, generator=generator))
        centres.append(x[pick])
        d2 = torch.minimum(d2, ((x - x[pick]) ** 2).sum(dim=1))
    centres = torch.stack(centres).clone()
    for _ in range(iterations):
        assign = torch.cdist(x, centres).argmin(dim=1)
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x.dtype).unsqueeze(1)
        centres = torch.where(counts > 0, sums / counts.clamp(min=1), centres)
    return centres


@torch.no_grad()
def init_clusters(model: nn.Module, paths: Sequence[str], s: TripletSettings,
                  generator: torch.Generator, load_pixels: Callable[[Sequence[str]], Tensor],
                  device: torch.device, batch: int) -> Dict[str, float]:
    """Sets NetVLAD's centroids and assignment from k-means on local features (see above)."""
    vlad = netvlad_of(model)
    k = vlad.centroids.shape[0]
    chosen = torch.randperm(len(paths), generator=generator)[:min(s.kmeans_images, len(paths))]
    was_training = model.training
    model.eval()
    feats: List[Tensor] = []
    for start in range(0, chosen.numel(), batch):
        idx = chosen[start:start + batch].tolist()
        fmap = model.features(load_pixels([paths[i] for i in idx]).to(device)).float().cpu()
        fmap = F.normalize(fmap, dim=1).flatten(2).transpose(1, 2)  # [b, h*w, C]
        for local in fmap:
            take = torch.randperm(local.shape[0], generator=generator)[
                :s.kmeans_descriptors_per_image]
            feats.append(local[take])
    model.train(was_training)
    x = torch.cat(feats)
    if x.shape[0] < k:
        raise ValueError(f"k-means needs at least {k} local features, got {x.shape[0]}: use more "
                         "training photos or fewer --clusters")
    centres = kmeans(x, k, s.kmeans_iterations, generator)
    unit = F.normalize(centres, dim=1)
    dots = torch.sort(unit @ x.t(), dim=0, descending=True).values
    alpha = -math.log(0.01) / float((dots[0] - dots[1]).mean().clamp(min=1e-6))
    vlad.centroids.copy_(centres.to(vlad.centroids.device))
    vlad.assign.weight.copy_((alpha * unit)[:, :, None, None].to(vlad.assign.weight.device))
    vlad.assign.bias.zero_()
    return {"alpha": alpha, "local_features": int(x.shape[0]), "images": int(chosen.numel())}


class TripletStep:
    """One optimisation step at a time over mined triplets; state_dict() holds the optimiser, the
    query order and the current mined triplets, so a resume continues mid-refresh."""

    def __init__(self, model: nn.Module, samples: Sequence[Sample], s: TripletSettings,
                 device: torch.device,
                 encode: Callable[[Sequence[int]], Tensor]):
        self.model, self.samples, self.s, self.device, self.encode = (model, samples, s, device,
                                                                      encode)
        lat = torch.tensor([x.lat for x in samples], dtype=torch.float64)
        lon = torch.tensor([x.lon for x in samples], dtype=torch.float64)
        self.lat, self.lon = lat, lon
        near = geo.neighbours_within(lat, lon, lat, lon, s.positive_radius_m)
        self.positives = [n[n != i] for i, n in enumerate(near)]
        self.queries = torch.tensor([i for i, p in enumerate(self.positives) if p.numel() > 0],
                                    dtype=torch.long)
        if self.queries.numel() == 0:
            raise ValueError(f"no training photo has another within {s.positive_radius_m} m, so "
                             "there are no triplets: raise --positive-radius")
        if len(samples) - 1 < s.negatives:
            raise ValueError(f"{len(samples)} training photos cannot give {s.negatives} negatives")
        trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trainable, lr=s.lr, weight_decay=s.weight_decay)
        self.criterion = nn.TripletMarginLoss(margin=s.margin, p=2, reduction="sum")
        self.order = torch.empty(0, dtype=torch.long)  # queries in this pass, shuffled
        self.order_position = 0
        self.mined = torch.empty(0, 2 + s.negatives, dtype=torch.long)  # [q, p, n_1..n_k]
        self.mined_position = 0
        self.stats = {"refreshes": 0, "queries_without_negatives": 0}

    def queries_per_pass(self) -> int:
        return int(self.queries.numel())

    def _refresh(self, generator: torch.Generator) -> None:
        if self.order_position >= self.order.numel():
            self.order = self.queries[torch.randperm(self.queries.numel(), generator=generator)]
            self.order_position = 0
        subset = self.order[self.order_position:self.order_position + self.s.cache_refresh]
        self.order_position += subset.numel()
        pool = torch.randperm(len(self.samples), generator=generator)[:self.s.negative_pool]
        needed = torch.unique(torch.cat([subset, pool] + [self.positives[q]
                                                          for q in subset.tolist()]))
        desc = self.encode(needed.tolist())
        row = torch.full((len(self.samples),), -1, dtype=torch.long)
        row[needed] = torch.arange(needed.numel())
        pool_desc = desc[row[pool]]
        far = geo.haversine_m(self.lat[subset, None], self.lon[subset, None],
                              self.lat[None, pool], self.lon[None, pool]) > self.s.negative_radius_m
        mined = []
        for i, q in enumerate(subset.tolist()):
            qd = desc[row[q]]
            pos = self.positives[q]
            best_positive = int(pos[torch.argmax(desc[row[pos]] @ qd)])
            candidates = pool[far[i]]
            if candidates.numel() < self.s.negatives:
                self.stats["queries_without_negatives"] += 1
                continue
            sims = pool_desc[far[i]] @ qd
            hardest = candidates[torch.topk(sims, self.s.negatives).indices]
            mined.append(torch.cat([torch.tensor([q, best_positive]), hardest]))
        self.mined = (torch.stack(mined) if mined
                      else torch.empty(0, 2 + self.s.negatives, dtype=torch.long))
        self.mined_position = 0
        self.stats["refreshes"] += 1

    def step(self, generator: torch.Generator, load_batch) -> float:
        """load_batch(sample indices, generator) -> float [n, 3, H, W]."""
        while self.mined_position >= self.mined.shape[0]:
            self._refresh(generator)
        triplets = self.mined[self.mined_position:self.mined_position + self.s.batch]
        self.mined_position += triplets.shape[0]
        b, k = triplets.shape[0], self.s.negatives
        # One forward pass: queries, then positives, then negatives query by query.
        order = torch.cat([triplets[:, 0], triplets[:, 1], triplets[:, 2:].reshape(-1)])
        x = load_batch(order.tolist(), generator).to(self.device)
        self.optimizer.zero_grad(set_to_none=True)
        desc = self.model(x)
        q, p, n = desc[:b], desc[b:2 * b], desc[2 * b:].view(b, k, -1)
        loss = self.criterion(q.unsqueeze(1).expand(-1, k, -1).reshape(b * k, -1),
                              p.unsqueeze(1).expand(-1, k, -1).reshape(b * k, -1),
                              n.reshape(b * k, -1)) / (b * k)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def state_dict(self) -> Dict[str, object]:
        return {"optimizer": self.optimizer.state_dict(), "order": self.order,
                "order_position": self.order_position, "mined": self.mined,
                "mined_position": self.mined_position, "stats": dict(self.stats)}

    def load_state_dict(self, state: Dict[str, object]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.order = state["order"]
        self.order_position = int(state["order_position"])
        self.mined = state["mined"]
        self.mined_position = int(state["mined_position"])
        self.stats = dict(state["stats"])
