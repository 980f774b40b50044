"""A tiny photo set written by the tests, built so that a random-init network does badly and a
working trainer can do better within seconds on a CPU.

Each place has a landmark: a 3 x 3 grid of saturated colours. Every view pastes it at a random
position and scale onto heavy clutter drawn fresh for that view (random colour blocks and noise),
so most of a view's pixels say nothing about its place; a descriptor has to learn to look at the
landmark. Places lie 1.1 km apart along a meridian; every view of a place has its coordinates.

  write_world(dir, places=12, views=5, size=48, seed=0)
  -> dir/views.csv (path,lat,lon,place,view) and dir/images/p<place>_v<view>.png
"""

import csv
import os
import random
from typing import Dict, List

from PIL import Image, ImageDraw


def _colour(rng: random.Random):
    return tuple(rng.randrange(256) for _ in range(3))


def _landmark(rng: random.Random) -> Image.Image:
    tile = Image.new("RGB", (3, 3))
    for y in range(3):
        for x in range(3):
            tile.putpixel((x, y), tuple(rng.choice((0, 255)) if rng.random() < 0.8
                                        else rng.randrange(256) for _ in range(3)))
    return tile


def _view(landmark: Image.Image, size: int, rng: random.Random) -> Image.Image:
    img = Image.new("RGB", (size, size), _colour(rng))
    draw = ImageDraw.Draw(img)
    for _ in range(10):  # clutter: random blocks
        x0, y0 = rng.randrange(size), rng.randrange(size)
        x1, y1 = x0 + rng.randrange(4, size // 2), y0 + rng.randrange(4, size // 2)
        draw.rectangle((x0, y0, x1, y1), fill=_colour(rng))
    side = rng.randrange(size * 5 // 10, size * 7 // 10)
    mark = landmark.resize((side, side), Image.NEAREST)
    img.paste(mark, (rng.randrange(size - side), rng.randrange(size - side)))
    noise = Image.effect_noise((size, size), 40).convert("RGB")
    return Image.blend(img, noise, 0.15)


def write_world(directory: str, places: int = 12, views: int = 5, size: int = 48,
                seed: int = 0) -> List[Dict[str, object]]:
    rng = random.Random(seed)
    os.makedirs(os.path.join(directory, "images"), exist_ok=True)
    rows = []
    for p in range(places):
        landmark = _landmark(rng)
        lat, lon = 45.0 + 0.01 * p, 7.0
        for v in range(views):
            name = f"images/p{p:03d}_v{v}.png"
            _view(landmark, size, rng).save(os.path.join(directory, name))
            rows.append({"path": name, "lat": lat, "lon": lon, "place": p, "view": v})
    with open(os.path.join(directory, "views.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "lat", "lon", "place", "view"])
        w.writeheader()
        w.writerows(rows)
    return rows


def write_split(directory: str, name: str, rows: List[Dict[str, object]]) -> str:
    """A split file of the given rows (paths relative to `directory`)."""
    path = os.path.join(directory, name)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "lat", "lon", "place"])
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in ("path", "lat", "lon", "place")})
    return path
