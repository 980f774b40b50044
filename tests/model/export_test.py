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
import geoloc_checkpoints as gc  # noqa: E402
import geoloc_models as gm  # noqa: E402
import geoloc_quantize as gq  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

TOLERANCE = 1e-4
# A small model for the int8 tests: truncated ResNet-18 + CosPlace 128 at 48x48.
INT8_BASE = ["--backbone", "resnet18", "--truncate-last-stage", "--head", "cosplace", "--dim",
             "128", "--input-size", "48", "--seed", "2"]


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
        gc.apply_checkpoint(model, config, gc.Checkpoint("vgg16.pth", state), "torchvision")
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


    # --quantize int8 --------------------------------------------------------------------------

    def write_photos(self, directory, count, seed):
        """`count` procedural scenes as JPEG files; returns their paths relative to `directory`."""
        from PIL import Image

        os.makedirs(directory, exist_ok=True)
        gen = torch.Generator().manual_seed(seed)
        names = []
        for i in range(count):
            scene = gq.procedural_scene(gen, 60, 80)  # larger than the input: resized and cropped
            data = (scene.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
            name = f"photo_{i:02d}.jpg"
            Image.fromarray(data).save(os.path.join(directory, name), quality=92)
            names.append(name)
        return names

    def test_int8_export_quantizes_the_backbone_and_keeps_the_contract(self):
        out, fp32_out = self.path("int8.pt"), self.path("fp32.pt")
        status, err = run_cli(INT8_BASE + ["--quantize", "int8", "--calibration-count", "8",
                                           "-o", out])
        self.assertEqual(status, 0, err)
        status, err = run_cli(INT8_BASE + ["-o", fp32_out])
        self.assertEqual(status, 0, err)
        module, info = load_archive(out)
        fp32_module, fp32_info = load_archive(fp32_out)
        self.assertEqual(info["quantization"], "int8")
        self.assertEqual(info["quantization_scheme"]["qconfig"], "fbgemm")
        self.assertEqual(info["quantization_scheme"]["scope"], "backbone")
        self.assertEqual(info["calibration"], {"source": "procedural", "images": 8,
                                               "seed": gq.DEFAULT_CALIBRATION_SEED})
        self.assertEqual(info["int8_check"]["source"], "procedural")
        self.assertGreaterEqual(info["int8_check"]["min_cosine_to_fp32"], 0.99)
        self.assertEqual(info["name"], "resnet18-trunc-cosplace128-int8")
        self.assertNotIn("quantization", fp32_info)
        for key in ("dim", "input_size", "mean", "std", "metric", "resize", "source"):
            self.assertEqual(info[key], fp32_info[key], key)
        # Another model: a bundle built with one must not load with the other.
        self.assertNotEqual(info["fingerprint"], fp32_info["fingerprint"])

        x = gq.procedural_images(gm.ModelConfig(input_size=(48, 48)), 4, seed=99)
        x = x.contiguous(memory_format=torch.channels_last)  # the server's input layout
        with torch.no_grad():
            fmap = module.features(x)
            pooled = module.pool(fmap)
            got = module(x)
            want = fp32_module(x)
        # features() ends with a dequantize: a float map, so pool() and Grad-CAM work unchanged.
        self.assertFalse(fmap.is_quantized)
        self.assertEqual(fmap.dtype, torch.float32)
        self.assertEqual(tuple(fmap.shape), (4, 256, 3, 3))
        self.assertLess(gm.max_abs_diff(got, pooled), 1e-6)
        self.assertTrue(torch.allclose(got.norm(dim=1), torch.ones(4), atol=1e-5))
        cosine = gq.descriptor_cosines(got, want)
        self.assertGreaterEqual(float(cosine.min()), 0.99)
        self.assertLess(float(cosine.min()), 1 - 1e-7)  # really int8, not a copy of fp32
        self.assertIn("quantized::conv2d", str(module.backbone.inlined_graph))
        self.assertNotIn("quantized::", str(module.aggregation.inlined_graph))
        # Grad-CAM's recipe: gradients of a pool() score reach the (dequantized) map.
        a = module.features(x[:1]).detach().requires_grad_(True)
        (module.pool(a) * want[1:2]).sum().backward()
        self.assertGreater(float(a.grad.abs().sum()), 0.0)

        # The same options and calibration give the same archive fingerprint.
        status, err = run_cli(INT8_BASE + ["--quantize", "int8", "--calibration-count", "8",
                                           "-o", self.path("again.pt")])
        self.assertEqual(status, 0, err)
        self.assertEqual(load_archive(self.path("again.pt"))[1]["fingerprint"], info["fingerprint"])

    def test_fast_input_quantize_gives_quantize_per_tensors_integers(self):
        gen = torch.Generator().manual_seed(4)
        x = (torch.randn(4, 3, 20, 24, generator=gen) * 3).contiguous(
            memory_format=torch.channels_last)
        x[0, 0, 0, :4] = torch.tensor([-1e6, 1e6, 0.0, 0.5 * 0.037])  # clamped both ways, a tie
        for scale, zero_point in ((0.037, 57), (0.5, 0), (0.0123, 127)):
            # As in the converted graph: scale and zero point are tensors (float32, int64).
            scale, zero_point = torch.tensor(scale), torch.tensor(zero_point)
            want = torch.quantize_per_tensor(x, scale, zero_point, torch.quint8)
            got = gq.quantize_input(x, scale, zero_point)
            self.assertEqual(got.q_scale(), want.q_scale())
            self.assertEqual(got.q_zero_point(), want.q_zero_point())
            self.assertTrue(torch.equal(got.int_repr(), want.int_repr()), (scale, zero_point))
            self.assertEqual(got.stride(), want.stride())
        # The exporter uses it in place of the input's quantize_per_tensor.
        config = gm.ModelConfig(backbone="resnet18", truncate=True, head="gem",
                                input_size=(32, 32))
        qmodel = gq.quantize_backbone(gm.build_model(config), gq.procedural_images(config, 2))
        code = qmodel.backbone.code
        self.assertIn("quantize_input", code)
        self.assertNotIn("quantize_per_tensor", code)

    def test_int8_calibration_from_a_directory_and_a_csv(self):
        photos = os.path.join(self.dir, "world")
        names = self.write_photos(os.path.join(photos, "images"), 12, seed=5)
        csv_path = os.path.join(photos, "world.csv")
        with open(csv_path, "w") as f:  # geoloc-synth's layout: the last 4 rows are queries
            f.write("path,lat,lon,place,split,city,region,view\n")
            for i, name in enumerate(names):
                split = "query" if i >= 8 else "database"
                f.write(f"images/{name},1.0,2.0,{i},{split},x,0,0\n")
        fingerprints = {}
        for label, source, count in (("csv", csv_path, 100), ("dir", photos, 100),
                                     ("dir4", photos, 4)):
            with self.subTest(source=label):
                out = self.path(f"{label}.pt")
                status, err = run_cli(INT8_BASE + ["--quantize", "int8", "--calibration-images",
                                                   source, "--calibration-count", str(count),
                                                   "-o", out])
                self.assertEqual(status, 0, err)
                info = load_archive(out)[1]
                fingerprints[label] = info["fingerprint"]
                record = info["calibration"]
                self.assertEqual(record["source"], "csv" if label == "csv" else "directory")
                self.assertEqual(record["available"], 8 if label == "csv" else 12)
                self.assertEqual(record["images"], {"csv": 8, "dir": 12, "dir4": 4}[label])
                self.assertEqual(len(record["paths_sha256"]), 64)
                self.assertGreaterEqual(info["int8_check"]["min_cosine_to_fp32"], 0.99)
        # Another calibration set gives other int8 parameters, hence another fingerprint.
        self.assertEqual(len(set(fingerprints.values())), 3)

        # Images left over after calibration become the check set.
        sets = gq.calibration_sets(gm.ModelConfig(input_size=(48, 48)), photos, 4, check_count=8)
        self.assertEqual(sets.check_source, "held_out")
        self.assertEqual(tuple(sets.calibration.shape), (4, 3, 48, 48))
        self.assertEqual(tuple(sets.check.shape), (8, 3, 48, 48))

    def test_int8_usage_and_calibration_errors(self):
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty)
        broken = os.path.join(self.dir, "broken.csv")
        with open(broken, "w") as f:
            f.write("path,lat,lon\nmissing.jpg,1,2\n")
        cases = [
            (["--calibration-images", empty], 2, "need --quantize"),
            (["--calibration-count", "3"], 2, "need --quantize"),
            (["--quantize", "int8", "--calibration-count", "0"], 2, "at least 1"),
            (["--quantize", "int8", "--calibration-images", self.path("nope")], 2,
             "no such file or directory"),
            (["--quantize", "int8", "--calibration-images", empty], 2, "no images found"),
            (["--quantize", "int8", "--calibration-images", broken], 2, "missing.jpg"),
            # The quality guard: no int8 model reproduces fp32 exactly.
            (["--quantize", "int8", "--calibration-count", "4", "--int8-min-cosine", "1"], 1,
             "int8 descriptors drift from fp32"),
        ]
        for argv, code, message in cases:
            with self.subTest(argv=argv):
                status, err = run_cli(INT8_BASE + argv + ["-o", self.path("x.pt")])
                self.assertEqual(status, code, err)
                self.assertIn(message, err)
                self.assertFalse(os.path.exists(self.path("x.pt")))

    def test_int8_guard_refuses_efficientnet(self):
        # Measured: static int8 moves a random-init EfficientNet-B0's descriptors to cosine ~0.9
        # (depthwise convolutions and squeeze-excitation gates); the exporter refuses it.
        status, err = run_cli(["--backbone", "efficientnet_b0", "--head", "gem", "--input-size",
                               "64", "--quantize", "int8", "--calibration-count", "8",
                               "-o", self.path("e.pt")])
        self.assertEqual(status, 1, err)
        self.assertIn("int8 descriptors drift from fp32", err)
        self.assertFalse(os.path.exists(self.path("e.pt")))

    def test_demo_preset_in_int8(self):
        args = em.parse_args(["--demo", "--quantize", "int8", "-o", "x.pt"])
        self.assertEqual(args.name, "demo-resnet18-cosplace512-int8")
        self.assertEqual(args.calibration_count, gq.DEFAULT_CALIBRATION_COUNT)
        self.assertEqual(em.parse_args(["--demo", "-o", "x.pt"]).quantize, None)

