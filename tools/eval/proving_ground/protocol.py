"""The proving-ground protocol (docs/PROVING_GROUND.md): a list of steps run in order on one
synthetic world, each declaring which splits it fits on, tunes on and reports on.

    steps = default_steps()
    check_split_roles(steps)          # refuses any step that fits or tunes on the test split
    Protocol(settings).run(steps)

Adding an experiment means adding steps: a descriptor-training step fits on "train" and tunes on
"val" and sets `ctx.model` (issue 14); a calibration step fits on "calib" and a coverage step
reports on "test" (issue 15). Every step runs its tools as subprocesses, logs the exact commands
to WORK/commands.log, and records its wall and CPU time in WORK/timings.json.
"""
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time

SPLITS = ("train", "database", "val", "calib", "test")
TEST_SPLIT = "test"
CLASSIFIER_VARIANTS = ("mc", "hmc", "hmc_sol", "hmc_smooth")
REPORT_THRESHOLDS_KM = "0.1,1,25,200,750,2500"
# Calibration (docs/CALIBRATION.md): the settings geolocd serves by default (--estimator kde,
# --default_k 60, --weight_exponent 5, --bandwidth_km 0.5) and a single-peak estimator, fitted
# on val (score function) and calib (conformal scores, isotonic maps), reported on test.
CALIBRATED_ESTIMATORS = "spherical_kde,nearest"
# The fused answer is calibrated on a copy of the database bundle given the HMC classifier's
# cells and head (trained on the train split), so that Locate's `best` is the fused one.
FUSED_CLASSIFIER = "hmc"
CALIBRATED_K = 60
REGION_LEVELS = "0.5,0.68,0.9,0.95"

# Per preset: adaptive cells over the training split (about 8 to 60 leaves) and the classifier's
# width. The seed's cells used t_max around 1/10 to 1/100 of the photos; these follow the split's
# size. "synth" (default: the preset's own name) and "synth_flags" say how geoloc-synth draws it.
# Incident sizes calibrated beside the spherical KDE's entries (docs/INCIDENTS.md): those for
# which val and calib have enough places with that many photos (the tiny world has 5 and 7 places
# with two).
PRESET_SETTINGS = {
    "tiny": {"t_min": 10, "t_max": 40, "hidden": 128, "incident_sizes": "2"},
    "small": {"t_min": 20, "t_max": 120, "hidden": 256, "incident_sizes": "2,4"},
    "medium": {"t_min": 40, "t_max": 400, "hidden": 512, "incident_sizes": "2,4,8"},
    # The medium world with about 4x its independent places per query split, one photo each
    # (medium: about 450 places per split with 3.2 photos each, so a correct conformal method's
    # coverage varies by about 3 points between re-splits; docs/CALIBRATION.md): the same ~2,250
    # training places (7,600 x 0.3), every held-out place photographed by one query (about 1,750
    # per split); 30,500 images against medium's 20,800. One photo per place: no incidents to fit.
    "medium-calib": {"t_min": 40, "t_max": 400, "hidden": 512, "synth": "medium",
                     "synth_flags": ["--places", "7600", "--train_place_share", "0.3",
                                     "--query_place_share", "1.0", "--max_query_views", "1"],
                     "incident_sizes": ""},
    # medium-calib with 4x the held-out places (one photo each, about 9,300 per query split) and
    # the same ~2,280 training places (30,400 x 0.075): the ECE's noise floor halves
    # (docs/CALIBRATION.md "The ECE's noise floor"). 124,000 images; the database grows with the
    # places (75,500 photos).
    "medium-calib4x": {"t_min": 40, "t_max": 400, "hidden": 512, "synth": "medium",
                       "synth_flags": ["--places", "30400", "--train_place_share", "0.075",
                                       "--query_place_share", "1.0", "--max_query_views", "1"],
                       "incident_sizes": ""},
    "large": {"t_min": 300, "t_max": 3000, "hidden": 512, "incident_sizes": "2,4,8"},
}


class ProtocolError(Exception):
    pass


