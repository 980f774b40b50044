"""The whole proving-ground protocol on the tiny world, end to end (tools/proving_ground.sh):
every step runs, the evaluation JSON has every estimator, the four classifiers and the fused
rows, nothing was tuned on test, and the report and its plots are written. Run by ctest with
Debian's /usr/bin/python3; argv: the repository root, the build directory, a scratch directory."""
import json
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
            self.assertEqual(len(json.load(f)), 10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