class CheckpointFormatsTest(unittest.TestCase):
    """The formats users bring (docs/MODEL.md, "Checkpoints"): each exported archive gives the
    original network's descriptors; the input size travels with the format."""

    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_cosplace_efficientnet_checkpoints_in_both_layouts(self):
        x = ref.image_batch(2, 64, 64, seed=5)
        for wrapped in (True, False):
            with self.subTest(wrapped=wrapped):
                torch.manual_seed(11)
                replica = ref.CosPlaceEfficientNetReplica(dim=128, p=2.8, wrapped=wrapped)
                ref.randomise_batchnorm_stats(replica, seed=11)
                replica.eval()
                prefix = "backbone.0.0.0." if wrapped else "backbone.0.0."
                self.assertIn(prefix + "weight", replica.state_dict())
                torch.save(replica.state_dict(), self.path("effnet.pth"))
                out = self.path(f"effnet-{wrapped}.pt")
                status, err = run_cli(["--backbone", "efficientnet_b0", "--head", "cosplace",
                                       "--input-size", "64", "--checkpoint",
                                       self.path("effnet.pth"), "--checkpoint-format",
                                       "cosplace", "-o", out])
                self.assertEqual(status, 0, err)
                module, info = load_archive(out)
                self.assertEqual(info["dim"], 128)
                self.assertAlmostEqual(info["gem_p"], 2.8, places=5)
                self.assertIn("CosPlace" if wrapped else "backbone.<i>",
                              info["source"]["efficientnet_layout"])
                with torch.no_grad():
                    self.assertLess(gm.max_abs_diff(module(x), replica(x)), TOLERANCE)

    def test_pytorch_netvlad_checkpoints(self):
        x = ref.image_batch(2, 64, 64, seed=6)
        for vladv2, parallel in ((False, False), (True, True)):
            with self.subTest(vladv2=vladv2, parallel=parallel):
                torch.manual_seed(12)
                replica = ref.PytorchNetVladReplica(clusters=8, vladv2=vladv2).eval()
                self.assertEqual("pool.conv.bias" in replica.state_dict(), vladv2)
                # As pytorch-NetVlad's save_checkpoint writes it (numpy recalls, an optimiser),
                # in the pre-1.6 serialisation its users' files have.
                torch.save(ref.pytorch_netvlad_checkpoint(replica, parallel),
                           self.path("checkpoint.pth.tar"), _use_new_zipfile_serialization=False)
                out = self.path(f"netvlad-{vladv2}.pt")
                status, err = run_cli(["--backbone", "vgg16", "--head", "netvlad",
                                       "--input-size", "64", "--checkpoint",
                                       self.path("checkpoint.pth.tar"), "--checkpoint-format",
                                       "netvlad", "-o", out])
                self.assertEqual(status, 0, err)
                module, info = load_archive(out)
                self.assertEqual((info["clusters"], info["dim"]), (8, 8 * 512))  # from the file
                self.assertIn("vladv2" if vladv2 else "vladv1",
                              info["source"]["netvlad_variant"])
                with torch.no_grad():
                    self.assertLess(gm.max_abs_diff(module(x), replica(x)), TOLERANCE)

    def test_input_size_travels_with_the_format(self):
        torch.manual_seed(13)
        replica = ref.CosPlaceReplica(dim=128, p=3.0)
        torch.save(replica.state_dict(), self.path("cosplace.pth"))
        out = self.path("cosplace.pt")
        status, err = run_cli(["--backbone", "resnet18", "--head", "cosplace", "--checkpoint",
                               self.path("cosplace.pth"), "--checkpoint-format", "cosplace",
                               "-o", out])
        self.assertEqual(status, 0, err)
        info = load_archive(out)[1]
        self.assertEqual((info["input_size"], info["resize"]), ([512, 512], "resize_center_crop"))
        self.assertEqual(info["input"]["from"], "checkpoint format cosplace")
        self.assertIn("512x512", info["input"]["why"])

        ckpt = gc.Checkpoint("x", {"pool.centroids": torch.zeros(4, 512)})
        cases = [("torchvision", "gem", None, set(), (224, 224), "resize_center_crop"),
                 ("netvlad", "netvlad", ckpt, set(), (480, 640), "resize"),
                 ("netvlad", "netvlad", ckpt, {"input_size"}, (100, 120), "resize"),
                 ("netvlad", "netvlad", ckpt, {"input_size", "resize"}, (100, 120),
                  "resize_center_crop"),
                 (None, "gem", None, set(), (224, 224), "resize_center_crop")]
        for fmt, head, c, explicit, size, resize in cases:
            with self.subTest(fmt=fmt, explicit=explicit):
                config = gm.ModelConfig(backbone="vgg16", head=head, input_size=(100, 120),
                                        resize="resize_center_crop")
                record = gc.configure(config, c, fmt, explicit)
                self.assertEqual((config.input_size, config.resize), (size, resize))
                self.assertEqual(record["from"], "--input-size" if "input_size" in explicit
                                 else (f"checkpoint format {fmt}" if fmt else "default"))

    def test_geoloc_checkpoints_carry_their_architecture_and_training(self):
        config = gm.ModelConfig(backbone="resnet18", truncate=True, head="gem", gem_p=2.5,
                                input_size=(40, 56), resize="resize", seed=9)
        model = gm.build_model(config)
        with torch.no_grad():
            model.backbone[0].weight.mul_(1.5)  # not the seed's weights
        plain = gm.to_plain(config)
        plain["input_size"] = list(plain["input_size"])
        torch.save({"state_dict": model.state_dict(), "geoloc_config": json.dumps(plain),
                    "training": json.dumps({"method": "cosplace", "best": {"epoch": 3}})},
                   self.path("best.pth"))
        out = self.path("trained.pt")
        status, err = run_cli(["--checkpoint", self.path("best.pth"), "--checkpoint-format",
                               "geoloc", "-o", out])
        self.assertEqual(status, 0, err)
        module, info = load_archive(out)
        self.assertEqual((info["backbone"], info["head"], info["gem_p"], info["input_size"],
                          info["resize"]), ("resnet18-truncated", "gem", 2.5, [40, 56], "resize"))
        self.assertEqual(info["training"], {"method": "cosplace", "best": {"epoch": 3}})
        self.assertEqual(info["fingerprint"], gm.model_fingerprint(model, config))
        x = ref.image_batch(2, 40, 56, seed=7)
        with torch.no_grad():
            self.assertLess(gm.max_abs_diff(module(x), model(x)), TOLERANCE)
        # Serving options may change; the architecture may not.
        status, err = run_cli(["--checkpoint", self.path("best.pth"), "--checkpoint-format",
                               "geoloc", "--input-size", "48", "64", "-o", self.path("b.pt")])
        self.assertEqual(status, 0, err)
        self.assertEqual(load_archive(self.path("b.pt"))[1]["input_size"], [48, 64])
        status, err = run_cli(["--checkpoint", self.path("best.pth"), "--checkpoint-format",
                               "geoloc", "--head", "avg", "--gem-p", "3", "-o", self.path("c.pt")])
        self.assertEqual(status, 2)
        self.assertIn("takes the architecture from the checkpoint; drop --gem-p, --head", err)

    def test_a_wrong_checkpoint_fails_naming_the_keys(self):
        torch.manual_seed(14)
        replica = ref.PytorchNetVladReplica(clusters=4)
        state = ref.pytorch_netvlad_checkpoint(replica)
        state["state_dict"]["encoder.28.weightX"] = state["state_dict"].pop("encoder.28.weight")
        torch.save(state, self.path("renamed.pth.tar"))
        effnet = ref.CosPlaceEfficientNetReplica(dim=128, p=3.0)
        torch.save(effnet.state_dict(), self.path("effnet.pth"))
        resnet = torchvision.models.resnet18(weights=None).state_dict()
        torch.save(resnet, self.path("resnet18.pth"))
        vgg = ["--backbone", "vgg16", "--head", "netvlad", "--input-size", "64"]
        cases = [
            (vgg + ["--checkpoint", self.path("renamed.pth.tar"), "--checkpoint-format",
                    "netvlad"],
             ["missing keys: backbone.28.weight", "unexpected keys: encoder.28.weightX"]),
            (["--backbone", "resnet18", "--head", "netvlad", "--input-size", "64", "--checkpoint",
              self.path("renamed.pth.tar"), "--checkpoint-format", "netvlad"],
             ["unexpected keys: encoder.0.bias, encoder.10.bias", "missing keys: backbone.0.weight",
              "shape mismatches: encoder.0.weight (shape [64, 3, 3, 3], model has [64, 3, 7, 7])"]),
            (vgg + ["--checkpoint", self.path("resnet18.pth"), "--checkpoint-format", "netvlad"],
             ["no pool.centroids, so this is not a pytorch-NetVlad checkpoint"]),
            (["--backbone", "efficientnet_b1", "--head", "cosplace", "--input-size", "64",
              "--checkpoint", self.path("effnet.pth"), "--checkpoint-format", "cosplace"],
             ["missing keys: backbone.1.1.block.0.0.weight"]),
            (["--backbone", "resnet18", "--head", "gem", "--checkpoint", self.path("effnet.pth"),
              "--checkpoint-format", "netvlad"], ["--head netvlad"]),
            (["--checkpoint", self.path("resnet18.pth"), "--checkpoint-format", "geoloc"],
             ["no geoloc_config entry"]),
        ]
        for argv, messages in cases:
            with self.subTest(argv=argv[-1]):
                status, err = run_cli(argv + ["-o", self.path("out.pt")])
                self.assertEqual(status, 2, err)
                for message in messages:
                    self.assertIn(message, err)
                self.assertFalse(os.path.exists(self.path("out.pt")))

    def test_checkpoints_are_read_without_running_code(self):
        marker = self.path("ran")

        class Payload:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        torch.save({"state_dict": {"w": torch.zeros(1)}, "x": Payload()}, self.path("evil.pth"))
        with self.assertRaises(gm.ModelError) as e:
            gc.load_checkpoint(self.path("evil.pth"))
        self.assertIn("refusing to load", str(e.exception))
        self.assertFalse(os.path.exists(marker))


if __name__ == "__main__":
    unittest.main(verbosity=2)
