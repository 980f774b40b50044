#!/usr/bin/python3
"""Tests of tools/export_model.py and tools/python/geoloc_models.py (run by ctest as
model_export_py_test with Debian's /usr/bin/python3)."""

import contextlib
import io
import json
import os
import stat
import tempfile
import unittest

import model_reference as ref  # noqa: E402 (puts tools/ and tools/python/ on sys.path)
import export_model as em  # noqa: E402
import geoloc_models as gm  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

TOLERANCE = 1e-4


def script_round_trip(model: torch.nn.Module) -> torch.jit.ScriptModule:
    """Scripts and serialises like the exporter, then loads the bytes back."""
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(model), buffer)
    buffer.seek(0)
    return torch.jit.load(buffer, map_location="cpu")


def run_cli(argv):
    """(exit status, stderr) of export_model.py's main, in-process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = em.main(argv)
        except SystemExit as e:  # argparse usage errors
            status = e.code
    return status, err.getvalue()


def load_archive(path):
    files = {"geoloc.json": ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=files)
    return module, json.loads(files["geoloc.json"])


class ExportTest(unittest.TestCase):
    def setUp(self):
        torch.set_num_threads(1)  # ctest runs suites in parallel on few cores
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_every_backbone_and_head_scripts_like_the_eager_module(self):
        x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        for backbone in gm.BACKBONES:
            # One backbone per architecture, shared by its five heads (building VGG-16 is slow).
            trunk = gm.build_backbone(gm.ModelConfig(backbone=backbone)).eval()
            for head in gm.HEADS:
                with self.subTest(backbone=backbone, head=head):
                    config = gm.ModelConfig(backbone=backbone, head=head, input_size=(64, 64),
                                            clusters=4, dim=128 if head == "cosplace" else None)
                    config.validate()
                    model = gm.GeolocNet(trunk, gm.build_head(config)).eval()
                    archive = script_round_trip(model)
                    with torch.no_grad():
                        want = model(x)
                        got = archive(x)
                        fmap = archive.features(x)
                        pooled = archive.pool(fmap)
                    self.assertEqual(tuple(got.shape), (2, config.derived_dim()))
                    self.assertEqual(fmap.dim(), 4)
                    self.assertEqual(fmap.shape[1], config.feature_channels())
                    self.assertLess(gm.max_abs_diff(want, got), TOLERANCE)
                    self.assertLess(gm.max_abs_diff(want, pooled), TOLERANCE)
                    self.assertTrue(torch.allclose(got.norm(dim=1), torch.ones(2), atol=1e-5))

    def test_truncated_resnets_end_before_the_last_stage(self):
        for backbone, channels in (("resnet18", 256), ("resnet50", 1024)):
            config = gm.ModelConfig(backbone=backbone, head="netvlad", clusters=4, truncate=True,
                                    input_size=(64, 64))
            model = gm.build_model(config)
            with torch.no_grad():
                fmap = model.features(torch.zeros(1, 3, 64, 64))
            self.assertEqual(tuple(fmap.shape), (1, channels, 4, 4))  # stride 16
            self.assertEqual(config.derived_dim(), 4 * channels)

    def test_frozen_archives_match_for_fixed_and_learnable_gem(self):
        x = torch.randn(1, 3, 64, 64)
        for learnable in (False, True):
            config = gm.ModelConfig(head="cosplace", dim=128, gem_learnable=learnable,
                                    input_size=(64, 64))
            model = gm.build_model(config)
            frozen = torch.jit.freeze(script_round_trip(model).eval())
            with torch.no_grad():
                self.assertLess(gm.max_abs_diff(model(x), frozen(x)), TOLERANCE)
            has_p = "aggregation.gem.p" in model.state_dict()
            self.assertEqual(has_p, learnable)

    def test_cli_writes_a_complete_archive_atomically(self):
        out = self.path("m.pt")
        argv = ["--backbone", "resnet18", "--head", "gem", "--input-size", "48", "64", "--metric",
                "l2", "--resize", "resize", "--seed", "4"]
        status, err = run_cli(argv + ["-o", out])
        self.assertEqual(status, 0, err)
        self.assertEqual(os.listdir(self.dir), ["m.pt"])  # no temporary left behind
        self.assertTrue(os.stat(out).st_mode & stat.S_IRGRP)  # readable by the server's user
        module, info = load_archive(out)
        for key in ("format_version", "name", "backbone", "head", "dim", "metric", "input_size",
                    "resize", "mean", "std", "fingerprint", "gem_p", "source"):
            self.assertIn(key, info)
        self.assertEqual(info["format_version"], 1)
        self.assertEqual(info["name"], "resnet18-gem512")
        self.assertEqual(info["dim"], 512)
        self.assertEqual(info["input_size"], [48, 64])
        self.assertEqual(info["metric"], "l2")
        self.assertEqual(info["resize"], "resize")
        self.assertEqual(info["gem_p"], 3.0)
        self.assertEqual(info["source"], {"weights": "random", "seed": 4})
        self.assertRegex(info["fingerprint"], r"^[0-9a-f]{64}$")
        with torch.no_grad():
            self.assertEqual(tuple(module(torch.zeros(1, 3, 48, 64)).shape), (1, 512))
        # The same command again: the same bytes of weights, the same fingerprint.
        status, err = run_cli(argv + ["-o", self.path("again.pt")])
        self.assertEqual(status, 0, err)
        self.assertEqual(load_archive(self.path("again.pt"))[1]["fingerprint"], info["fingerprint"])

    def test_demo_preset(self):
        args = em.parse_args(["--demo", "-o", "x.pt"])
        self.assertEqual((args.backbone, args.head, args.dim, args.seed, args.input_size),
                         ("resnet18", "cosplace", 512, 0, (224, 224)))
        self.assertEqual(args.name, "demo-resnet18-cosplace512")
        status, err = run_cli(["--demo", "--backbone", "vgg16", "-o", "x.pt"])
        self.assertEqual(status, 2)
        self.assertIn("--demo fixes --backbone", err)

    def test_fingerprint_is_stable_and_follows_every_weight(self):
        def fingerprint(model, config):
            return gm.model_fingerprint(model, config)

        config = gm.ModelConfig(backbone="resnet18", truncate=True, head="gem", input_size=(32, 32))
        a = gm.build_model(config)
        b = gm.build_model(gm.ModelConfig(**{**gm.to_plain(config)}))
        self.assertEqual(fingerprint(a, config), fingerprint(b, config))
        c_config = gm.ModelConfig(backbone="resnet18", truncate=True, head="gem",
                                  input_size=(32, 32), seed=1)
        self.assertNotEqual(fingerprint(a, config), fingerprint(gm.build_model(c_config), c_config))
        with torch.no_grad():
            b.backbone[0].weight[0, 0, 0, 0] += 1e-6  # one weight, one ulp-scale change
        self.assertNotEqual(fingerprint(a, config), fingerprint(b, config))
        # A fixed GeM exponent is not in the state dict but still changes the descriptors.
        p4 = gm.ModelConfig(backbone="resnet18", truncate=True, head="gem", input_size=(32, 32),
                            gem_p=4.0)
        self.assertNotEqual(fingerprint(a, config), fingerprint(gm.build_model(p4), p4))

    def test_torchvision_checkpoints_load_into_the_backbone(self):
        x = ref.image_batch(2, 64, 64, seed=3)
        # ResNet-18: the eager reference is torchvision's own module with GeM written out.
        torch.manual_seed(8)
        resnet = torchvision.models.resnet18(weights=None)
        ref.randomise_batchnorm_stats(resnet, seed=8)
        resnet.eval()
        torch.save(resnet.state_dict(), self.path("r18.pth"))
        out = self.path("r18.pt")
        status, err = run_cli(["--backbone", "resnet18", "--head", "gem", "--input-size", "64",
                               "--checkpoint", self.path("r18.pth"), "--checkpoint-format",
                               "torchvision", "-o", out])
        self.assertEqual(status, 0, err)
        module, info = load_archive(out)
        with torch.no_grad():
            self.assertLess(gm.max_abs_diff(module(x), ref.TorchvisionGeM(resnet)(x)), TOLERANCE)
        self.assertEqual(info["source"]["weights"], "checkpoint")
        self.assertEqual(info["source"]["checkpoint_format"], "torchvision")
        self.assertEqual(info["source"]["ignored_keys"], 2)  # fc.weight, fc.bias

        # EfficientNet-B0: features.<i> -> backbone.<i>; the reference runs torchvision's features.
        torch.manual_seed(9)
        effnet = torchvision.models.efficientnet_b0(weights=None)
        ref.randomise_batchnorm_stats(effnet, seed=9)
        effnet.eval()
        torch.save({"state_dict": effnet.state_dict()}, self.path("b0.pth"))  # a wrapped one
        out = self.path("b0.pt")
        status, err = run_cli(["--backbone", "efficientnet_b0", "--head", "avg", "--input-size",
                               "64", "--checkpoint", self.path("b0.pth"), "--checkpoint-format",
                               "torchvision", "-o", out])
        self.assertEqual(status, 0, err)
        module, _ = load_archive(out)
        with torch.no_grad():
            fmap = torch.nn.functional.normalize(effnet.features(x), dim=1)
            want = torch.nn.functional.normalize(fmap.mean(dim=(2, 3)), dim=1)
            self.assertLess(gm.max_abs_diff(module(x), want), TOLERANCE)

    def test_vgg16_checkpoint_mapping_keeps_conv5_3(self):
        torch.manual_seed(10)
        vgg = torchvision.models.vgg16(weights=None).eval()
        config = gm.ModelConfig(backbone="vgg16", head="avg", input_size=(64, 64))
        model = gm.build_model(config)
        state = {k: v for k, v in vgg.state_dict().items() if k.startswith("features.")}
        gm.apply_checkpoint(model, config, state, "torchvision", "vgg16.pth")
        x = torch.randn(1, 3, 64, 64)
        with torch.no_grad():
            want = vgg.features[:29](x)  # through conv5_3, before its ReLU and the last pool
            self.assertLess(gm.max_abs_diff(model.features(x), want), TOLERANCE)

    def test_cosplace_checkpoints_load_whole_models(self):
        x = ref.image_batch(2, 64, 64, seed=4)
        torch.manual_seed(6)
        replica = ref.CosPlaceReplica(dim=256, p=3.2)
        ref.randomise_batchnorm_stats(replica, seed=6)
        replica.eval()
        # As saved by a DataParallel training run: "module." prefixes inside "model_state_dict".
        wrapped = {"model_state_dict": {"module." + k: v for k, v in replica.state_dict().items()}}
        torch.save(wrapped, self.path("cosplace.pth"))
        for learnable in (False, True):
            with self.subTest(gem_learnable=learnable):
                out = self.path(f"cosplace-{learnable}.pt")
                argv = ["--backbone", "resnet18", "--head", "cosplace", "--input-size", "64",
                        "--checkpoint", self.path("cosplace.pth"), "--checkpoint-format",
                        "cosplace", "-o", out] + (["--gem-learnable"] if learnable else [])
                status, err = run_cli(argv)
                self.assertEqual(status, 0, err)
                module, info = load_archive(out)
                self.assertEqual(info["dim"], 256)  # read from the checkpoint
                if learnable:
                    self.assertEqual(info["gem_p"], "learnable")
                else:
                    self.assertAlmostEqual(info["gem_p"], 3.2, places=5)
                with torch.no_grad():
                    self.assertLess(gm.max_abs_diff(module(x), replica(x)), TOLERANCE)

        status, err = run_cli(["--backbone", "resnet18", "--head", "cosplace", "--dim", "512",
                               "--checkpoint", self.path("cosplace.pth"), "--checkpoint-format",
                               "cosplace", "-o", self.path("bad.pt")])
        self.assertEqual(status, 2)
        self.assertIn("256 dimensions, not --dim 512", err)
        status, err = run_cli(["--backbone", "resnet18", "--head", "gem", "--checkpoint",
                               self.path("cosplace.pth"), "--checkpoint-format", "cosplace", "-o",
                               self.path("bad.pt")])
        self.assertEqual(status, 2)
        self.assertIn("--head cosplace", err)

    def test_a_wrong_checkpoint_key_is_named(self):
        torch.manual_seed(8)
        state = torchvision.models.resnet18(weights=None).state_dict()
        state["layer2.0.convX.weight"] = state.pop("layer2.0.conv1.weight")
        torch.save(state, self.path("renamed.pth"))
        status, err = run_cli(["--backbone", "resnet18", "--head", "gem", "--checkpoint",
                               self.path("renamed.pth"), "--checkpoint-format", "torchvision", "-o",
                               self.path("out.pt")])
        self.assertEqual(status, 2)
        self.assertIn("unexpected keys: layer2.0.convX.weight", err)
        self.assertIn("missing keys: backbone.5.0.conv1.weight", err)
        self.assertFalse(os.path.exists(self.path("out.pt")))

        state = torchvision.models.resnet18(weights=None).state_dict()
        state["layer1.0.conv1.weight"] = torch.zeros(3, 3)
        torch.save(state, self.path("shape.pth"))
        status, err = run_cli(["--checkpoint", self.path("shape.pth"), "--checkpoint-format",
                               "torchvision", "-o", self.path("out.pt")])
        self.assertEqual(status, 2)
        self.assertIn("layer1.0.conv1.weight (shape [3, 3], model has [64, 64, 3, 3])", err)

        with open(self.path("junk.pth"), "wb") as f:
            f.write(b"not a checkpoint")
        status, err = run_cli(["--checkpoint", self.path("junk.pth"), "--checkpoint-format",
                               "torchvision", "-o", self.path("out.pt")])
        self.assertEqual(status, 2)
        self.assertIn("cannot read a PyTorch state dict", err)

    def test_usage_errors_are_explained(self):
        cases = [
            (["--head", "gem", "--dim", "128"], "only the cosplace head"),
            (["--backbone", "vgg16", "--truncate-last-stage"], "ResNet backbones only"),
            (["--checkpoint", "x.pth"], "--checkpoint and --checkpoint-format go together"),
            (["--head", "cosplace", "--dim", "100"], "invalid choice: 100"),
            (["--input-size", "8"], "--input-size must be within"),
            (["--head", "netvlad", "--clusters", "0"], "--clusters must be in"),
        ]
        for argv, message in cases:
            with self.subTest(argv=argv):
                status, err = run_cli(argv + ["-o", self.path("x.pt")])
                self.assertEqual(status, 2)
                self.assertIn(message, err)
                self.assertFalse(os.path.exists(self.path("x.pt")))

    def test_verification_rejects_an_archive_that_differs_from_the_module(self):
        config = gm.ModelConfig(backbone="resnet18", truncate=True, head="gem", input_size=(32, 32))
        model = gm.build_model(config)
        path = self.path("a.pt")
        torch.jit.save(torch.jit.script(model), path)
        em.verify_archive(path, model, config)  # passes
        other = gm.build_model(gm.ModelConfig(backbone="resnet18", truncate=True, head="gem",
                                              input_size=(32, 32), seed=1))
        with self.assertRaisesRegex(em.ExportError, "differs from the eager module"):
            em.verify_archive(path, other, config)


if __name__ == "__main__":
    unittest.main(verbosity=2)