class Step:
    """One step: `run(ctx)` does the work; the split roles are what the guard checks."""

    def __init__(self, name, run, fits=(), tunes=(), reports=(), doc=""):
        self.name, self.run_fn = name, run
        self.fits, self.tunes, self.reports = tuple(fits), tuple(tunes), tuple(reports)
        self.doc = doc
        for split in self.fits + self.tunes + self.reports:
            if split not in SPLITS:
                raise ProtocolError(f"step {name}: unknown split {split!r}")


def check_split_roles(steps):
    """Refuses a protocol in which any step fits or tunes on the test split."""
    for step in steps:
        if TEST_SPLIT in step.fits or TEST_SPLIT in step.tunes:
            role = "fits" if TEST_SPLIT in step.fits else "tunes"
            raise ProtocolError(
                f"step '{step.name}' {role} on the test split; the test split is reported on and "
                "never fitted or tuned on (fit on train, tune on val, calibrate on calib)")


class Context:
    """What the steps share: settings, paths and the outputs of earlier steps."""

    def __init__(self, settings):
        self.settings = settings
        self.work = os.path.abspath(settings["work"])
        self.build = os.path.abspath(settings["build"])
        self.root = settings["root"]
        self.preset = settings["preset"]
        self.seed = settings["seed"]
        self.model = os.path.abspath(settings["model"]) if settings.get("model") else None
        self.timings = {}
        self.commands = []

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def tool(self, name):
        subdir = {"geoloc-synth": "synth", "geoloc-index": "index", "geoloc-cells": "cells",
                  "geoloc-eval": "eval"}[name]
        path = os.path.join(self.build, "tools", subdir, name)
        if not os.access(path, os.X_OK):
            raise ProtocolError(f"{path} is missing: build it first (cmake --build "
                                f"{self.build} --target {name})")
        return path

    def call(self, argv, stdout_path=None):
        """Runs a command, echoing it; its stderr (progress) passes through. Its stdout goes to
        `stdout_path` only when it succeeds (written beside it, then renamed)."""
        line = " ".join(shlex.quote(a) for a in argv)
        if stdout_path:
            line += f" > {shlex.quote(stdout_path)}"
        self.commands.append(line)
        with open(self.path("commands.log"), "a") as log:
            log.write(line + "\n")
        print(f"$ {line}", file=sys.stderr, flush=True)
        partial = f"{stdout_path}.partial" if stdout_path else None
        out = open(partial, "w") if partial else None
        try:
            code = subprocess.call(argv, stdout=out)
        finally:
            if out:
                out.close()
        if code != 0:
            raise ProtocolError(f"command failed with exit status {code}: {line}")
        if partial:
            os.replace(partial, stdout_path)


class Protocol:
    def __init__(self, settings):
        self.ctx = Context(settings)

    def run(self, steps, only=None):
        check_split_roles(steps)
        ctx = self.ctx
        os.makedirs(ctx.work, exist_ok=True)
        timings_path = ctx.path("timings.json")
        if os.path.exists(timings_path):
            with open(timings_path) as f:
                ctx.timings = json.load(f)
        with open(ctx.path("protocol.json"), "w") as f:
            json.dump({"settings": {k: v for k, v in ctx.settings.items()},
                       "steps": [{"name": s.name, "fits": s.fits, "tunes": s.tunes,
                                  "reports": s.reports, "doc": s.doc} for s in steps]}, f,
                      indent=1)
        selected = [s for s in steps if only is None or s.name in only]
        total_start = time.time()
        for i, step in enumerate(selected):
            print(f"\n== step {i + 1}/{len(selected)}: {step.name} ({step.doc})", file=sys.stderr,
                  flush=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            self_before = resource.getrusage(resource.RUSAGE_SELF)
            start = time.time()
            step.run_fn(ctx)
            wall = time.time() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            self_after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime +
                   self_after.ru_utime - self_before.ru_utime + self_after.ru_stime -
                   self_before.ru_stime)
            ctx.timings[step.name] = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                                      "command": ctx.settings.get("command", "")}
            with open(timings_path, "w") as f:
                json.dump(ctx.timings, f, indent=1)
            elapsed = time.time() - total_start
            left = len(selected) - i - 1
            print(f"== {step.name}: {wall:.1f} s wall, {cpu:.1f} s CPU; {elapsed / 60:.1f} min "
                  f"so far, {left} step(s) left", file=sys.stderr, flush=True)
        return ctx


