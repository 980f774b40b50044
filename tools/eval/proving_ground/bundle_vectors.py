"""The descriptors stored in a flat index bundle (docs/INDEX.md), read without Faiss.

    vectors = read_flat_bundle("runs/db")   # float32 [N, D], rows in the bundle's row order

A flat bundle's shards are Faiss IndexFlatIP / IndexFlatL2 files (faiss::write_index): the fourcc
"IxFI" or "IxF2", the index header (d: int32, ntotal: int64, two unused int64 fields, is_trained:
bool, metric: int32), then the codes as a size_t count of floats and the floats. Anything else is
refused with the reason, so a format change fails loudly instead of reading garbage.
"""
import json
import os
import struct

import numpy as np

_FOURCCS = {b"IxFI": "ip", b"IxF2": "l2"}


def _read_shard(path):
    with open(path, "rb") as f:
        data = f.read()
    fourcc = data[:4]
    if fourcc not in _FOURCCS:
        raise ValueError(f"{path}: not a flat Faiss index (fourcc {fourcc!r})")
    d, ntotal = struct.unpack_from("<iq", data, 4)
    offset = 4 + 4 + 8 + 8 + 8 + 1 + 4
    (count,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    if count != d * ntotal or len(data) != offset + 4 * count:
        raise ValueError(f"{path}: {count} floats for {ntotal} x {d} vectors, {len(data)} bytes")
    return np.frombuffer(data, dtype="<f4", count=count, offset=offset).reshape(ntotal, d)


def read_flat_bundle(bundle_dir):
    """float32 [N, D]: every vector of the bundle in row order (shard by shard)."""
    with open(os.path.join(bundle_dir, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest["index"]["type"] != "flat":
        raise ValueError(f"{bundle_dir}: a {manifest['index']['type']} bundle; the probe reads flat ones")
    shards = sorted(manifest["shards"], key=lambda s: int(s.get("first_row", 0)))
    vectors = np.concatenate([_read_shard(os.path.join(bundle_dir, s["file"])) for s in shards])
    if len(vectors) != int(manifest["total_count"]):
        raise ValueError(f"{bundle_dir}: {len(vectors)} vectors, manifest says {manifest['total_count']}")
    return vectors
