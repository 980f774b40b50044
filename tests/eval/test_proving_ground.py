"""The proving-ground protocol's pieces (tools/eval/proving_ground): the split guard, the flat
bundle reader and the linear probe, against answers known in advance. Run by ctest with Debian's
/usr/bin/python3 (python3-numpy); PYTHONPATH holds tools/eval."""
import os
import struct
import sys
import tempfile
import json
import unittest

import numpy as np

from proving_ground import calibration_diagnostics as diag
from proving_ground import calibration_report
from proving_ground import protocol
from proving_ground import region_budget
from proving_ground.bundle_vectors import read_flat_bundle
from proving_ground.probe import probe_levels


class SplitGuardTest(unittest.TestCase):
    def test_the_default_protocol_never_fits_or_tunes_on_test(self):
        steps = protocol.default_steps()
        protocol.check_split_roles(steps)
        for step in steps:
            self.assertNotIn("test", step.fits + step.tunes, step.name)
        # It does report on test, and tunes on val only.
        self.assertTrue(any("test" in s.reports for s in steps))
        self.assertEqual([s.name for s in steps if s.tunes], ["tune"])
        self.assertEqual(next(s for s in steps if s.name == "tune").tunes, ("val",))

    def test_a_step_that_fits_or_tunes_on_test_is_refused(self):
        for role in ("fits", "tunes"):
            bad = protocol.Step("calibrate", lambda ctx: None, **{role: ("test",)})
            with self.assertRaises(protocol.ProtocolError) as caught:
                protocol.check_split_roles(protocol.default_steps() + [bad])
            self.assertIn("calibrate", str(caught.exception))
            self.assertIn(role, str(caught.exception))
        # Calibrating on calib and reporting coverage on test is what issue 15 needs: allowed.
        protocol.check_split_roles(protocol.default_steps() + [
            protocol.Step("calibrate", lambda ctx: None, fits=("calib",)),
            protocol.Step("coverage", lambda ctx: None, reports=("test",))])

    def test_unknown_split_names_are_refused(self):
        with self.assertRaises(protocol.ProtocolError):
            protocol.Step("x", lambda ctx: None, fits=("validation",))

    def test_the_protocol_refuses_before_running_anything(self):
        ran = []
        steps = [protocol.Step("first", lambda ctx: ran.append(1)),
                 protocol.Step("bad", lambda ctx: ran.append(2), tunes=("test",))]
        with tempfile.TemporaryDirectory() as work:
            p = protocol.Protocol({"work": work, "build": work, "root": work, "preset": "tiny",
                                   "seed": 1})
            with self.assertRaises(protocol.ProtocolError):
                p.run(steps)
        self.assertEqual(ran, [])


class RecordingContext:
    """What step_world needs of a Protocol context; records the commands instead of running them."""

    def __init__(self, preset):
        self.preset, self.seed, self.settings, self.calls = preset, 1, {}, []

    def tool(self, name):
        return name

    def path(self, *parts):
        return os.path.join("W", *parts)

    def call(self, argv, stdout_path=None):
        self.calls.append(argv)


class PresetTest(unittest.TestCase):
    def test_medium_calib_is_the_medium_world_with_more_query_places(self):
        ctx = RecordingContext("medium-calib")
        protocol.step_world(ctx)
        argv = ctx.calls[0]
        self.assertEqual(argv[argv.index("--preset") + 1], "medium")
        flags = dict(zip(argv[argv.index("--force") + 1::2], argv[argv.index("--force") + 2::2]))
        self.assertEqual(flags, {"--places": "7600", "--train_place_share": "0.3",
                                 "--query_place_share": "1.0", "--max_query_views": "1"})
        # Every other preset is geoloc-synth's own, unchanged.
        for preset in ("tiny", "medium"):
            ctx = RecordingContext(preset)
            protocol.step_world(ctx)
            self.assertEqual(ctx.calls[0][ctx.calls[0].index("--preset") + 1], preset)
            self.assertEqual(ctx.calls[0][-1], "--force")