# ------------------------------------------------------------------------------------------------
# The default steps.

def step_world(ctx):
    s = PRESET_SETTINGS[ctx.preset]
    argv = [ctx.tool("geoloc-synth"), "--preset", s.get("synth", ctx.preset), "--seed",
            str(ctx.seed), "--out", ctx.path("world"), "--force"] + s.get("synth_flags", [])
    if ctx.settings.get("threads"):
        argv += ["--threads", str(ctx.settings["threads"])]
    ctx.call(argv, stdout_path=ctx.path("world.txt"))


def step_model(ctx):
    if ctx.model:
        print(f"using the model {ctx.model}", file=sys.stderr)
        return
    os.makedirs(ctx.path("model"), exist_ok=True)
    ctx.call(["/usr/bin/python3", os.path.join(ctx.root, "tools", "export_model.py"), "--demo",
              "-o", ctx.path("model", "model.pt"), "--quiet"])


def model_path(ctx):
    return ctx.model or ctx.path("model", "model.pt")


def step_index(ctx):
    os.makedirs(ctx.path("bundles"), exist_ok=True)
    for split in ("database", "train"):
        ctx.call([ctx.tool("geoloc-index"), "build", "--model", model_path(ctx), "--csv",
                  ctx.path("world", f"{split}.csv"), "--output", ctx.path("bundles", split),
                  "--name", split, "--replace"],
                 stdout_path=ctx.path("bundles", f"{split}.txt"))


def step_probe(ctx):
    from . import probe_step
    probe_step.run(ctx)


def step_cells(ctx):
    s = PRESET_SETTINGS[ctx.preset]
    ctx.call([ctx.tool("geoloc-cells"), "generate", "--bundle", ctx.path("bundles", "train"),
              "--lvl_start", "2", "--lvl_end", "14", "--t_min", str(s["t_min"]), "--t_max",
              str(s["t_max"]), "--force"], stdout_path=ctx.path("bundles", "cells.txt"))


def step_classifier(ctx):
    s = PRESET_SETTINGS[ctx.preset]
    for variant in CLASSIFIER_VARIANTS:
        target = ctx.path("bundles", f"train-{variant}")
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(ctx.path("bundles", "train"), target)
        ctx.call([ctx.tool("geoloc-cells"), "train", "--bundle", target, "--variant", variant,
                  "--hidden", str(s["hidden"]), "--progress=false", "--seed", "0"],
                 stdout_path=ctx.path("bundles", f"train-{variant}.txt"))


def step_retrieve(ctx):
    os.makedirs(ctx.path("eval"), exist_ok=True)
    for split in ctx.settings.get("retrieve_splits", ("val", "test")):
        ctx.call([ctx.tool("geoloc-eval"), "retrieve", "--model", model_path(ctx), "--bundle",
                  ctx.path("bundles", "database"), "--csv", ctx.path("world", f"{split}.csv"),
                  "--out", ctx.path("eval", f"{split}.retrieval"), "--log_level", "warning"])


def step_tune(ctx):
    ctx.call([ctx.tool("geoloc-eval"), "tune", "--retrieval", ctx.path("eval", "val.retrieval"),
              "--thresholds_km", REPORT_THRESHOLDS_KM, "--json"],
             stdout_path=ctx.path("eval", "tuned.json"))


def step_evaluate(ctx):
    classifiers = ",".join(f"{v}={ctx.path('bundles', 'train-' + v)}" for v in CLASSIFIER_VARIANTS)
    ctx.call([ctx.tool("geoloc-eval"), "run", "--retrieval", ctx.path("eval", "test.retrieval"),
              "--tuned", ctx.path("eval", "tuned.json"), "--tuned_threshold_km", "0.1",
              "--thresholds_km", REPORT_THRESHOLDS_KM, "--classifier_bundles", classifiers,
              "--queries_out", ctx.path("eval", "test_queries.csv"), "--json"],
             stdout_path=ctx.path("eval", "test.json"))


