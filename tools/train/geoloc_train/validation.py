"""Descriptors of a photo set and recall@N within 25 m (seeds 003/004: a query counts at N when
any of its N nearest database descriptors was taken within 25 m of it).

Pictures go through the serving preprocessing (images.load_preprocessed) once and stay in a
PixelCache, so validating every epoch decodes each photo only the first time.

  cache = PixelCache((120, 160), "resize_center_crop", max_bytes=2 << 30)
  db = encode(model, db_paths, cache, mean, std, batch=32)
  r = recall_at(encode(model, q_paths, ...), db, q_lat, q_lon, db_lat, db_lon)  # {1: .., 5: ..}
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from . import geo, images
from .progress import Progress

RECALL_NS = (1, 5, 10, 20)
RECALL_RADIUS_M = 25.0


class PixelCache:
    """uint8 [3, H, W] serving-preprocessed pictures by path, up to max_bytes (later pictures are
    decoded on every use once the budget is spent). Decoding runs on `threads` threads."""

    def __init__(self, target_hw: Sequence[int], resize: str, max_bytes: int, threads: int = 2):
        self.target_hw = (int(target_hw[0]), int(target_hw[1]))
        self.resize = resize
        self.max_bytes = max_bytes
        self.used = 0
        self.pixels: Dict[str, Tensor] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads))

    def _load(self, path: str) -> Tensor:
        return images.load_preprocessed(path, self.target_hw, self.resize)

    def get_many(self, paths: Sequence[str]) -> Tensor:
        missing = [p for p in dict.fromkeys(paths) if p not in self.pixels]
        loaded = dict(zip(missing, self.pool.map(self._load, missing)))
        for path, pixels in loaded.items():
            size = pixels.numel()
            if self.used + size <= self.max_bytes:
                self.pixels[path] = pixels
                self.used += size
        return torch.stack([self.pixels.get(p, loaded.get(p)) for p in paths])


@torch.no_grad()
def encode(model: torch.nn.Module, paths: Sequence[str], cache: PixelCache,
           mean: Sequence[float], std: Sequence[float], batch: int, device: torch.device,
           label: Optional[str] = None) -> Tensor:
    """[N, D] float32 descriptors on the CPU, the model in eval mode (restored afterwards)."""
    was_training = model.training
    model.eval()
    progress = Progress(label, len(paths), "img") if label else None
    out: List[Tensor] = []
    try:
        for start in range(0, len(paths), batch):
            chunk = paths[start:start + batch]
            x = images.normalise(cache.get_many(chunk), mean, std).to(device)
            out.append(model(x).float().cpu())
            if progress:
                progress.add(len(chunk))
    finally:
        model.train(was_training)
    if progress:
        progress.finish()
    return torch.cat(out) if out else torch.empty(0, 0)


def recall_at(q_desc: Tensor, db_desc: Tensor, q_lat: Tensor, q_lon: Tensor, db_lat: Tensor,
              db_lon: Tensor, ns: Sequence[int] = RECALL_NS,
              radius_m: float = RECALL_RADIUS_M) -> Dict[int, float]:
    """Share of queries with a database image within radius_m among their top N by inner product
    (descriptors are L2-normalised), for each N in ns."""
    k = min(max(ns), db_desc.shape[0])
    hits = torch.zeros(len(ns), dtype=torch.long)
    for start in range(0, q_desc.shape[0], 1024):
        sims = q_desc[start:start + 1024] @ db_desc.t()
        top = torch.topk(sims, k, dim=1).indices  # [q, k]
        ql, qo = q_lat[start:start + 1024, None], q_lon[start:start + 1024, None]
        close = geo.haversine_m(ql, qo, db_lat[top], db_lon[top]) <= radius_m  # [q, k]
        for i, n in enumerate(ns):
            hits[i] += int(close[:, :min(n, k)].any(dim=1).sum())
    total = max(1, q_desc.shape[0])
    return {n: float(hits[i]) / total for i, n in enumerate(ns)}
