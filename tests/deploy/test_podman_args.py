#!/usr/bin/python3
"""Tests of podman_args.py, the manifest-to-podman translation tools/image_check.sh runs the
images with: the real Deployment and Jobs translate to the security settings and mounts they
declare, and what cannot be translated is refused rather than dropped.

  /usr/bin/python3 tests/deploy/test_podman_args.py [-v]
"""

import pathlib
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCRIPT = HERE / "podman_args.py"

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001}
  containers:
    - name: c
      image: example/image:1
      command: ["/bin/sh", "-c"]
      args: ["echo hi"]
      env:
        - {name: A, value: "1"}
        - name: CPUS
          valueFrom: {resourceFieldRef: {containerName: c, resource: limits.cpu, divisor: "1"}}
      resources: {limits: {cpu: 500m}}
      securityContext: {readOnlyRootFilesystem: true}
      volumeMounts:
        - {name: mem, mountPath: /scratch}
        - {name: conf, mountPath: /etc/app/app.conf, subPath: app.conf}
  volumes:
    - {name: mem, emptyDir: {medium: Memory}}
    - {name: conf, configMap: {name: app}}
"""


def run(manifest_text, *args, tmp=None):
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "m.yaml"
        path.write_text(manifest_text, encoding="utf-8")
        proc = subprocess.run([sys.executable, str(SCRIPT), str(path), *args,
                               "--empty-dir-root", tmp or d],
                              capture_output=True, text=True)
    return proc.returncode, proc.stdout.split("\0")[:-1], proc.stderr


def run_file(manifest, *args, tmp):
    proc = subprocess.run([sys.executable, str(SCRIPT), str(ROOT / manifest), *args,
                           "--empty-dir-root", tmp], capture_output=True, text=True)
    return proc.returncode, proc.stdout.split("\0")[:-1], proc.stderr


class RealManifestsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_deployment(self):
        rc, words, err = run_file(
            "deploy/k8s/base/deployment.yaml", "geolocd", "--volume", "flags=/h/flags",
            "--volume", "client-tokens=/h/ct", "--volume", "admin-tokens=/h/at",
            "--volume", "data=/h/data", "--volume", "audit=/h/audit", tmp=self.tmp.name)
        self.assertEqual(rc, 0, err)
        image = words.index("geoloc/geolocd:0.1.0")
        options, args = words[:image], words[image + 1:]
        for expected in ("--user=10001:10001", "--read-only", "--read-only-tmpfs=false",
                         "--cap-drop=all", "--security-opt=no-new-privileges",
                         "--volume=/h/data:/var/lib/geoloc:ro", "--volume=/h/flags:/etc/geoloc:ro",
                         "--volume=/h/ct:/var/run/secrets/geoloc/client:ro",
                         "--volume=/h/audit:/var/log/geoloc/audit",  # written: not :ro
                         f"--volume={self.tmp.name}/tmp:/tmp", "--env=OMP_NUM_THREADS=4"):
            self.assertIn(expected, options)
        self.assertTrue((pathlib.Path(self.tmp.name) / "tmp").is_dir())
        self.assertFalse(any(w.startswith("--entrypoint") for w in options),
                         "the Deployment uses the image's ENTRYPOINT")
        self.assertEqual(args, ["--flagfile=/etc/geoloc/geolocd.flags"])

    def test_job_with_env_override(self):
        rc, words, err = run_file(
            "deploy/k8s/ops/bundle-build/job.yaml", "build", "--volume", "data=/h/data",
            "--env", "ACTIVATE=true", "--env", "EXTRA=x", tmp=self.tmp.name)
        self.assertEqual(rc, 0, err)
        self.assertIn("--env=ACTIVATE=true", words)
        self.assertNotIn("--env=ACTIVATE=false", words)
        self.assertIn("--env=EXTRA=x", words)
        self.assertIn("--volume=/h/data:/var/lib/geoloc", words)  # the Jobs write the volume
        self.assertIn('--entrypoint=["/bin/bash", "-euo", "pipefail", "-c"]', words)
        image = words.index("geoloc/geoloc-tools:0.1.0")
        self.assertIn("geoloc-index build", words[image + 1])

    def test_missing_volume_is_an_error(self):
        rc, _, err = run_file("deploy/k8s/ops/model-export/job.yaml", "export", tmp=self.tmp.name)
        self.assertEqual(rc, 1)
        self.assertIn("volume data needs --volume data=HOST_DIR", err)


class TranslationTest(unittest.TestCase):
    def test_pod(self):
        rc, words, err = run(POD, "c", "--volume", "conf=/h/conf")
        self.assertEqual(rc, 0, err)
        self.assertEqual(words, [
            "--user=10001:10001", "--read-only", "--read-only-tmpfs=false", "--env=A=1",
            "--env=CPUS=1", "--tmpfs=/scratch:rw,mode=1777",
            "--volume=/h/conf/app.conf:/etc/app/app.conf:ro",
            '--entrypoint=["/bin/sh", "-c"]', "example/image:1", "echo hi"])

    def test_refusals(self):
        cases = {
            "runAsUser: 10001": ("runAsUser: 0", "runAsNonRoot without a non-zero runAsUser"),
            "{name: A, value: \"1\"}": ("{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}",
                                       "only value and resourceFieldRef"),
            "configMap: {name: app}": ("hostPath: {path: /etc}", "only emptyDir, configMap"),
            "limits.cpu": ("limits.memory", "resourceFieldRef limits.memory is not supported"),
        }
        for old, (new, message) in cases.items():
            with self.subTest(new=new):
                self.assertIn(old, POD)
                rc, _, err = run(POD.replace(old, new), "c", "--volume", "conf=/h/conf")
                self.assertEqual(rc, 1, err)
                self.assertIn(message, err)

    def test_unknown_container_and_unused_volume(self):
        rc, _, err = run(POD, "nope", "--volume", "conf=/h/conf")
        self.assertEqual(rc, 1)
        self.assertIn("no Deployment, Job or Pod with a container named nope", err)
        rc, _, err = run(POD, "c", "--volume", "conf=/h/conf", "--volume", "other=/h/o")
        self.assertEqual(rc, 1)
        self.assertIn("volumes the pod does not have: ['other']", err)

    def test_usage_error(self):
        rc, _, err = run(POD, "c", "--env", "NOVALUE")
        self.assertEqual(rc, 2)
        self.assertIn("is not NAME=VALUE", err)


if __name__ == "__main__":
    unittest.main()
