#!/usr/bin/python3
"""Runs the scripts of the bundle Jobs (deploy/k8s/ops) against a temporary data directory, with
a stand-in geoloc-index, and checks the swap procedure they implement:

  * bundle-build writes a new bundle directory, verifies it and, with ACTIVATE=true, points
    bundles/current at it and bundles/previous at the bundle it replaced;
  * bundle-activate BUNDLE=previous rolls back (and again, forward); it refuses paths outside
    bundles/, links and bundles that fail verification, leaving the links untouched; with MODEL
    it switches models/current.pt and bundles/current together (a model upgrade);
  * model-export writes a new archive, never over an existing one, and serves only the first.

  /usr/bin/python3 tests/deploy/test_ops_jobs.py [-v]
"""

import os
import pathlib
import subprocess
import tempfile
import unittest

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
OPS = ROOT / "deploy" / "k8s" / "ops"

# Stands in for geoloc-index: "build --output=DIR ..." creates DIR with a manifest; "verify DIR
# --model=M" fails for directories containing a file named BAD, or a file MODEL naming another
# model file than M (a bundle built with a different model).
FAKE_INDEX = """#!/bin/sh
cmd="$1"; shift
case "$cmd" in
  build)
    for a in "$@"; do case "$a" in --output=*) out="${a#--output=}";; esac; done
    mkdir -p "$out" && echo '{}' > "$out/manifest.json" && echo "$*" > "$out/args" ;;
  verify)
    model="${2#--model=}"
    [ -f "$1/manifest.json" ] && [ ! -e "$1/BAD" ] || { echo "verify failed: $1" >&2; exit 1; }
    if [ -f "$1/MODEL" ] && [ "$(cat "$1/MODEL")" != "$(basename "$model")" ]; then
      echo "model mismatch: $1 wants $(cat "$1/MODEL"), got $model" >&2; exit 1
    fi ;;
  *) exit 2 ;;
esac
"""
# Stands in for python3 running export_model.py: writes the -o file.
FAKE_PYTHON = """#!/bin/sh
while [ $# -gt 0 ]; do [ "$1" = -o ] && { echo archive > "$2"; exit 0; }; shift; done
exit 2
"""


def job_script(name):
    job = yaml.safe_load((OPS / name / "job.yaml").read_text(encoding="utf-8"))
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return container["command"], container["args"][0], env


class OpsJobsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = pathlib.Path(self.tmp.name) / "data"
        self.bin = pathlib.Path(self.tmp.name) / "bin"
        self.bin.mkdir()
        (self.bin / "geoloc-index").write_text(FAKE_INDEX)
        (self.bin / "geoloc-index").chmod(0o755)
        (self.data / "models").mkdir(parents=True)
        (self.data / "models" / "demo-v1.pt").write_text("model")
        os.symlink("demo-v1.pt", self.data / "models" / "current.pt")
        self.bundles = self.data / "bundles"
        self.bundles.mkdir()

    def tearDown(self):
        self.tmp.cleanup()

    def make_bundle(self, name, bad=False, model=None):
        (self.bundles / name).mkdir()
        (self.bundles / name / "manifest.json").write_text("{}")
        if bad:
            (self.bundles / name / "BAD").write_text("")
        if model:
            (self.bundles / name / "MODEL").write_text(model)

    def model_link(self, name):
        path = self.data / "models" / name
        return os.readlink(path) if path.is_symlink() else None

    def link(self, name):
        path = self.bundles / name
        return os.readlink(path) if path.is_symlink() else None

    def run_job(self, name, **env):
        command, script, defaults = job_script(name)
        e = {"PATH": f"{self.bin}:/usr/bin:/bin", "GEOLOC_DATA": str(self.data)}
        e.update(defaults)
        e.update(env)
        return subprocess.run(command + [script], capture_output=True, text=True, env=e,
                              check=False)

    def test_build_without_activation_leaves_current_alone(self):
        self.make_bundle("world-old")
        os.symlink("world-old", self.bundles / "current")
        r = self.run_job("bundle-build", BUNDLE_NAME="world", ACTIVATE="false")
        self.assertEqual(r.returncode, 0, r.stderr)
        built = [p.name for p in self.bundles.iterdir() if p.name.startswith("world-2")]
        self.assertEqual(len(built), 1)
        args = (self.bundles / built[0] / "args").read_text()
        self.assertIn(f"--model={self.data}/models/demo-v1.pt", args, "the model link resolved")
        self.assertIn("--name=world", args)
        self.assertIn("--index=flat", args)
        self.assertEqual(self.link("current"), "world-old")

    def test_build_and_activate(self):
        self.make_bundle("world-old")
        os.symlink("world-old", self.bundles / "current")
        r = self.run_job("bundle-build", BUNDLE_NAME="world", ACTIVATE="true",
                         INDEX_ARGS="--index=ivf_pq --refine=flat")
        self.assertEqual(r.returncode, 0, r.stderr)
        current = self.link("current")
        self.assertTrue(current.startswith("world-2"), current)
        self.assertNotIn("/", current, "relative link inside bundles/ (the --index_root policy)")
        self.assertEqual(self.link("previous"), "world-old")
        self.assertFalse((self.bundles / "current.tmp").exists())

    def test_first_activation_has_no_previous(self):
        r = self.run_job("bundle-build", BUNDLE_NAME="world", ACTIVATE="true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNotNone(self.link("current"))
        self.assertIsNone(self.link("previous"))

    def test_rollback_and_forward(self):
        self.make_bundle("a")
        self.make_bundle("b")
        os.symlink("b", self.bundles / "current")
        os.symlink("a", self.bundles / "previous")
        r = self.run_job("bundle-activate", BUNDLE="previous")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((self.link("current"), self.link("previous")), ("a", "b"))
        r = self.run_job("bundle-activate", BUNDLE="previous")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((self.link("current"), self.link("previous")), ("b", "a"))

    def test_activate_named_bundle(self):
        self.make_bundle("a")
        self.make_bundle("c")
        os.symlink("a", self.bundles / "current")
        r = self.run_job("bundle-activate", BUNDLE="c")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((self.link("current"), self.link("previous")), ("c", "a"))
        # Activating what is already current changes nothing.
        r = self.run_job("bundle-activate", BUNDLE="c")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((self.link("current"), self.link("previous")), ("c", "a"))

    def test_activate_refuses_bad_targets(self):
        self.make_bundle("a")
        self.make_bundle("broken", bad=True)
        os.symlink("a", self.bundles / "current")
        for target in ("broken", "../models", "missing", "current", ""):
            r = self.run_job("bundle-activate", BUNDLE=target)
            self.assertNotEqual(r.returncode, 0, f"BUNDLE={target!r} was accepted")
            self.assertEqual(self.link("current"), "a", f"BUNDLE={target!r} moved the link")
        r = self.run_job("bundle-activate", BUNDLE="previous")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no bundles/previous", r.stderr)

    def test_failed_build_does_not_activate(self):
        self.make_bundle("a")
        os.symlink("a", self.bundles / "current")
        (self.bin / "geoloc-index").write_text("#!/bin/sh\n[ \"$1\" = build ] && exit 1\nexit 0\n")
        r = self.run_job("bundle-build", BUNDLE_NAME="world", ACTIVATE="true")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.link("current"), "a")

    def test_model_upgrade_switches_model_and_bundle_together(self):
        self.make_bundle("a", model="demo-v1.pt")
        self.make_bundle("b", model="m2.pt")
        os.symlink("a", self.bundles / "current")
        (self.data / "models" / "m2.pt").write_text("model 2")
        # Without MODEL the new bundle fails verification against the served model.
        r = self.run_job("bundle-activate", BUNDLE="b")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual((self.link("current"), self.model_link("current.pt")), ("a", "demo-v1.pt"))
        r = self.run_job("bundle-activate", BUNDLE="b", MODEL="models/m2.pt")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((self.link("current"), self.link("previous")), ("b", "a"))
        self.assertEqual((self.model_link("current.pt"), self.model_link("previous.pt")),
                         ("m2.pt", "demo-v1.pt"))

    def test_model_upgrade_refuses_bad_models(self):
        self.make_bundle("b")
        os.symlink("b", self.bundles / "current")
        for model in ("models/missing.pt", "models/../bundles/b", "/etc/passwd", "models/current.pt"):
            r = self.run_job("bundle-activate", BUNDLE="b", MODEL=model)
            self.assertNotEqual(r.returncode, 0, f"MODEL={model!r} was accepted")
            self.assertEqual(self.model_link("current.pt"), "demo-v1.pt")

    def test_build_with_another_model(self):
        (self.data / "models" / "m2.pt").write_text("model 2")
        r = self.run_job("bundle-build", BUNDLE_NAME="world", MODEL="models/m2.pt")
        self.assertEqual(r.returncode, 0, r.stderr)
        built = next(p for p in self.bundles.iterdir() if p.name.startswith("world-"))
        self.assertIn(f"--model={self.data}/models/m2.pt", (built / "args").read_text())
        r = self.run_job("bundle-build", BUNDLE_NAME="world", MODEL="models/none.pt")
        self.assertNotEqual(r.returncode, 0)

    def test_model_export(self):
        (self.bin / "python3").write_text(FAKE_PYTHON)
        (self.bin / "python3").chmod(0o755)
        os.remove(self.data / "models" / "current.pt")
        r = self.run_job("model-export", MODEL_NAME="first")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.model_link("current.pt"), "first.pt", "the first model is served")
        r = self.run_job("model-export", MODEL_NAME="second")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue((self.data / "models" / "second.pt").is_file())
        self.assertEqual(self.model_link("current.pt"), "first.pt", "later ones are not")
        r = self.run_job("model-export", MODEL_NAME="second")
        self.assertNotEqual(r.returncode, 0, "an existing archive must not be overwritten")


if __name__ == "__main__":
    unittest.main()
