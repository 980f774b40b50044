#!/usr/bin/python3
"""Tests of tools/train (run by ctest as train_py_test with Debian's /usr/bin/python3).

Everything runs on photos the tests write themselves (tiny_world.py, PIL), on one thread, so the
runs are bit-for-bit deterministic."""

import contextlib
import csv
import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import unittest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TRAIN_PY = os.path.join(ROOT, "tools", "train", "train.py")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "model"))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "python"))

import tiny_world  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import geoloc_checkpoints as gc  # noqa: E402
import train as train_cli  # noqa: E402
from geoloc_train import (cosplace, geo, images, progress, samples, trainer,  # noqa: E402
                          triplets, validation)


def run_cli(argv):
    """(exit status, stdout, stderr) of train.py's main, in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = train_cli.main(argv)
        except SystemExit as e:  # argparse usage errors
            status = e.code
    return status, out.getvalue(), err.getvalue()


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def load_archive(path):
    files = {"geoloc.json": ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=files)
    return module, json.loads(files["geoloc.json"])


class TempDirTest(unittest.TestCase):
    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def image(self, name, exif=None):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        extra = {"exif": exif} if exif is not None else {}
        Image.new("RGB", (16, 12), (10, 20, 30)).save(path, **extra)
        return path


class SamplesTest(TempDirTest):
    def test_csv_columns_headings_distractors_and_relative_paths(self):
        self.image("img/a.jpg")
        self.image("img/b.jpg")
        self.image("img/c.jpg")
        write_csv(self.path("train.csv"), ["Path", "latitude", "lng", "place", "heading",
                                           "localizable"],
                  [["img/a.jpg", "45.5", "-179.9", "p1", "370", "1"],
                   ["img/b.jpg", "-10", "20", "", "", "true"],
                   ["img/c.jpg", "0", "0", "p3", "", "0"]])
        s = samples.read_samples(self.path("train.csv"))
        self.assertEqual(s.source, "csv:" + self.path("train.csv"))
        self.assertEqual([x.path for x in s.samples], [self.path("img/a.jpg"),
                                                       self.path("img/b.jpg")])
        self.assertEqual((s.samples[0].lat, s.samples[0].lon, s.samples[0].place), (45.5, -179.9,
                                                                                    "p1"))
        self.assertAlmostEqual(s.samples[0].heading, 10.0)
        self.assertIsNone(s.samples[1].heading)
        self.assertIsNone(s.samples[1].place)
        self.assertEqual(s.skipped, {"not localizable": 1})
        self.assertTrue(s.has_headings())
        # --image-root moves the start of relative paths.
        os.makedirs(self.path("elsewhere"))
        write_csv(self.path("elsewhere", "t.csv"), ["path", "lat", "lon"], [["img/a.jpg", 1, 2]])
        s = samples.read_samples("csv:" + self.path("elsewhere", "t.csv"), image_root=self.dir)
        self.assertEqual(s.samples[0].path, self.path("img/a.jpg"))

    def test_csv_errors_name_the_file_and_line(self):
        self.image("a.jpg")
        cases = [
            ([["a.jpg", "91", "0"]], "train.csv:2: coordinates (91.0, 0.0) out of range"),
            ([["a.jpg", "1", "2"], ["a.jpg", "x", "0"]], "train.csv:3: lat/lon are not numbers"),
            ([["missing.jpg", "1", "2"]], "train.csv:2: no such image"),
            ([["a.jpg", "1"]], "train.csv:2: 2 fields, the header has 3"),
        ]
        for rows, message in cases:
            with self.subTest(message=message):
                write_csv(self.path("train.csv"), ["path", "lat", "lon"], rows)
                with self.assertRaises(samples.DataError) as e:
                    samples.read_samples(self.path("train.csv"))
                self.assertIn(message, str(e.exception))
        write_csv(self.path("train.csv"), ["path", "lat", "lon", "localizable"],
                  [["a.jpg", "1", "2", "maybe"]])
        with self.assertRaisesRegex(samples.DataError, "localizable must be"):
            samples.read_samples(self.path("train.csv"))
        write_csv(self.path("train.csv"), ["file", "lat"], [["a.jpg", "1"]])
        with self.assertRaisesRegex(samples.DataError, "no lon / lng / longitude column"):
            samples.read_samples(self.path("train.csv"))
        write_csv(self.path("train.csv"), ["path", "lat", "lon", "localizable"],
                  [["a.jpg", "1", "2", "0"]])
        with self.assertRaisesRegex(samples.DataError, "no geotagged images"):
            samples.read_samples(self.path("train.csv"))
        with self.assertRaisesRegex(samples.DataError, "vpr:.* or exif:"):
            samples.read_samples(self.dir)

    def test_vpr_file_names(self):
        name = "@0543256.96@4178906.70@10@S@037.75594@-122.50920@abc@@90@@@@201311@@.jpg"
        self.image(f"db/{name}")
        self.image("db/sub/@1@2@10@S@-33.5@151.25@x@.jpg")  # no heading field
        self.image("db/holiday.jpg")
        s = samples.read_samples("vpr:" + self.path("db"))
        self.assertEqual(len(s.samples), 2)
        by_lat = {round(x.lat, 5): x for x in s.samples}
        self.assertAlmostEqual(by_lat[37.75594].lon, -122.5092)
        self.assertEqual(by_lat[37.75594].heading, 90.0)
        self.assertIsNone(by_lat[-33.5].heading)
        self.assertEqual(s.skipped, {"not a VPR name": 1})

    def test_exif_gps_folders(self):
        exif = Image.Exif()
        exif[0x8825] = {1: "S", 2: (33.0, 51.0, 36.0), 3: "W", 4: (70.0, 30.0, 0.0),
                        16: "T", 17: 135.5}
        self.image("photos/gps.jpg", exif)
        self.image("photos/nogps.jpg")
        with open(self.path("photos", "broken.jpg"), "wb") as f:
            f.write(b"\xff\xd8\xff\xe1 not really a jpeg")
        s = samples.read_samples("exif:" + self.path("photos"))
        self.assertEqual(len(s.samples), 1)
        self.assertAlmostEqual(s.samples[0].lat, -(33 + 51 / 60 + 36 / 3600))
        self.assertAlmostEqual(s.samples[0].lon, -70.5)
        self.assertAlmostEqual(s.samples[0].heading, 135.5)
        self.assertEqual(s.skipped, {"no GPS": 1, "unreadable EXIF": 1})


class GeoTest(unittest.TestCase):
    def test_neighbours_within_match_brute_force(self):
        rng = random.Random(3)
        pts = [(rng.uniform(-0.001, 0.001), 179.9995 + rng.uniform(0, 0.001)) for _ in range(150)]
        pts = [(lat, lon - 360 if lon >= 180 else lon) for lat, lon in pts]  # across 180
        pts += [(89.9999 + rng.uniform(0, 0.0001), rng.uniform(-180, 180)) for _ in range(50)]
        pts += [(rng.uniform(-60, 60), rng.uniform(-180, 180)) for _ in range(100)]
        lat = torch.tensor([p[0] for p in pts], dtype=torch.float64)
        lon = torch.tensor([p[1] for p in pts], dtype=torch.float64)
        got = geo.neighbours_within(lat, lon, lat, lon, 40.0)
        d = geo.haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        for i in range(len(pts)):
            want = torch.nonzero(d[i] <= 40.0).flatten()
            self.assertTrue(torch.equal(got[i], want), f"query {i}")
        self.assertGreater(sum(g.numel() for g in got), 3 * len(pts))  # the test has neighbours
        # One degree of latitude: 2 pi 6371.0088 km / 360 = 111.19508 km.
        self.assertAlmostEqual(float(geo.haversine_m(torch.tensor(0.0), torch.tensor(0.0),
                                                     torch.tensor(1.0), torch.tensor(0.0))),
                               111195.08, delta=0.01)


class CosPlaceClassesTest(unittest.TestCase):
    def test_classes_of_a_group_are_far_apart(self):
        rng = random.Random(5)
        pts = [samples.Sample(f"{i}", 45.0 + rng.uniform(0, 0.003), 7.0 + rng.uniform(0, 0.004),
                              heading=rng.uniform(0, 360)) for i in range(3000)]
        s = cosplace.CosPlaceSettings(cell_m=10, group_spacing=5, heading_groups=2,
                                      min_images_per_class=1)
        classes = cosplace.make_classes(pts, s)
        self.assertEqual(len(classes.groups), 50)  # N * N * L
        self.assertEqual(sorted(i for c in classes.images for i in c), list(range(len(pts))))
        keys = [cosplace.cell_of(p.lat, p.lon, p.heading, s)[0] for p in pts]
        for group in classes.groups[:5]:
            cells = {keys[classes.images[c][0]] for c in group}
            self.assertEqual(len(cells), len(group))
            for a in cells:
                for b in cells:
                    if a != b:
                        # Another cell, 5 rows or columns away, or another heading bin 2 apart.
                        far = (abs(a[0] - b[0]) >= 5 or abs(a[1] - b[1]) >= 5
                               or a[:2] == b[:2] and abs(a[2] - b[2]) >= 2)
                        self.assertTrue(far, (a, b))
        # Photos of one class lie within one cell: at most the cell's diagonal apart.
        for c in classes.images[:50]:
            lat = torch.tensor([pts[i].lat for i in c])
            lon = torch.tensor([pts[i].lon for i in c])
            d = geo.haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
            self.assertLessEqual(float(d.max()), 10 * math.sqrt(2) + 0.5)

    def test_columns_wrap_at_the_antimeridian_and_small_classes_drop(self):
        s = cosplace.CosPlaceSettings(cell_m=25, group_spacing=4, min_images_per_class=2)
        east = cosplace.cell_of(-16.0, 179.99999, None, s)
        west = cosplace.cell_of(-16.0, -179.99999, None, s)
        self.assertEqual(east[0][0], west[0][0])  # same row
        self.assertEqual(west[0][1], 0)
        self.assertNotEqual(east[1], west[1])  # neighbours across 180: different groups
        pts = [samples.Sample("a", 1.0, 1.0), samples.Sample("b", 1.0, 1.0),
               samples.Sample("c", 2.0, 2.0), samples.Sample("d", 3.0, 3.0),
               samples.Sample("e", 3.0, 3.0)]
        one_group = cosplace.CosPlaceSettings(cell_m=25, group_spacing=1, min_images_per_class=2)
        classes = cosplace.make_classes(pts, one_group)
        self.assertEqual(classes.images, [[0, 1], [3, 4]])
        self.assertEqual((classes.dropped_classes, classes.dropped_images), (1, 1))
        # A group holding a single class teaches nothing (its softmax is constant): dropped.
        keys = {cosplace.cell_of(p.lat, p.lon, None, s)[1] for p in (pts[0], pts[3])}
        self.assertEqual(keys, {(3, 1, 0), (3, 3, 0)})  # with N = 4, two groups of one class
        classes = cosplace.make_classes(pts, s)
        self.assertEqual((classes.images, classes.dropped_classes), ([], 3))

    def test_cosface_logits(self):
        head = cosplace.CosFaceHead(4, 3, scale=30.0, margin=0.4)
        with torch.no_grad():
            head.weight.copy_(torch.eye(3, 4))
        desc = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
        logits = head(desc, torch.tensor([0]))
        self.assertTrue(torch.allclose(logits, torch.tensor([[30 * 0.6, 0.0, 0.0]])))


class AugmentTest(unittest.TestCase):
    def test_draws_decide_the_pixels(self):
        img = Image.effect_noise((80, 60), 60).convert("RGB")
        settings = images.AugmentSettings()
        a = images.AugmentDraw.sample(torch.Generator().manual_seed(1))
        b = images.AugmentDraw.sample(torch.Generator().manual_seed(1))
        c = images.AugmentDraw.sample(torch.Generator().manual_seed(2))
        mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
        xa = images.augment(img, a, settings, (24, 32), mean, std)
        self.assertEqual(tuple(xa.shape), (3, 24, 32))
        self.assertTrue(torch.equal(xa, images.augment(img, b, settings, (24, 32), mean, std)))
        self.assertFalse(torch.equal(xa, images.augment(img, c, settings, (24, 32), mean, std)))
        # Without augmentation the crop is the whole picture resized, normalised.
        plain = images.augment(img, a, images.NO_AUGMENTATION, (60, 80), mean, std)
        want = (images.to_uint8_tensor(img).float() / 255 - 0.5) / 0.25
        self.assertLess(float((plain - want).abs().max()), 1e-5)

    def test_serving_region_is_the_centre_crop(self):
        self.assertEqual(images.serving_region(320, 240, (120, 120), "resize_center_crop"),
                         (40.0, 0, 280.0, 240))
        self.assertEqual(images.serving_region(240, 320, (120, 120), "resize_center_crop"),
                         (0, 40.0, 240, 280.0))
        self.assertEqual(images.serving_region(320, 240, (120, 120), "resize"), (0, 0, 320, 240))


class ValidationTest(unittest.TestCase):
    def test_recall_within_25_m(self):
        # 4 queries; database photo i sits 10 m (i even) or 40 m (i odd) from query i.
        q_lat = torch.tensor([10.0, 20.0, 30.0, 40.0], dtype=torch.float64)
        q_lon = torch.zeros(4, dtype=torch.float64)
        offset = torch.tensor([10.0, 40.0, 10.0, 40.0], dtype=torch.float64) / geo.EARTH_RADIUS_M
        db_lat = torch.cat([q_lat + torch.rad2deg(offset), torch.tensor([50.0, 60.0],
                                                                        dtype=torch.float64)])
        db_lon = torch.zeros(6, dtype=torch.float64)
        q = torch.eye(4, 6)
        # Every query finds its own photo first, except query 2, which finds photo 4 (at 50 N)
        # first and its own second; the own photos of queries 1 and 3 lie 40 m away: no match.
        q[2] = torch.tensor([0.0, 0.0, 0.6, 0.0, 0.8, 0.0])
        db = torch.eye(6)
        r = validation.recall_at(q, db, q_lat, q_lon, db_lat, db_lon, ns=(1, 2, 5))
        self.assertEqual(r, {1: 0.25, 2: 0.5, 5: 0.5})

    def test_a_smaller_validation_database_keeps_every_match(self):
        db = samples.SampleSet("x", [samples.Sample(str(i), 10.0 + 0.01 * i, 5.0)
                                     for i in range(100)])
        queries = samples.SampleSet("q", [samples.Sample("a", 10.0 + 0.01 * 37, 5.0),
                                          samples.Sample("b", 10.0 + 0.01 * 80, 5.0)])
        small = trainer._smaller_database(db, queries, 10)
        kept = [int(s.path) for s in small.samples]
        self.assertEqual(len(kept), 10)
        self.assertIn(37, kept)
        self.assertIn(80, kept)
        self.assertEqual(kept, sorted(kept))
        self.assertIs(trainer._smaller_database(db, queries, 0), db)


class ProgressTest(unittest.TestCase):
    def test_lines_with_rate_and_eta(self):
        self.assertEqual(progress.format_line(25, 100, 5.0, "it"),
                         "25/100 (25.0%) 5.0 it/s ETA 0:15 elapsed 0:05")
        self.assertEqual(progress.format_line(7, 0, 2.0, "img"), "7 img, 3.5 img/s elapsed 0:02")
        self.assertEqual(progress.format_duration(3725), "1:02:05")
        # A resumed epoch: the steps done before the restart do not count towards the rate.
        self.assertEqual(progress.format_line(30, 100, 5.0, "it", start=20),
                         "30/100 (30.0%) 2.0 it/s ETA 0:35 elapsed 0:05")
        # Not a terminal: plain lines, at most one per interval, and a final one.
        out = io.StringIO()
        p = progress.Progress("epoch 1 train", 3, "it", interval=3600, stream=out, tty=False)
        for _ in range(3):
            p.add(1, note="loss 0.5")
        p.finish()
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 1)
        self.assertRegex(lines[0], r"^epoch 1 train: 3/3 \(100.0%\) .* it/s elapsed .*, loss 0.5 "
                                   r"\(done\)$")
        # A terminal: one self-updating line (carriage return, erase), ending with a newline.
        out = io.StringIO()
        p = progress.Progress("encode", 2, "img", stream=out, tty=True)
        p.interval = 0.0
        p.add(1)
        p.finish()
        self.assertTrue(out.getvalue().startswith("\r\033[Kencode: 1/2 (50.0%)"))
        self.assertTrue(out.getvalue().endswith("\n"))
        self.assertEqual(out.getvalue().count("\n"), 1)


class InputSizesTest(unittest.TestCase):
    def test_macs_count_every_convolution_and_linear_layer(self):
        import input_sizes
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1),          # 4*8*8 outputs x 3*3*3
                                  torch.nn.Conv2d(4, 4, 3, padding=1, groups=2),  # x 2*3*3
                                  torch.nn.Flatten(), torch.nn.Linear(256, 10))  # 10 x 256
        self.assertEqual(input_sizes.macs(net, 8, 8), 256 * 27 + 256 * 18 + 10 * 256)
        # Hooks are removed: counting twice gives the same, not double.
        self.assertEqual(input_sizes.macs(net, 8, 8), 256 * 27 + 256 * 18 + 10 * 256)

    def test_sizes_and_usage(self):
        import input_sizes
        self.assertEqual(input_sizes.parse_size("96x128"), (96, 128))
        for bad in ("96", "96x", "ax128", "96*128"):
            with self.assertRaises(Exception):
                input_sizes.parse_size(bad)
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as e:
            input_sizes.main(["--sizes", "96x128"])
        self.assertEqual(e.exception.code, 2)
        self.assertIn("--val-queries and --val-database are needed", err.getvalue())


class TripletMiningTest(unittest.TestCase):
    def test_best_positive_and_hardest_negatives(self):
        rng = random.Random(0)
        pts = []
        for place in range(30):
            for view in range(3):
                pts.append(samples.Sample(f"{place}-{view}", 45.0 + 0.001 * place
                                          + 1e-5 * view * rng.random(), 7.0))
        g = torch.Generator().manual_seed(0)
        table = torch.nn.functional.normalize(torch.randn(len(pts), 8, generator=g), dim=1)
        s = triplets.TripletSettings(positive_radius_m=5.0, negative_radius_m=25.0, negatives=4,
                                     negative_pool=40, cache_refresh=10)
        step = triplets.TripletStep(torch.nn.Linear(1, 1), pts, s, torch.device("cpu"),
                                    lambda idx: table[torch.tensor(idx)])
        step._refresh(torch.Generator().manual_seed(1))
        self.assertEqual(step.mined.shape, (10, 6))
        lat = torch.tensor([p.lat for p in pts], dtype=torch.float64)
        lon = torch.tensor([p.lon for p in pts], dtype=torch.float64)
        for q, p, *negs in step.mined.tolist():
            d = geo.haversine_m(lat[q], lon[q], lat, lon)
            positives = [i for i in range(len(pts)) if i != q and d[i] <= 5.0]
            self.assertEqual(p, max(positives, key=lambda i: float(table[i] @ table[q])))
            self.assertTrue(all(float(d[n]) > 25.0 for n in negs))
            sims = [float(table[n] @ table[q]) for n in negs]
            self.assertEqual(sims, sorted(sims, reverse=True))
        # The negatives are the hardest of the pool drawn with the same generator state.
        pool = torch.randperm(len(pts), generator=self._advanced(len(step.queries)))[:40]
        q = step.mined[0, 0]
        far = [int(i) for i in pool if float(geo.haversine_m(lat[q], lon[q], lat[i], lon[i])) > 25]
        hardest = sorted(far, key=lambda i: -float(table[i] @ table[q]))[:4]
        self.assertEqual(step.mined[0, 2:].tolist(), hardest)

    @staticmethod
    def _advanced(n_queries):
        g = torch.Generator().manual_seed(1)
        torch.randperm(n_queries, generator=g)  # the query order drawn first
        return g

    def test_kmeans_finds_separated_clusters(self):
        g = torch.Generator().manual_seed(0)
        centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
        x = torch.cat([c + 0.1 * torch.randn(50, 2, generator=g) for c in centres])
        found = triplets.kmeans(x, 3, 20, torch.Generator().manual_seed(4))
        for c in centres:
            self.assertLess(float((found - c).norm(dim=1).min()), 0.1)


class TrainingRunTest(TempDirTest):
    """Whole runs of train.py on tiny worlds."""

    def world(self, places, views, train_views, size=48):
        rows = tiny_world.write_world(self.path("world"), places=places, views=views, size=size)
        train = tiny_world.write_split(self.path("world"), "train.csv",
                                       [r for r in rows if r["view"] < train_views])
        val = tiny_world.write_split(self.path("world"), "val.csv",
                                     [r for r in rows if r["view"] >= train_views])
        return train, val

    def test_cosplace_lowers_the_loss_and_raises_validation_recall(self):
        train, val = self.world(places=24, views=10, train_views=8)
        out = self.path("run")
        status, stdout, err = run_cli([
            "--method", "cosplace", "--train", train, "--val-queries", val, "--val-database",
            train, "--input-size", "48", "--dim", "128", "--min-images-per-class", "2",
            "--group-spacing", "1", "--epochs", "5", "--iterations-per-epoch", "10", "--batch",
            "24", "--lr", "1e-3", "--train-from", "all", "--no-augment", "--threads", "1",
            "--out", out])
        self.assertEqual(status, 0, err)
        with open(os.path.join(out, "history.json")) as f:
            history = json.load(f)
        epochs = history["epochs"]
        self.assertEqual([e["epoch"] for e in epochs], [0, 1, 2, 3, 4, 5])
        self.assertIsNone(epochs[0]["train_loss"])
        # Measured (one thread): loss 14.5 -> 0.69, recall@1 0.29 -> 0.65 (best); a trainer that
        # does not learn, or learns the wrong labels, stays near its initial loss and recall.
        self.assertLess(epochs[-1]["train_loss"], 0.5 * epochs[1]["train_loss"])
        initial = epochs[0]["val"]["recall@1"]
        best = max(e["val"]["recall@1"] for e in epochs)
        self.assertGreaterEqual(best, initial + 0.15, epochs)
        self.assertGreater(epochs[-1]["val"]["recall@1"], initial)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["best"]["val"]["recall@1"], best)
        self.assertIn("validation recall@1", stdout)

        # The archive: the contract's three methods, geoloc.json with the training record, and
        # the best epoch's weights.
        module, info = load_archive(os.path.join(out, "model.pt"))
        self.assertEqual((info["head"], info["dim"], info["input_size"]), ("cosplace", 128,
                                                                             [48, 48]))
        self.assertEqual(info["source"]["checkpoint_format"], "geoloc")
        record = info["training"]
        self.assertEqual(record["method"], "cosplace")
        self.assertEqual(record["best"]["epoch"], summary["best"]["epoch"])
        self.assertEqual(record["epochs_run"], 5)
        self.assertEqual(record["train"]["classes"], 24)
        self.assertEqual(len(record["history"]), 6)
        self.assertEqual(info["input"]["from"], "checkpoint format geoloc")
        x = torch.randn(2, 3, 48, 48)
        with torch.no_grad():
            d = module(x)
            self.assertLess(float((module.pool(module.features(x)) - d).abs().max()), 1e-5)
        self.assertTrue(torch.allclose(d.norm(dim=1), torch.ones(2), atol=1e-5))
        best_state = gc.load_checkpoint(os.path.join(out, "best.pth")).state
        self.assertEqual(info["fingerprint"], _fingerprint(best_state, info))
        self.assertTrue(os.path.getsize(os.path.join(out, "curves.png")) > 1000)

    def _run_args(self, method, train, val, out, seed=0):
        common = ["--train", train, "--val-queries", val, "--val-database", train,
                  "--input-size", "32", "--epochs", "2", "--iterations-per-epoch", "4",
                  "--threads", "1", "--loader-threads", "1", "--checkpoint-every", "2",
                  "--seed", str(seed), "--out", out]
        if method == "cosplace":
            return ["--method", "cosplace", "--dim", "128", "--min-images-per-class", "2",
                    "--group-spacing", "2", "--cell-m", "500", "--iterations-per-group", "3",
                    "--batch", "6", "--lr", "1e-3"] + common  # augmented, 2 groups
        return ["--method", "netvlad", "--truncate-last-stage", "--clusters", "4", "--negatives",
                "3", "--negative-pool", "20", "--cache-refresh", "5", "--kmeans-images", "10",
                "--batch", "2", "--lr", "1e-3", "--augment"] + common

    def test_a_killed_run_resumes_to_the_same_bytes(self):
        train, val = self.world(places=8, views=4, train_views=3, size=32)
        for method in ("cosplace", "netvlad"):
            with self.subTest(method=method):
                whole = self.path(f"{method}-whole")
                status, _, err = run_cli(self._run_args(method, train, val, whole))
                self.assertEqual(status, 0, err)
                # Killed (SIGKILL) after step 7: the state saved at step 6, in the middle of
                # epoch 2 (4 steps per epoch, a state every 2 steps), is what survives; step 7
                # is redone after --resume.
                killed = self.path(f"{method}-killed")
                proc = subprocess.run([sys.executable, TRAIN_PY] + self._run_args(
                    method, train, val, killed) + ["--simulate-kill-after-step", "7"],
                    capture_output=True, text=True)
                self.assertEqual(proc.returncode, -9, proc.stderr)
                self.assertFalse(os.path.exists(os.path.join(killed, "model.pt")))
                proc = subprocess.run([sys.executable, TRAIN_PY, "--resume", killed],
                                      capture_output=True, text=True)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("resumed", proc.stdout)
                # Bit for bit: final weights (state.pth), the best weights and the history.
                for name in ("state.pth", "best.pth"):
                    a = _tensors(os.path.join(whole, name))
                    b = _tensors(os.path.join(killed, name))
                    self.assertEqual(a.keys(), b.keys())
                    for key in a:
                        self.assertTrue(torch.equal(a[key], b[key]), f"{name} {key}")
                self.assertEqual(_history(whole), _history(killed))
                self.assertEqual(load_archive(os.path.join(whole, "model.pt"))[1]["fingerprint"],
                                 load_archive(os.path.join(killed, "model.pt"))[1]["fingerprint"])
                # Another seed gives other weights: the comparison above can fail.
                other = self.path(f"{method}-seed1")
                status, _, err = run_cli(self._run_args(method, train, val, other, seed=1))
                self.assertEqual(status, 0, err)
                a, b = _tensors(os.path.join(whole, "state.pth")), _tensors(
                    os.path.join(other, "state.pth"))
                self.assertFalse(all(torch.equal(a[k], b[k]) for k in a))

    def test_netvlad_run_initialises_clusters_and_exports(self):
        train, val = self.world(places=8, views=4, train_views=3, size=32)
        out = self.path("nv")
        status, stdout, err = run_cli(self._run_args("netvlad", train, val, out))
        self.assertEqual(status, 0, err)
        self.assertIn("NetVLAD clusters from k-means", stdout)
        _, info = load_archive(os.path.join(out, "model.pt"))
        self.assertEqual((info["head"], info["clusters"], info["dim"]), ("netvlad", 4, 4 * 256))
        record = info["training"]
        self.assertEqual(record["init"]["clusters"]["method"], "k-means")
        self.assertEqual(record["train"]["queries"], 24)
        self.assertTrue(all(math.isfinite(h["train_loss"]) for h in record["history"][1:]))

    def test_crn_trains_with_triplets(self):
        train, val = self.world(places=8, views=4, train_views=3, size=32)
        out = self.path("crn")
        status, stdout, err = run_cli(self._run_args("netvlad", train, val, out)
                                      + ["--head", "crn", "--epochs", "1"])
        self.assertEqual(status, 0, err)
        self.assertIn("NetVLAD clusters from k-means", stdout)
        module, info = load_archive(os.path.join(out, "model.pt"))
        self.assertEqual((info["head"], info["dim"]), ("crn", 4 * 256))
        x = torch.randn(1, 3, 32, 32)
        with torch.no_grad():
            self.assertTrue(torch.allclose(module(x).norm(dim=1), torch.ones(1), atol=1e-5))

    def test_fine_tuning_starts_from_a_checkpoint(self):
        import model_reference as ref  # tests/model: the CosPlace layout
        train, val = self.world(places=8, views=4, train_views=3, size=32)
        torch.manual_seed(3)
        replica = ref.CosPlaceReplica(dim=128, p=3.0)
        torch.save(replica.state_dict(), self.path("cosplace.pth"))
        out = self.path("ft")
        status, _, err = run_cli(self._run_args("cosplace", train, val, out)
                                 + ["--checkpoint", self.path("cosplace.pth"),
                                    "--checkpoint-format", "cosplace", "--epochs", "1"])
        self.assertEqual(status, 0, err)
        # The weights it started from are the checkpoint's, mapped (docs/MODEL.md).
        initial = gc.load_checkpoint(os.path.join(out, "initial.pth")).state
        want = replica.state_dict()
        self.assertTrue(torch.equal(initial["backbone.6.1.conv2.weight"],
                                    want["backbone.6.1.conv2.weight"]))
        self.assertTrue(torch.equal(initial["aggregation.fc.weight"],
                                    want["aggregation.3.weight"]))
        _, info = load_archive(os.path.join(out, "model.pt"))
        init = info["training"]["init"]
        self.assertEqual((init["weights"], init["checkpoint_format"]), ("checkpoint", "cosplace"))
        self.assertEqual(info["input_size"], [32, 32])  # --input-size given: it wins
        self.assertEqual(info["training"]["input"]["trained_at"], [512, 512])
        # A checkpoint that does not fit fails before anything is written, naming the keys.
        status, _, err = run_cli(self._run_args("cosplace", train, val, self.path("bad"))
                                 + ["--backbone", "resnet50", "--checkpoint",
                                    self.path("cosplace.pth"), "--checkpoint-format", "cosplace"])
        self.assertEqual(status, 2)
        self.assertIn("shape mismatches: aggregation.3.weight", err)
        self.assertFalse(os.path.exists(self.path("bad")))

    def test_usage_and_data_errors(self):
        train, val = self.world(places=4, views=2, train_views=1, size=32)
        base = ["--train", train, "--val-queries", val, "--val-database", train, "--input-size",
                "32", "--threads", "1"]
        cases = [
            (["--method", "cosplace"] + base, "--out is required"),
            (["--method", "netvlad", "--cell-m", "5", "--out", self.path("x")] + base,
             "does not use --cell-m"),
            (["--method", "cosplace", "--checkpoint", "x.pth", "--out", self.path("x")] + base,
             "go together"),
            (["--resume", self.path("nothing")], "holds no run"),
            (["--resume", self.path("nothing"), "--lr", "1"], "drop --lr"),
            (["--method", "cosplace", "--out", self.path("c")] + base,
             "no class has 10 photos"),
            (["--method", "netvlad", "--out", self.path("n")] + base,
             "no training photo has another within 10.0 m"),
            (["--method", "cosplace", "--out", self.path("v"), "--train", self.path("none.csv"),
              "--val-queries", val, "--val-database", train], "cannot read"),
        ]
        for argv, message in cases:
            with self.subTest(message=message):
                status, _, err = run_cli(argv)
                self.assertEqual(status, 2, err)
                self.assertIn(message, err)
        # Nothing was written for runs that could not start.
        self.assertFalse(os.path.exists(self.path("c")))
        # A directory that holds a run is not overwritten.
        os.makedirs(self.path("c"))
        with open(self.path("c", "config.json"), "w") as f:
            f.write("{}")
        status, _, err = run_cli(["--method", "cosplace", "--out", self.path("c")] + base)
        self.assertEqual(status, 2)
        self.assertIn("already holds a run", err)


def _tensors(path):
    obj = gc.restricted_torch_load(path)
    state = obj["model"] if "model" in obj else obj["state_dict"]
    return dict(state)


def _history(run):
    with open(os.path.join(run, "history.json")) as f:
        return json.load(f)


def _fingerprint(state, info):
    import geoloc_models as gm
    config = gm.ModelConfig(head="cosplace", dim=info["dim"], input_size=tuple(info["input_size"]))
    return gm.state_dict_fingerprint(state, gm.architecture_record(config))


if __name__ == "__main__":
    unittest.main(verbosity=2)