def write_flat_shard(path, vectors, fourcc=b"IxFI"):
    n, d = vectors.shape
    with open(path, "wb") as f:
        f.write(fourcc)
        f.write(struct.pack("<iqqq?i", d, n, 1 << 20, 1 << 20, True, 0))
        f.write(struct.pack("<Q", n * d))
        f.write(vectors.astype("<f4").tobytes())


class BundleVectorsTest(unittest.TestCase):
    def test_reads_the_shards_in_row_order(self):
        rng = np.random.default_rng(0)
        a, b = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
        with tempfile.TemporaryDirectory() as bundle:
            os.makedirs(os.path.join(bundle, "shards"))
            write_flat_shard(os.path.join(bundle, "shards", "s1.faiss"), b)
            write_flat_shard(os.path.join(bundle, "shards", "s0.faiss"), a)
            manifest = {"index": {"type": "flat"}, "total_count": "5",
                        "shards": [{"file": "shards/s1.faiss", "first_row": "3"},
                                   {"file": "shards/s0.faiss", "first_row": "0"}]}
            with open(os.path.join(bundle, "manifest.json"), "w") as f:
                json.dump(manifest, f)
            v = read_flat_bundle(bundle)
            np.testing.assert_allclose(v, np.vstack([a, b]).astype(np.float32))
            # Anything else is refused with the reason.
            write_flat_shard(os.path.join(bundle, "shards", "s0.faiss"), a, fourcc=b"IwPQ")
            with self.assertRaises(ValueError):
                read_flat_bundle(bundle)
            with open(os.path.join(bundle, "shards", "s0.faiss"), "r+b") as f:
                f.truncate(30)
            with self.assertRaises(Exception):
                read_flat_bundle(bundle)


def rows(regions, cities, neighbourhoods, places):
    return [{"region": str(r), "city": str(c), "neighbourhood": str(n), "place": str(p)}
            for r, c, n, p in zip(regions, cities, neighbourhoods, places)]


class ProbeTest(unittest.TestCase):
    def test_separable_levels_are_recognised_and_noise_is_at_chance(self):
        rng = np.random.default_rng(1)
        # Two regions x two cities x two neighbourhoods, 8 places with 6 photos each. The features
        # carry the region and the city (separable), nothing of the neighbourhood or place.
        def make(n_per_place, seed):
            r = np.random.default_rng(seed)
            feats, meta = [], []
            for place in range(8):
                region, city, nbhd = place // 4, place // 2, place
                for _ in range(n_per_place):
                    x = r.normal(size=16)
                    x[0] += 6 * region
                    x[1] += 6 * (city % 2)
                    feats.append(x)
                    meta.append((region, city, nbhd, place))
            return np.array(feats), rows(*zip(*meta))
        train_x, train_rows = make(6, 2)
        eval_x, eval_rows = make(6, 3)
        out = probe_levels(train_x, train_rows, eval_x, eval_rows)
        self.assertEqual(out["region"]["classes"], 2)
        self.assertAlmostEqual(out["region"]["chance"], 0.5)
        self.assertGreater(out["region"]["accuracy"], 0.95)
        self.assertGreater(out["city"]["accuracy"], 0.7)  # chance 0.25 (least squares is no SVM)
        self.assertGreater(out["city"]["within_parent"], 0.75)  # chance 0.5
        self.assertAlmostEqual(out["city"]["within_parent_chance"], 0.5)
        # Neighbourhoods are the places here: 8 classes, 2 per city; noise within the city.
        self.assertLess(out["neighbourhood"]["within_parent"], 0.8)
        self.assertAlmostEqual(out["neighbourhood"]["chance"], 1 / 8)