def step_calibrate(ctx):
    if "calib" not in ctx.settings.get("retrieve_splits", ()) or \
            not os.path.exists(ctx.path("eval", "calib.retrieval")):
        raise ProtocolError("the calibrate step needs the calib split's retrieval: run the "
                            "retrieve step with --retrieve val,calib,test")
    for name, estimators, out in (("database-calibrated", CALIBRATED_ESTIMATORS, "calibration"),
                                  ("database-fused", "spherical_kde", "calibration_fused")):
        target = ctx.path("bundles", name)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(ctx.path("bundles", "database"), target)
        if name == "database-fused":
            head_bundle = ctx.path("bundles", f"train-{FUSED_CLASSIFIER}")
            for extra, file in (("cells", "cells.json"), ("head", "head.pt")):
                ctx.call([ctx.tool("geoloc-index"), "add-extra", target, f"--name={extra}",
                          f"--file={os.path.join(head_bundle, file)}"])
        ctx.call([ctx.tool("geoloc-eval"), "calibrate", "--model", model_path(ctx), "--bundle",
                  target, "--fit_retrieval", ctx.path("eval", "val.retrieval"),
                  "--calibration_retrieval", ctx.path("eval", "calib.retrieval"), "--estimators",
                  estimators, "--k", str(CALIBRATED_K), "--progress=false", "--log_level",
                  "warning", "--json"]
                 + (["--incident_calibration_sizes", PRESET_SETTINGS[ctx.preset]["incident_sizes"]]
                    if PRESET_SETTINGS[ctx.preset]["incident_sizes"] else [])
                 + ([] if ctx.settings.get("regional_term", True) else ["--noregional_term"]),
                 stdout_path=ctx.path("eval", f"{out}.json"))


def step_coverage(ctx):
    for name, estimators, out in (("database-calibrated", CALIBRATED_ESTIMATORS, "coverage"),
                                  ("database-fused", "spherical_kde", "coverage_fused")):
        ctx.call([ctx.tool("geoloc-eval"), "coverage", "--model", model_path(ctx), "--bundle",
                  ctx.path("bundles", name), "--retrieval", ctx.path("eval", "test.retrieval"),
                  "--estimators", estimators, "--k", str(CALIBRATED_K), "--region_levels",
                  REGION_LEVELS, "--abstain_below", str(ctx.settings.get("abstain_below", 0.13)),
                  "--progress=false", "--log_level", "warning", "--json"],
                 stdout_path=ctx.path("eval", f"{out}.json"))
    from . import calibration_report
    calibration_report.write(ctx)


def step_report(ctx):
    from . import report
    report.write(ctx)


def default_steps():
    return [
        Step("world", step_world, doc="generate the world (geoloc-synth)"),
        Step("model", step_model, doc="export the random-weight model (or use --model)"),
        Step("index", step_index, doc="bundles of the database and the training split"),
        Step("probe", step_probe, fits=("train", "database"),
             doc="linear probes per level on the model's descriptors"),
        Step("cells", step_cells, fits=("train",),
             doc="adaptive S2 cells over the training split"),
        Step("classifier", step_classifier, fits=("train",),
             doc="the four cell classifiers, trained on the training split"),
        Step("retrieve", step_retrieve,
             doc="encode and search the validation and test queries once"),
        Step("tune", step_tune, tunes=("val",), doc="grid search of every estimator on val"),
        Step("evaluate", step_evaluate, reports=("test",),
             doc="every estimator, classifier and fused answer on test"),
        Step("calibrate", step_calibrate, fits=("val", "calib"),
             doc="calibration.json for the served settings, retrieval alone and fused with the "
                 "HMC classifier: score function on val, conformal scores and isotonic maps on "
                 "calib"),
        Step("coverage", step_coverage, reports=("test",),
             doc="coverage, reliability and abstention of the calibrated answers on test"),
        Step("report", step_report, reports=("test",), doc="Markdown report and plots"),
    ]
