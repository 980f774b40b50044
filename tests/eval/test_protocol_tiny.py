"""The whole proving-ground protocol on the tiny world, end to end (tools/proving_ground.sh):
every step runs, the evaluation JSON has every estimator, the four classifiers and the fused
rows, nothing was tuned on test, and the report and its plots are written. Run by ctest with
Debian's /usr/bin/python3; argv: the repository root, the build directory, a scratch directory."""
import json
import math
import os
import shutil
import subprocess
import sys
import unittest

ROOT, BUILD, SCRATCH = sys.argv[1:4]


class TinyProtocolTest(unittest.TestCase):
    def test_runs_end_to_end(self):
        work = os.path.join(SCRATCH, "proving_ground_tiny")
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run([os.path.join(ROOT, "tools", "proving_ground.sh"), "--preset", "tiny",
                        "--build", BUILD, "--work", work], check=True)
        with open(os.path.join(work, "eval", "test.json")) as f:
            test = json.load(f)
        with open(os.path.join(work, "eval", "tuned.json")) as f:
            tuned = json.load(f)
        self.assertEqual(test["split"], "test")
        self.assertEqual(test["tuned_on"], "val")
        self.assertEqual(tuned["split"], "val")
        retrieval = {r["estimator"] for r in test["estimators"] if r["method"] == "retrieval"}
        self.assertEqual(retrieval, {"nearest", "mean", "weighted_mean", "grid_kde",
                                     "spherical_kde"})
        classifiers = [r for r in test["estimators"] if r["method"] == "classifier"]
        self.assertEqual([c["classifier"] for c in classifiers],
                         ["mc", "hmc", "hmc_sol", "hmc_smooth"])
        for c in classifiers:
            m = c["classifier_metrics"]
            self.assertAlmostEqual(m["ior"], m["cell_accuracy"] * m["num_classes"], places=9)
            self.assertEqual(len(m["reliability"]), 20)
        self.assertEqual(sum(r["method"] == "fused" for r in test["estimators"]), 4 * 5)
        self.assertEqual(set(test["recall_at"]), {"1", "5", "10", "20"})
        for name in ("report.md", "accuracy_vs_distance.png", "recall_at_n.png", "reliability.png",
                     "probe.png", "world_map.png", "geotags.png", "coverage.png", "photos.png"):
            path = os.path.join(work, "report", name)
            self.assertTrue(os.path.getsize(path) > 1000, path)
        with open(os.path.join(work, "report", "report.md")) as f:
            report = f.read()
        self.assertIn("Table 4.4", report)
        self.assertIn("Table 6.8", report)
        with open(os.path.join(work, "timings.json")) as f:
            self.assertEqual(len(json.load(f)), 12)
        self.check_calibration(work)
        shutil.rmtree(work, ignore_errors=True)

    def check_calibration(self, work):
        """Calibrated on val + calib, reported on test: coverage near every nominal level, with
        bounds a broken calibration fails (regions that are always the whole Earth cover 1.0 at
        50%; regions that miss the truth, or are empty, cover far below)."""
        with open(os.path.join(work, "eval", "calibration.json")) as f:
            calibration = json.load(f)
        with open(os.path.join(work, "eval", "coverage.json")) as f:
            coverage = json.load(f)
        for entry in calibration["entries"]:
            self.assertEqual(entry["fit_split"]["name"], "val")
            self.assertEqual(entry["calibration_split"]["name"], "calib")
            # Incidents of two photos are calibrated beside the spherical KDE (the only estimator
            # incidents pool), on incidents of val and calib places (docs/INCIDENTS.md).
            incidents = entry.get("incidents", [])
            if entry["settings"].startswith("spherical_kde"):
                self.assertEqual([int(i["photos"]) for i in incidents], [2])
                self.assertGreater(int(incidents[0]["calibration_incidents"]), 0)
            else:
                self.assertEqual(incidents, [])
        with open(os.path.join(work, "eval", "calibration_fused.json")) as f:
            calibration["entries"] += json.load(f)["entries"]
        with open(os.path.join(work, "eval", "coverage_fused.json")) as f:
            coverage["reports"] += json.load(f)["reports"]
        reports = {" ".join(r["settings"].split()[0::5]): r for r in coverage["reports"]}
        self.assertEqual(set(reports), {"spherical_kde", "nearest", "spherical_kde +classifier"})
        for name, r in reports.items():
            self.assertEqual(r["split"], "test")
            n = int(r["with_place"])
            self.assertGreaterEqual(n, 40)
            groups = [int(g) for g in r["group_sizes"]]
            for level in r["levels"]:
                a = level["level"]
                cells, exact = level.get("coverage", 0), level.get("exact_coverage", 0)
                # Binomial spread on n test photos (3 sigma) plus the finite-sample slack of the
                # smallest calibration group (k / (n_g + 1) may exceed a by up to 1 / (n_g + 1)).
                sigma = math.sqrt(a * (1 - a) / n)
                slack = 1 / (min(int(g) for e in calibration["entries"]
                                 for g in e["score_group_sizes"]) + 1)
                # The exact conformal set covers about a; the cells shown contain it.
                self.assertGreaterEqual(exact, a - 3 * sigma, f"{name} at {a}")
                self.assertGreaterEqual(cells, exact, f"{name} at {a}")
                if level.get("whole_sphere_share", 0) < 1:
                    self.assertLessEqual(exact, a + slack + 3 * sigma + level.get(
                        "whole_sphere_share", 0), f"{name} at {a}")
            self.assertLess(r["levels"][0]["median_area_km2"], 510e6 / 2, name)
            self.assertEqual(len(r["within"]), 5)
            for w in r["within"]:
                self.assertGreater(w["mean_probability"], 0)
                self.assertLess(w["mean_probability"], 1)
                # Every ECE with its noise floor, every occupied bin with its band.
                noise = w["ece_noise"]
                self.assertEqual(noise["draws"], 1000)
                self.assertLessEqual(noise.get("median", 0), noise.get("p95", 0))
                for b in w["reliability"]:
                    if int(b.get("count", 0)) > 0:
                        self.assertLessEqual(b.get("band_lo", 0), b.get("band_hi", 0))
            self.assertEqual(r["localizable_ece_noise"]["draws"], 1000)
            self.assertTrue(r["risk_coverage"])
            self.assertGreater(sum(groups), 0)
        for name in ("calibration.md", "calibration_reliability.png", "risk_coverage.png"):
            self.assertTrue(os.path.getsize(os.path.join(work, "report", name)) > 1000, name)

        # The test split is never calibrated on, and one split cannot play both roles.
        bundle = os.path.join(work, "bundles", "database-calibrated")
        eval_bin = os.path.join(BUILD, "tools", "eval", "geoloc-eval")
        for fit, calib in (("val", "test"), ("test", "calib"), ("val", "val")):
            run = subprocess.run([eval_bin, "calibrate", "--model",
                                  os.path.join(work, "model", "model.pt"), "--bundle", bundle,
                                  "--fit_retrieval", os.path.join(work, "eval", f"{fit}.retrieval"),
                                  "--calibration_retrieval",
                                  os.path.join(work, "eval", f"{calib}.retrieval"),
                                  "--progress=false"], capture_output=True, text=True)
            self.assertEqual(run.returncode, 2, run.stderr)
            self.assertIn("test" if "test" in (fit, calib) else "both", run.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