class CalibrationDiagnosticsTest(unittest.TestCase):
    def test_conformal_quantile_uses_the_finite_sample_rank(self):
        s = [1.0, 2.0, 3.0, 4.0]
        self.assertEqual(diag.conformal_quantile(s, 0.5), 3.0)  # ceil(5 * 0.5) = 3rd
        self.assertEqual(diag.conformal_quantile(s, 0.8), 4.0)  # ceil(5 * 0.8) = 4th
        self.assertEqual(diag.conformal_quantile(s, 0.81), float("inf"))  # rank 5 > n
        self.assertEqual(diag.conformal_quantile([], 0.5), float("inf"))

    def test_ece_bins_by_probability(self):
        p = np.array([0.1] * 10 + [0.9] * 10)
        self.assertAlmostEqual(diag.ece(p, np.array([1.0] + [0.0] * 9 + [1.0] * 9 + [0.0])), 0.0)
        self.assertAlmostEqual(diag.ece(p, np.zeros(20)), 0.5)  # |0 - 0.1| and |0 - 0.9|

    def test_isotonic_fit_pools_adjacent_violators(self):
        f = diag.isotonic_fit(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0, 0.0, 1.0]))
        # (1, 0) stays; (2, 1) and (3, 0) pool to 0.5; (4, 1) stays.
        np.testing.assert_allclose(f(np.array([0.5, 1.0, 2.0, 2.5, 3.0, 4.0, 9.0])),
                                   [0.0, 0.0, 0.5, 0.5, 0.5, 1.0, 1.0])

    @staticmethod
    def _report(split, scores, places, p_hit, err):
        photos = [{"has_place": True, "score": float(sc), "score_group": 0, "place": pl,
                   "error_km": float(e), "within_probability": [float(p)],
                   "within_raw_mass": [float(p)]}
                  for sc, pl, p, e in zip(scores, places, p_hit, err)]
        return {"settings": "s", "split": split, "within": [{"threshold_km": 1.0}],
                "per_photo": photos}

    def test_exchangeable_scores_cover_at_nominal_and_an_atom_is_found(self):
        rng = np.random.default_rng(0)
        n = 600
        scores = rng.normal(size=2 * n)
        scores[rng.random(2 * n) < 0.2] = 50.0  # an atom: the floor's score, 20% of photos
        places = [str(i // 3) for i in range(2 * n)]  # 3 photos per place
        p = rng.uniform(0.05, 0.95, size=2 * n)
        err = np.where(rng.random(2 * n) < p, 0.5, 5.0)  # P(within 1 km) calibrated by design
        calib = self._report("calib", scores[:n], places[:n], p[:n], err[:n])
        test = self._report("test", scores[n:], places[n:], p[n:], err[n:])
        d = diag.diagnose(calib, test, repeats=40)
        self.assertAlmostEqual(d["ties_at_floor"]["calib"], 0.2, delta=0.04)
        self.assertEqual(d["places"], {"calib": 200, "test": 200})
        by_level = {r["level"]: r for r in d["resplit_by_place"]}
        # Below the atom: coverage centred on nominal; above it: the atom is covered wholly.
        self.assertLess(abs(by_level[0.5]["mean"]), 0.02)
        self.assertGreater(by_level[0.5]["sd"], 0.005)
        self.assertAlmostEqual(by_level[0.9]["mean"], 0.1, delta=0.01)
        self.assertAlmostEqual(by_level[0.95]["mean"], 0.05, delta=0.001)
        e = d["ece"][0]
        self.assertLess(e["observed"], e["perfect_p95"] + 0.02)
        self.assertGreater(e["perfect_mean"], 0)
        # The raw mass is the probability itself here: a refitted isotonic map stays calibrated.
        self.assertLess(e["resplit_mean"], 0.1)
        self.assertAlmostEqual(e["calib_frequency"], float(np.mean(err[:n] <= 1.0)))
        self.assertIn("| 0.50 |", diag.to_markdown(d))


class CalibrationReportTest(unittest.TestCase):
    """The report's reading of the ECE noise floor (eval.proto EceNoise, as protobuf's JSON writes
    it: defaults omitted, uint64 as a string)."""

    @staticmethod
    def _report(noise):
        bins = [{"confidence_lo": b / 20, "confidence_hi": (b + 1) / 20} for b in range(20)]
        bins[2].update(count="40", mean_confidence=0.12, accuracy=0.3, band_lo=0.05, band_hi=0.2)
        bins[10].update(count="60", mean_confidence=0.52, accuracy=0.5, band_lo=0.42,
                        band_hi=0.62)
        w = {"threshold_km": 25.0, "ece": 0.1, "reliability": bins}
        if noise is not None:
            w["ece_noise"] = noise
        return {"settings": "spherical_kde k=60 m=5 h=0.5km similarity +classifier",
                "split": "test", "within": [w]}

    def test_verdicts_follow_the_share_of_draws(self):
        beyond = {"draws": 1000, "seed": "1", "median": 0.02, "p95": 0.03, "beyond_noise": True}
        within = dict(beyond, share_at_or_above=0.3, debiased_l2=0.01)
        del within["beyond_noise"]
        self.assertEqual(calibration_report.verdict(beyond), "beyond noise")
        self.assertEqual(calibration_report.verdict(within), "within noise")
        self.assertEqual(calibration_report.verdict(None), "-")  # a report from before the floor
        # share_at_or_above 0 and debiased_l2 0 are omitted from the JSON: read as 0.
        self.assertEqual(calibration_report._noise_cells(beyond),
                         ["0.0200 (0.0300)", "0.0%", "beyond noise", "0.0000"])
        self.assertEqual(calibration_report._noise_cells(within)[1:3], ["30.0%", "within noise"])

    def test_the_reliability_plot_takes_reports_with_and_without_the_floor(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.png")
            calibration_report.plot_reliability(
                [self._report({"draws": 1000, "median": 0.02, "p95": 0.03}), self._report(None)],
                path)
            self.assertGreater(os.path.getsize(path), 1000)


class RegionBudgetTest(unittest.TestCase):
    """The budget table reads each run's report of the asked estimator, largest budget first."""

    @staticmethod
    def _run(d, name, ms, areas):
        def report(estimator, scale):
            return {"settings": f"{estimator} k=60 m=5 h=0.5km similarity",
                    "calibrate_ms_per_answer": ms * scale,
                    "levels": [{"level": a, "coverage": 0.6 + a / 4, "exact_coverage": a,
                                "median_area_km2": area * scale}
                               for a, area in zip((0.5, 0.9), areas)]}
        path = os.path.join(d, name)
        with open(path, "w") as f:
            json.dump({"reports": [report("nearest", 10), report("spherical_kde", 1)]}, f)
        return path

    def test_rows_follow_the_budget_and_the_estimator(self):
        with tempfile.TemporaryDirectory() as d:
            small = self._run(d, "small.json", 0.8, (120000, 9e6))
            large = self._run(d, "large.json", 1.9, (7700, 4e6))
            rows = region_budget.load([f"250={small}", f"1000={large}"], "spherical_kde")
            self.assertEqual([b for b, _ in rows], [1000, 250])
            text = region_budget.table(rows).splitlines()
            self.assertEqual(len(text), 4)
            self.assertIn("| 1,000 | 1.90 | 0.725 / 0.500, 7,700 | 0.825 / 0.900, 4,000,000 |",
                          text[2])
            self.assertIn("| 250 | 0.80 | 0.725 / 0.500, 120,000 |", text[3])
            png = os.path.join(d, "b.png")
            region_budget.plot(rows, "t", png)
            self.assertGreater(os.path.getsize(png), 1000)
            with self.assertRaises(SystemExit):
                region_budget.load([f"x={small}"], "spherical_kde")
            with self.assertRaises(SystemExit):
                region_budget.load([f"250={small}"], "grid_kde")


if __name__ == "__main__":
    unittest.main()
