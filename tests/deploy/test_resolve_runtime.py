#!/usr/bin/python3
"""Tests of docker/resolve-runtime.sh and docker/python-runtime-files.py, the two scripts that
derive the runtime images' package lists in the build stage, on this machine's own binaries.

  /usr/bin/python3 tests/deploy/test_resolve_runtime.py [-v]

Needs dpkg (Debian): skipped (exit 77) elsewhere.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESOLVE = ROOT / "docker" / "resolve-runtime.sh"
PY_FILES = ROOT / "docker" / "python-runtime-files.py"
LS = shutil.which("ls") or "/usr/bin/ls"


def owner(path: str) -> str:
    """The package owning path's target, whichever /usr spelling dpkg recorded."""
    real = os.path.realpath(path)
    for candidate in (real, real[4:] if real.startswith("/usr/") else "/usr" + real):
        r = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True,
                           check=False)
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    raise AssertionError(f"no package owns {path}")


class ResolveRuntimeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        self.out = self.dir / "packages.txt"

    def tearDown(self):
        self.tmp.cleanup()

    def resolve(self, *args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run(["bash", str(RESOLVE), "--packages", str(self.out), *map(str, args)],
                              capture_output=True, text=True, env=e, check=False)

    def packages(self):
        return self.out.read_text().split()

    def test_resolves_a_binary_to_the_packages_of_its_libraries(self):
        r = self.resolve(LS)
        self.assertEqual(r.returncode, 0, r.stderr)
        pkgs = self.packages()
        self.assertIn("libc6", pkgs)
        self.assertIn(owner("/lib/x86_64-linux-gnu/libselinux.so.1"), pkgs)
        self.assertEqual(pkgs, sorted(set(pkgs)), "sorted and unique")
        self.assertFalse(any(":" in p for p in pkgs), "no architecture qualifiers")

    def test_copied_library_belongs_to_no_package(self):
        # ldd follows LD_LIBRARY_PATH: ls now loads a copy of libselinux no package owns.
        libdir = self.dir / "lib"
        libdir.mkdir()
        shutil.copy("/lib/x86_64-linux-gnu/libselinux.so.1", libdir)
        env = {"LD_LIBRARY_PATH": str(libdir)}
        r = self.resolve(LS, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("belongs to no Debian package", r.stderr)
        # Bundled under --bundle-prefix: copied, and its package no longer listed.
        bundle = self.dir / "bundle"
        r = self.resolve("--bundle-prefix", libdir, "--bundle-dir", bundle, LS, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue((bundle / "libselinux.so.1").is_file())
        self.assertNotIn(owner("/lib/x86_64-linux-gnu/libselinux.so.1"), self.packages())
        self.assertIn("libc6", self.packages())
        # Skipped under --skip-prefix (shipped with the binaries).
        r = self.resolve("--skip-prefix", libdir, LS, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_missing_library(self):
        # A copy of ls whose DT_NEEDED names a library that does not exist.
        data = pathlib.Path(LS).read_bytes()
        self.assertIn(b"libselinux.so.1\x00", data)
        broken = self.dir / "ls-broken"
        broken.write_bytes(data.replace(b"libselinux.so.1\x00", b"libselinuy.so.1\x00"))
        broken.chmod(0o755)
        r = self.resolve(broken)
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs libselinuy.so.1", r.stderr)
        r = self.resolve("--allow-missing", "libselinuy.so.1", broken)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_scripts_need_nothing(self):
        r = self.resolve(ROOT / "tools" / "install_deps.sh")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.packages(), [])

    def test_files_from(self):
        listing = self.dir / "files.txt"
        listing.write_text(f"{sys.executable}\n{os.__file__}\n")
        r = self.resolve("--files-from", listing)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(owner(sys.executable), self.packages())  # the interpreter, not just the link
        self.assertIn(owner(os.__file__), self.packages())

    def test_files_from_missing_file(self):
        listing = self.dir / "files.txt"
        listing.write_text("/nonexistent/file\n")
        self.assertEqual(self.resolve("--files-from", listing).returncode, 1)

    def test_usage(self):
        r = subprocess.run(["bash", str(RESOLVE)], capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("Usage", r.stderr)


class PythonRuntimeFilesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        (self.dir / "app").mkdir()
        (self.dir / "app" / "helper.py").write_text("import base64\n")
        self.script = self.dir / "app" / "tool.py"
        self.out = self.dir / "files.txt"

    def tearDown(self):
        self.tmp.cleanup()

    def run_script(self, body, *args):
        self.script.write_text(body)
        return subprocess.run([sys.executable, str(PY_FILES), str(self.out), str(self.script),
                               *args], capture_output=True, text=True, check=False)

    def test_lists_the_interpreter_and_loaded_modules(self):
        r = self.run_script("import sys, helper\n"
                            "def main():\n    import json\n    return 0 if sys.argv[1:] == ['x'] else 3\n"
                            "sys.exit(main())\n", "x")
        self.assertEqual(r.returncode, 0, r.stderr)
        files = self.out.read_text().split()
        self.assertIn(os.path.realpath(sys.executable), files)
        import json
        self.assertIn(os.path.abspath(json.__file__), files, "lazily imported module")
        import base64
        self.assertIn(os.path.abspath(base64.__file__), files)
        self.assertFalse(any(f.startswith(str(self.dir)) for f in files),
                         "the project's own files are left out")

    def test_failing_script(self):
        r = self.run_script("import sys\nsys.exit(3)\n")
        self.assertEqual(r.returncode, 3)
        self.assertFalse(self.out.exists())


if __name__ == "__main__":
    if shutil.which("dpkg-query") is None or shutil.which("ldd") is None:
        print("test_resolve_runtime: dpkg-query or ldd missing (not Debian): skipped")
        sys.exit(77)
    unittest.main()
