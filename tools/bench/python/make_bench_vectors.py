#!/usr/bin/python3
"""Synthetic descriptors for the Locate benchmark (tools/bench/server/locate_bench.sh).

Writes N L2-normalised float32 [N, D] descriptors (.npy) and a CSV of their coordinates
(path,lat,lon,id,group) for `geoloc-index build --npy=... --npy_csv=...` (docs/INDEX.md).

Layout: C cluster centres (random unit vectors), each vector = centre + Gaussian noise, then
L2-normalised; each cluster is a "place" at a point drawn uniformly over the sphere, and its
vectors lie within a few km of it. Deterministic for a given --seed.

  /usr/bin/python3 tools/bench/python/make_bench_vectors.py --n 100000 --dim 512 \
      --clusters 2000 --out-npy vectors.npy --out-csv vectors.csv
"""
import argparse
import os
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--clusters", type=int, default=2000)
    p.add_argument("--noise", type=float, default=0.6,
                   help="noise norm relative to the (unit) centre [0.6]")
    p.add_argument("--spread_km", type=float, default=2.0,
                   help="sd of a vector's location around its cluster's point, km [2]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-npy", required=True)
    p.add_argument("--out-csv", required=True)
    a = p.parse_args()

    rng = np.random.default_rng(a.seed)
    centres = rng.standard_normal((a.clusters, a.dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    assign = np.sort(rng.integers(0, a.clusters, size=a.n))
    vecs = np.empty((a.n, a.dim), dtype=np.float32)
    step = 10_000
    for s in range(0, a.n, step):
        e = min(a.n, s + step)
        noise = rng.standard_normal((e - s, a.dim)).astype(np.float32)
        noise *= a.noise / np.sqrt(a.dim)
        v = centres[assign[s:e]] + noise
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        vecs[s:e] = v

    # Cluster points uniform on the sphere; vectors jittered around them (small-offset approx).
    z = rng.uniform(-1.0, 1.0, a.clusters)
    clat = np.degrees(np.arcsin(z))
    clon = rng.uniform(-180.0, 180.0, a.clusters)
    dn = rng.standard_normal(a.n) * a.spread_km
    de = rng.standard_normal(a.n) * a.spread_km
    lat = np.clip(clat[assign] + dn / 111.195, -89.999, 89.999)
    coslat = np.maximum(np.cos(np.radians(lat)), 1e-3)
    lon = clon[assign] + de / (111.195 * coslat)
    lon = (lon + 180.0) % 360.0 - 180.0

    tmp_npy = a.out_npy + ".tmp.npy"
    np.save(tmp_npy, vecs)
    os.replace(tmp_npy, a.out_npy)
    tmp_csv = a.out_csv + ".tmp"
    with open(tmp_csv, "w") as f:
        f.write("path,lat,lon,id,group\n")
        for i in range(a.n):
            f.write(f"vec/{i:07d},{lat[i]:.7f},{lon[i]:.7f},{i},{assign[i]}\n")
    os.replace(tmp_csv, a.out_csv)
    print(f"wrote {a.out_npy} ({a.n} x {a.dim} float32, {vecs.nbytes / 2**20:.1f} MiB) and "
          f"{a.out_csv} ({a.clusters} clusters)", file=sys.stderr)


if __name__ == "__main__":
    main()
