#!/usr/bin/python3
"""Tests of the ghz load-test kit in deploy/ghz, without ghz or a server.

  /usr/bin/python3 tests/deploy/test_ghz.py [-v]

* make_payload.py: base64 of the exact image bytes under "image" (protobuf's JSON mapping of
  bytes), arrays for several images, Explain targets, the token in a private metadata file, and
  refusals (not an image, too large, Explain flags without --explain);
* the ghz configs: valid JSON with ghz's keys, calls that exist in geoloc.proto, the proto file
  and import paths that resolve from deploy/ghz, reflection where no proto is named;
* run.sh: with a stand-in `ghz` on PATH it passes a config with the host, overrides, payload and
  token; with no ghz it runs a stand-in geoloc-loadgen with the equivalent flags.
"""

import base64
import json
import os
import pathlib
import re
import stat
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GHZ_DIR = ROOT / "deploy" / "ghz"
PROTO = ROOT / "proto" / "geoloc" / "v1" / "geoloc.proto"
sys.path.insert(0, str(GHZ_DIR))

import make_payload  # noqa: E402

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Keys of ghz's JSON configuration (ghz runner.Config) the kit uses or may use.
GHZ_KEYS = {"name", "proto", "protoset", "call", "import-paths", "host", "insecure", "cacert",
            "cert", "key", "cname", "skipTLS", "authority", "total", "concurrency", "connections",
            "rps", "duration", "max-duration", "timeout", "connect-timeout", "keepalive", "data",
            "data-file", "binary-file", "metadata", "metadata-file", "reflect-metadata", "format",
            "output", "tags", "cpus", "lb-strategy", "skipFirst", "count-errors"}


def proto_methods():
    text = PROTO.read_text(encoding="utf-8")
    package = re.search(r"^package\s+([\w.]+);", text, re.MULTILINE).group(1)
    methods = set()
    for service, body in re.findall(r"service\s+(\w+)\s*\{(.*?)\n\}", text, re.DOTALL):
        for rpc in re.findall(r"rpc\s+(\w+)\s*\(", body):
            methods.add(f"{package}.{service}.{rpc}")
    return methods


class PayloadTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        (self.dir / "a.jpg").write_bytes(JPEG)
        (self.dir / "b.png").write_bytes(PNG)
        (self.dir / "notes.txt").write_bytes(b"not an image")
        self.out = self.dir / "out" / "payload.json"
        os.environ.pop("GEOLOC_TOKEN", None)

    def tearDown(self):
        self.tmp.cleanup()

    def run_main(self, *args):
        return make_payload.main([*map(str, args), "-o", str(self.out)])

    def test_one_image_is_an_object_with_its_base64_bytes(self):
        self.assertEqual(self.run_main(self.dir / "a.jpg"), 0)
        payload = json.loads(self.out.read_text())
        self.assertEqual(base64.b64decode(payload["image"]), JPEG)
        self.assertNotIn("options", payload)

    def test_a_directory_gives_an_array_of_its_images(self):
        self.assertEqual(self.run_main(self.dir), 0)
        payload = json.loads(self.out.read_text())
        self.assertEqual([base64.b64decode(p["image"]) for p in payload], [JPEG, PNG])

    def test_locate_options(self):
        self.assertEqual(self.run_main("--k", 100, "--levels", "10,13", "--neighbors",
                                       self.dir / "a.jpg"), 0)
        payload = json.loads(self.out.read_text())
        self.assertEqual(payload["options"],
                         {"k": 100, "cell_levels": [10, 13], "return_neighbors": True})

    def test_explain_targets(self):
        self.assertEqual(self.run_main("--explain", "--peak", 1, "--no-overlay",
                                       self.dir / "a.jpg"), 0)
        payload = json.loads(self.out.read_text())
        self.assertEqual(payload["peak_index"], 1)
        self.assertIs(payload["return_overlay"], False)
        self.assertEqual(self.run_main("--explain", "--neighbor", 12345678901234,
                                       self.dir / "a.jpg"), 0)
        # int64 travels as a JSON string in protobuf's mapping.
        self.assertEqual(json.loads(self.out.read_text())["neighbor_id"], "12345678901234")

    def test_explain_flags_need_explain(self):
        self.assertEqual(self.run_main("--peak", 0, self.dir / "a.jpg"), 2)
        self.assertFalse(self.out.exists())

    def test_not_an_image(self):
        self.assertEqual(self.run_main(self.dir / "notes.txt"), 1)
        self.assertFalse(self.out.exists())

    def test_missing_file(self):
        self.assertEqual(self.run_main(self.dir / "missing.jpg"), 1)

    def test_too_large(self):
        self.assertEqual(self.run_main("--max-bytes", 100, self.dir / "a.jpg"), 1)

    def test_token_goes_to_a_private_metadata_file(self):
        token = self.dir / "token"
        token.write_text("s3cret-token\n")
        self.assertEqual(self.run_main("--token-file", token, self.dir / "a.jpg"), 0)
        metadata = self.out.parent / "metadata.json"
        self.assertEqual(json.loads(metadata.read_text()), {"authorization": "Bearer s3cret-token"})
        self.assertEqual(stat.S_IMODE(metadata.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(self.out.stat().st_mode), 0o600)
        self.assertNotIn("s3cret", self.out.read_text())

    def test_token_from_the_environment(self):
        os.environ["GEOLOC_TOKEN"] = "env-token"
        try:
            self.assertEqual(self.run_main(self.dir / "a.jpg"), 0)
        finally:
            del os.environ["GEOLOC_TOKEN"]
        metadata = json.loads((self.out.parent / "metadata.json").read_text())
        self.assertEqual(metadata, {"authorization": "Bearer env-token"})

    def test_no_token_means_no_header(self):
        self.assertEqual(self.run_main(self.dir / "a.jpg"), 0)
        self.assertEqual(json.loads((self.out.parent / "metadata.json").read_text()), {})

    def test_token_file_with_two_words(self):
        token = self.dir / "token"
        token.write_text("Bearer s3cret\n")
        self.assertEqual(self.run_main("--token-file", token, self.dir / "a.jpg"), 1)

    def test_image_kinds(self):
        self.assertEqual(make_payload.image_kind(JPEG), "jpeg")
        self.assertEqual(make_payload.image_kind(PNG), "png")
        self.assertEqual(make_payload.image_kind(b"RIFF\x00\x00\x00\x00WEBPVP8 "), "webp")
        self.assertEqual(make_payload.image_kind(b"II*\x00rest"), "tiff")
        self.assertIsNone(make_payload.image_kind(b"GIF89a"))


class ConfigTest(unittest.TestCase):
    def configs(self):
        return {p.name: json.loads(p.read_text()) for p in sorted(GHZ_DIR.glob("*.json"))}

    def test_configs(self):
        configs = self.configs()
        self.assertIn("locate.reflection.json", configs)
        self.assertIn("explain.proto.json", configs)
        methods = proto_methods()
        self.assertIn("geoloc.v1.Geolocator.Locate", methods)
        for name, c in configs.items():
            self.assertLessEqual(set(c) - GHZ_KEYS, set(), f"{name}: keys ghz does not know")
            self.assertIn(c["call"], methods, f"{name}: {c['call']} is not in geoloc.proto")
            self.assertTrue(c["data-file"].startswith("payloads/"), name)
            self.assertTrue(c["metadata-file"].startswith("payloads/"), name)
            if "reflection" in name:
                self.assertNotIn("proto", c, f"{name}: reflection configs name no proto")
                self.assertNotIn("protoset", c)
            if "proto" in c:
                proto = (GHZ_DIR / c["proto"]).resolve()
                self.assertTrue(proto.is_file(), f"{name}: {c['proto']} does not exist")
                roots = [(GHZ_DIR / p).resolve() for p in c.get("import-paths", [])]
                self.assertTrue(roots, f"{name}: --proto without import paths")
                self.assertTrue(any(r in proto.parents for r in roots),
                                f"{name}: the proto is not under an import path")

    def test_payloads_are_ignored(self):
        ignore = (GHZ_DIR / "payloads" / ".gitignore").read_text().split()
        self.assertEqual(ignore, ["*", "!.gitignore"])


class RunScriptTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        self.bin = self.dir / "bin"
        self.bin.mkdir()
        (self.dir / "a.jpg").write_bytes(JPEG)
        self.record = self.dir / "record.txt"

    def tearDown(self):
        self.tmp.cleanup()

    def fake(self, name, script):
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(0o755)

    def run_script(self, *args, env=None):
        e = {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.dir)}
        e.update(env or {})
        return subprocess.run(["bash", str(GHZ_DIR / "run.sh"), *map(str, args)],
                              capture_output=True, text=True, env=e, check=False)

    def test_with_ghz(self):
        # The stand-in ghz copies its config, the files it names and its directory.
        self.fake("ghz", f"""
cfg="$2"
field() {{ python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$cfg" "$1"; }}
{{ echo "cwd=$(pwd)"; echo "args=$*"; cat "$cfg"; echo
   cat "$(field data-file)"; echo; cat "$(field metadata-file)"; }} > {self.record}
""")
        token = self.dir / "token"
        token.write_text("tok-123\n")
        r = self.run_script("locate", self.dir / "a.jpg", "geoloc.example:50051", "--",
                            "--skipFirst", "10",
                            env={"TOTAL": "50", "CONCURRENCY": "4", "GEOLOC_TOKEN_FILE": str(token)})
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = self.record.read_text().split("\n")
        self.assertEqual(lines[0], f"cwd={GHZ_DIR}")
        self.assertIn("--skipFirst 10", lines[1])
        rest = "\n".join(lines[2:])
        config = json.loads(rest[:rest.index("\n}") + 2])
        self.assertEqual(config["host"], "geoloc.example:50051")
        self.assertEqual((config["total"], config["concurrency"]), (50, 4))
        self.assertEqual(config["call"], "geoloc.v1.Geolocator.Locate")
        self.assertIn(base64.b64encode(JPEG).decode(), rest)
        self.assertIn('"authorization": "Bearer tok-123"', rest)
        self.assertNotIn("tok-123", lines[1], "the token must not be on ghz's command line")
        # The temporary files are gone afterwards.
        self.assertFalse(pathlib.Path(config["data-file"]).exists())

    def test_without_ghz_falls_back_to_loadgen(self):
        self.fake("geoloc-loadgen", f'echo "$@" > {self.record}\n')
        # Hide a real ghz, if any, by running with a PATH that only has our stand-ins and coreutils.
        if any(pathlib.Path(d, "ghz").exists() for d in ("/usr/bin", "/bin")):
            self.skipTest("a real ghz is installed in /usr/bin")
        r = self.run_script("explain", self.dir / "a.jpg", env={"DURATION": "30s", "RPS": "5"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ghz not found", r.stderr)
        args = self.record.read_text().split()
        self.assertEqual(args[args.index("--method") + 1], "explain")
        self.assertEqual(args[args.index("--server") + 1], "localhost:50051")
        self.assertEqual(args[args.index("--duration") + 1], "30s")
        self.assertEqual(args[args.index("--rps") + 1], "5")
        self.assertEqual(args[args.index("--concurrency") + 1], "2")
        self.assertNotIn("--total", args)

    def test_usage(self):
        self.assertEqual(self.run_script("locate").returncode, 2)
        self.assertEqual(self.run_script("stream", self.dir / "a.jpg").returncode, 2)


if __name__ == "__main__":
    unittest.main()
