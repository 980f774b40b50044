"""Great-circle distances (haversine, mean Earth radius 6371.0088 km, as core/geo) and neighbours
within a radius, in float64.

  d = haversine_m(lat1, lon1, lat2, lon2)              # tensors broadcast, metres
  near = neighbours_within(lat, lon, lat, lon, 10.0)   # near[i]: indices within 10 m of i
"""

import math
from typing import List

import torch
from torch import Tensor

EARTH_RADIUS_M = 6371008.8
_CHUNK = 256


def haversine_m(lat1: Tensor, lon1: Tensor, lat2: Tensor, lon2: Tensor) -> Tensor:
    p1, p2 = torch.deg2rad(lat1.double()), torch.deg2rad(lat2.double())
    dp = p2 - p1
    dl = torch.deg2rad(lon2.double() - lon1.double())
    a = torch.sin(dp / 2) ** 2 + torch.cos(p1) * torch.cos(p2) * torch.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * torch.asin(torch.sqrt(a.clamp(0.0, 1.0)))


def neighbours_within(q_lat: Tensor, q_lon: Tensor, db_lat: Tensor, db_lon: Tensor,
                      radius_m: float) -> List[Tensor]:
    """For each query, the database indices (ascending) within radius_m metres, inclusive.

    Queries are processed in latitude order, in chunks; each chunk is compared only with the
    database rows in its latitude band widened by the radius, so the cost is near-linear for
    spread-out data (exact at any longitude, the antimeridian included)."""
    q_lat, q_lon = q_lat.double(), q_lon.double()
    db_lat, db_lon = db_lat.double(), db_lon.double()
    band_deg = math.degrees(radius_m / EARTH_RADIUS_M) * (1 + 1e-9) + 1e-12
    db_order = torch.argsort(db_lat)
    db_sorted_lat = db_lat[db_order]
    q_order = torch.argsort(q_lat)
    result: List[Tensor] = [torch.empty(0, dtype=torch.long)] * q_lat.numel()
    for start in range(0, q_lat.numel(), _CHUNK):
        idx = q_order[start:start + _CHUNK]
        lo = torch.searchsorted(db_sorted_lat, q_lat[idx].min() - band_deg, right=False)
        hi = torch.searchsorted(db_sorted_lat, q_lat[idx].max() + band_deg, right=True)
        band = db_order[lo:hi]
        if band.numel() == 0:
            continue
        d = haversine_m(q_lat[idx, None], q_lon[idx, None], db_lat[None, band], db_lon[None, band])
        hits = d <= radius_m
        for row, query in enumerate(idx.tolist()):
            result[query] = torch.sort(band[hits[row]]).values
    return result
