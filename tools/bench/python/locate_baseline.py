#!/usr/bin/python3
"""A plain Python service doing Locate's job: the baseline of docs/BENCHMARKS.md "Locate under load".

For each image: read the JPEG bytes, decode with PIL, resize the shorter side to the model input
and centre-crop (the model's `resize_center_crop`), normalise with the model's mean/std
(torchvision transforms), stack batches of --batch, run the same TorchScript archive
(torch.jit.load, eval, torch.no_grad) with torch's default threads (--threads to change it),
brute-force search the database descriptors (one torch matmul + topk, k = 60), and compute a
weighted-mean location (weights (cos + 1)^5, the mean of the neighbours' unit vectors on the
sphere).

It is a straightforward single-process loop, as a small Python service would be written: no
multiprocessing, no reduced-size JPEG decoding (PIL's draft mode; --draft turns it on, for
comparison), no graph freezing. Timing covers everything from reading the bytes to the location,
per pass over all images; the report is the median images/s of --passes passes after one
untimed warm-up pass.

  /usr/bin/python3 tools/bench/python/locate_baseline.py --model WORK/model.pt \
      --vectors WORK/vectors.npy --coords WORK/vectors.csv --images WORK/jpegs [--json]
"""
import argparse
import io
import json
import os
import statistics
import time
import zipfile

import numpy as np
import torch
from PIL import Image
from torchvision import transforms


def model_info(path):
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith("extra/geoloc.json"):
                return json.loads(z.read(name))
    raise SystemExit(f"{path}: no geoloc.json")


def list_images(d):
    exts = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith(exts))


def load_coords(path):
    lat, lon = [], []
    with open(path) as f:
        header = f.readline().strip().split(",")
        ilat, ilon = header.index("lat"), header.index("lon")
        for line in f:
            cols = line.rstrip("\n").split(",")
            lat.append(float(cols[ilat]))
            lon.append(float(cols[ilon]))
    return np.array(lat), np.array(lon)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--vectors", required=True, help=".npy float32 [N, D] database descriptors")
    p.add_argument("--coords", required=True, help="CSV with lat,lon columns, one row per vector")
    p.add_argument("--images", required=True, help="directory of query images")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--k", type=int, default=60)
    p.add_argument("--passes", type=int, default=5)
    p.add_argument("--threads", type=int, default=0,
                   help="torch intra-op threads (0: torch's default, which is what the baseline uses)")
    p.add_argument("--draft", action="store_true",
                   help="let PIL decode JPEGs at reduced size (draft mode); off in the baseline")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    info = model_info(a.model)
    h, w = info["input_size"]
    preprocess = transforms.Compose([
        transforms.Resize(min(h, w)),
        transforms.CenterCrop((h, w)),
        transforms.ToTensor(),
        transforms.Normalize(info["mean"], info["std"]),
    ])
    model = torch.jit.load(a.model, map_location="cpu").eval()
    db = torch.from_numpy(np.load(a.vectors))
    lat, lon = load_coords(a.coords)
    assert len(lat) == db.shape[0], "coords and vectors differ in length"
    la, lo = np.radians(lat), np.radians(lon)
    xyz = torch.from_numpy(np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo),
                                     np.sin(la)], axis=1))
    paths = list_images(a.images)
    if not paths:
        raise SystemExit(f"{a.images}: no images")

    stage_s = {"decode_preprocess": 0.0, "forward": 0.0, "search_estimate": 0.0}

    def locate_batch(batch_bytes):
        t0 = time.perf_counter()
        tensors = []
        for data in batch_bytes:
            img = Image.open(io.BytesIO(data))
            if a.draft:
                img.draft("RGB", (w, h))
            tensors.append(preprocess(img.convert("RGB")))
        x = torch.stack(tensors)
        t1 = time.perf_counter()
        with torch.no_grad():
            desc = model(x)
            t2 = time.perf_counter()
            sims = desc @ db.T
            scores, idx = torch.topk(sims, a.k, dim=1)
        wts = (scores.double() + 1.0) ** 5
        v = (wts.unsqueeze(2) * xyz[idx]).sum(dim=1)
        v = v / v.norm(dim=1, keepdim=True)
        result = torch.rad2deg(torch.asin(v[:, 2])), torch.rad2deg(torch.atan2(v[:, 1], v[:, 0]))
        t3 = time.perf_counter()
        stage_s["decode_preprocess"] += t1 - t0
        stage_s["forward"] += t2 - t1
        stage_s["search_estimate"] += t3 - t2
        return result

    def one_pass():
        start = time.perf_counter()
        n = 0
        for i in range(0, len(paths), a.batch):
            batch = []
            for path in paths[i:i + a.batch]:
                with open(path, "rb") as f:
                    batch.append(f.read())
            locate_batch(batch)
            n += len(batch)
        return n / (time.perf_counter() - start)

    one_pass()  # warm-up: TorchScript's profiling executor specialises on its first runs
    for key in stage_s:
        stage_s[key] = 0.0
    rates = [one_pass() for _ in range(a.passes)]
    n_timed = a.passes * len(paths)
    result = {
        "images": len(paths), "batch": a.batch, "k": a.k, "passes": a.passes,
        "torch_threads": torch.get_num_threads(), "draft": a.draft,
        "images_per_s_median": statistics.median(rates),
        "images_per_s": [round(r, 2) for r in rates],
        "ms_per_image": {key: round(1000.0 * v / n_timed, 2) for key, v in stage_s.items()},
        "torch": torch.__version__,
    }
    if a.json:
        print(json.dumps(result))
    else:
        print(f"plain Python Locate: {result['images_per_s_median']:.2f} images/s (median of "
              f"{a.passes} passes over {len(paths)} images, batch {a.batch}, "
              f"{result['torch_threads']} torch threads; passes {result['images_per_s']}); "
              f"ms per image: {result['ms_per_image']}")


if __name__ == "__main__":
    main()
