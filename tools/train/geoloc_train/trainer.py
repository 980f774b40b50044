"""The training run: model, data, the method's steps, validation every epoch, the best weights,
resumable state and the export (docs/TRAINING.md).

A run lives in one directory:

  config.json   the run's settings (written once; --resume reads them back)
  state.pth     everything a resume needs: weights, optimisers, the method's data order, every
                RNG state, history, best so far (end of each epoch, every --checkpoint-every
                steps and every --checkpoint-minutes)
  best.pth      the best weights on validation (recall@1, then recall@5; epoch 0 is the
                initialisation, so training can never export something worse than it started
                from) with their ModelConfig and training record: a `geoloc` checkpoint
  initial.pth   the weights before training (seeded random, a checkpoint's, NetVLAD clusters
                from k-means), the same way: the baseline to compare with
  history.json  per epoch: mean training loss, validation recalls; per step: the loss
  model.pt      the TorchScript archive (tools/export_model.py --checkpoint-format geoloc)
  curves.png    loss and validation recall against training steps

Everything random is drawn from one torch.Generator in the main thread (batches, augmentation
parameters, mining pools, k-means); pictures are decoded on worker threads from those draws. A
fixed seed therefore reproduces a run, and a killed run resumed from state.pth ends with the same
bytes as an uninterrupted one on the same machine and thread count (the steps between the last
state and the kill are redone identically).

  trainer = Trainer(RunConfig(method="cosplace", train="csv:train.csv", ...), "runs/r18")
  summary = trainer.run(resume=False)
"""

import json
import os
import random
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch

import export_model as em
import geoloc_checkpoints as gc
import geoloc_models as gm

from . import cosplace, geo, images, triplets, validation
from .files import atomic_write, atomic_write_text
from .progress import Progress, format_duration
from .samples import SampleSet, read_samples

STATE_FORMAT = "geoloc-train-state/1"
METHODS = ("cosplace", "netvlad")
# First trainable child of the backbone Sequential by default, as CosPlace and the benchmark
# seed 003 used: ResNets from layer3 (index 6), VGG-16 its last 5 layers (conv5_1 at index 24),
# EfficientNet from block 5.
_DEFAULT_TRAIN_FROM = {"resnet18": 6, "resnet50": 6, "vgg16": 24, "efficientnet_b0": 5,
                       "efficientnet_b1": 5}


class TrainError(ValueError):
    """A run that cannot start or continue, with a message a user can act on."""


@dataclass
class RunConfig:
    method: str
    train: str
    val_queries: str
    val_database: str
    image_root: Optional[str] = None
    # The model; None means "not given" (the checkpoint format or the method decides).
    backbone: Optional[str] = None
    head: Optional[str] = None
    dim: Optional[int] = None
    truncate: Optional[bool] = None
    clusters: Optional[int] = None
    gem_p: Optional[float] = None
    gem_learnable: Optional[bool] = None
    input_size: Optional[Tuple[int, int]] = None
    resize: Optional[str] = None
    checkpoint: Optional[str] = None
    checkpoint_format: Optional[str] = None
    train_from: str = "default"  # "default", "all" or a backbone child index
    bn: str = "train"  # "train": BatchNorm statistics follow the batches; "frozen": they stay
    epochs: int = 10
    iterations_per_epoch: int = 0  # 0: cosplace 1000, netvlad one pass over the queries
    augment: Optional[bool] = None  # None: cosplace yes (seed 002), netvlad no (seed 003)
    augmentation: Dict[str, float] = field(default_factory=lambda: images.AugmentSettings().record())
    cosplace: Dict[str, object] = field(default_factory=lambda: cosplace.CosPlaceSettings().record())
    triplets: Dict[str, object] = field(default_factory=lambda: triplets.TripletSettings().record())
    seed: int = 0
    threads: int = 2
    loader_threads: int = 2
    device: str = "auto"
    val_batch: int = 32
    val_max_queries: int = 0
    val_max_database: int = 0  # keep the queries' matches plus distractors up to this many
    cache_mb: int = 2048
    checkpoint_every: int = 0  # steps; 0: only at epoch ends and by time
    checkpoint_minutes: float = 5.0
    name: Optional[str] = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "RunConfig":
        fields = json.loads(text)
        if fields.get("input_size") is not None:
            fields["input_size"] = tuple(fields["input_size"])
        return RunConfig(**fields)


_MODEL_FIELDS = ("backbone", "head", "dim", "truncate", "clusters", "gem_p", "gem_learnable",
                 "input_size", "resize")
_METHOD_HEADS = {"cosplace": "cosplace", "netvlad": "netvlad"}


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: this PyTorch sees no CUDA device")
    return torch.device(name)


def _subsample(s: SampleSet, limit: int) -> SampleSet:
    if limit <= 0 or len(s.samples) <= limit:
        return s
    step = len(s.samples) / limit
    return SampleSet(s.source, [s.samples[int(i * step)] for i in range(limit)], s.skipped)


def _smaller_database(db: SampleSet, queries: SampleSet, limit: int) -> SampleSet:
    """Every database photo within the recall radius of a query, plus evenly spaced others up to
    `limit` photos in all: recall on a smaller haystack, for choosing epochs faster."""
    if limit <= 0 or len(db.samples) <= limit:
        return db
    near = geo.neighbours_within(
        torch.tensor([s.lat for s in queries.samples], dtype=torch.float64),
        torch.tensor([s.lon for s in queries.samples], dtype=torch.float64),
        torch.tensor([s.lat for s in db.samples], dtype=torch.float64),
        torch.tensor([s.lon for s in db.samples], dtype=torch.float64),
        validation.RECALL_RADIUS_M)
    needed_set = {int(i) for n in near for i in n}
    needed = sorted(needed_set)
    rest = [i for i in range(len(db.samples)) if i not in needed_set]
    room = max(0, limit - len(needed))
    step = len(rest) / room if room else 0
    chosen = sorted(needed + [rest[int(i * step)] for i in range(min(room, len(rest)))])
    return SampleSet(db.source, [db.samples[i] for i in chosen], db.skipped)


class _StatsFrozenBatchNorm2d(torch.nn.BatchNorm2d):
    """BatchNorm that always normalises with its running statistics and never updates them (as
    in eval mode), while its scale and shift still train (--bn frozen)."""

    def train(self, mode: bool = True):
        return super().train(False)


class Trainer:
    def __init__(self, cfg: RunConfig, out_dir: str, log=None,
                 simulate_kill_after_step: int = 0):
        if cfg.method not in METHODS:
            raise TrainError(f"unknown method '{cfg.method}'; choose one of {', '.join(METHODS)}")
        self.cfg = cfg
        self.out = os.path.abspath(out_dir)
        self.log = log or (lambda line: print(line, flush=True))
        self.simulate_kill_after_step = simulate_kill_after_step
        self.paths = {name: os.path.join(self.out, name) for name in
                      ("config.json", "state.pth", "best.pth", "initial.pth", "history.json",
                       "model.pt", "curves.png", "summary.json")}

    # -- set-up ---------------------------------------------------------------------------------

    def _model(self):
        cfg = self.cfg
        config = gm.ModelConfig(seed=cfg.seed, name=cfg.name)
        explicit = set()
        for name in _MODEL_FIELDS:
            value = getattr(cfg, name)
            if value is not None:
                setattr(config, name, tuple(value) if name == "input_size" else value)
                explicit.add(name)
        if cfg.head is None and cfg.checkpoint_format != "geoloc":
            config.head = _METHOD_HEADS[cfg.method]
        if config.head == "cosplace" and config.dim is None and cfg.checkpoint_format != "cosplace":
            config.dim = 512
        ckpt = gc.load_checkpoint(cfg.checkpoint) if cfg.checkpoint else None
        input_record = gc.configure(config, ckpt, cfg.checkpoint_format, explicit)
        model = gm.build_model(config)
        init: Dict[str, object] = {"weights": "random", "seed": cfg.seed}
        if ckpt is not None:
            summary = gc.apply_checkpoint(model, config, ckpt, cfg.checkpoint_format)
            init = {"weights": "checkpoint", "checkpoint": os.path.basename(cfg.checkpoint),
                    "checkpoint_format": cfg.checkpoint_format, "checkpoint_sha256": ckpt.sha256,
                    **summary}
        return model, config, init, input_record

    def _freeze(self, model: gm.GeolocNet, config: gm.ModelConfig) -> int:
        spec = self.cfg.train_from
        if spec == "all":
            first = 0
        elif spec == "default":
            first = _DEFAULT_TRAIN_FROM[config.backbone]
        else:
            try:
                first = int(spec)
            except ValueError:
                raise TrainError(f"--train-from must be default, all or a backbone index, "
                                 f"got '{spec}'") from None
        first = min(first, len(model.backbone) - 1)
        for i, child in enumerate(model.backbone):
            for p in child.parameters():
                p.requires_grad_(i >= first)
        if self.cfg.bn == "frozen":
            for module in model.modules():
                if type(module) is torch.nn.BatchNorm2d:
                    module.__class__ = _StatsFrozenBatchNorm2d
        elif self.cfg.bn != "train":
            raise TrainError(f"--bn must be train or frozen, got '{self.cfg.bn}'")
        return first

    # -- state ----------------------------------------------------------------------------------

    def _save_state(self, finished: bool = False) -> None:
        state = {
            "format": STATE_FORMAT,
            "config": self.cfg.to_json(),
            "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step, "finished": finished,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "method": self.step_impl.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            "history": json.dumps(self.history), "best": json.dumps(self.best),
            "seconds": self.seconds_before + (time.monotonic() - self.session_start),
        }
        atomic_write(self.paths["state.pth"], lambda f: torch.save(state, f))
        self.last_state_time = time.monotonic()

    def _load_state(self) -> Dict[str, object]:
        try:
            state = gc.restricted_torch_load(self.paths["state.pth"])
        except Exception as e:  # noqa: BLE001 - torch.load raises many types for a bad file
            raise TrainError(f"{self.paths['state.pth']}: cannot read ({e})") from None
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise TrainError(f"{self.paths['state.pth']}: not a {STATE_FORMAT} file")
        return state

    def _restore(self, state: Dict[str, object]) -> None:
        self.model.load_state_dict(state["model"])
        self.step_impl.load_state_dict(state["method"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        random.setstate(_as_python_rng(state["python_rng"]))
        if self.device.type == "cuda" and state["cuda_rng"]:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.epoch, self.step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
        self.global_step = int(state["global_step"])
        self.history = json.loads(state["history"])
        self.best = json.loads(state["best"])
        self.seconds_before = float(state["seconds"])

    def _save_weights(self, name: str, record: Dict[str, object]) -> None:
        """The current weights as a `geoloc` checkpoint (tools/export_model.py reads it)."""
        config = dict(gm.to_plain(self.model_config))
        config["input_size"] = list(config["input_size"])
        payload = {"state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                   "geoloc_config": json.dumps(config), "training": json.dumps(record),
                   "epoch": self.epoch}
        atomic_write(self.paths[name], lambda f: torch.save(payload, f))

    # -- data -----------------------------------------------------------------------------------

    def _load_augmented(self, indices: Sequence[int], generator: torch.Generator):
        draws = [images.AugmentDraw.sample(generator) for _ in indices]
        hw, c = self.model_config.input_size, self.model_config

        def one(item):
            path, draw = item
            return images.augment(images.load_image(path, hw), draw, self.augment_settings, hw,
                                  c.mean, c.std)

        items = [(self.train_set.samples[i].path, d) for i, d in zip(indices, draws)]
        return torch.stack(list(self.loader.map(one, items)))

    def _load_plain(self, indices: Sequence[int], generator: torch.Generator):
        paths = [self.train_set.samples[i].path for i in indices]
        return images.normalise(self.cache.get_many(paths), self.model_config.mean,
                                self.model_config.std)

    def _encode_train(self, indices: Sequence[int]):
        paths = [self.train_set.samples[i].path for i in indices]
        return validation.encode(self.model, paths, self.cache, self.model_config.mean,
                                 self.model_config.std, self.cfg.val_batch, self.device)

    # -- validation -----------------------------------------------------------------------------

    def _validate(self) -> Dict[str, float]:
        c = self.model_config
        db = validation.encode(self.model, [s.path for s in self.val_db.samples], self.cache,
                               c.mean, c.std, self.cfg.val_batch, self.device,
                               label=f"epoch {self.epoch} validation database")
        q = validation.encode(self.model, [s.path for s in self.val_q.samples], self.cache,
                              c.mean, c.std, self.cfg.val_batch, self.device,
                              label=f"epoch {self.epoch} validation queries")
        r = validation.recall_at(q, db, *self.val_coords)
        return {f"recall@{n}": round(v, 6) for n, v in r.items()}

    def _is_better(self, val: Dict[str, float]) -> bool:
        if not self.best:
            return True
        return ((val["recall@1"], val["recall@5"])
                > (self.best["val"]["recall@1"], self.best["val"]["recall@5"]))

    def _end_of_epoch(self, losses: List[float]) -> None:
        val = self._validate()
        entry = {"epoch": self.epoch, "step": self.global_step,
                 "train_loss": round(sum(losses) / len(losses), 6) if losses else None,
                 "val": val}
        self.history["epochs"].append(entry)
        improved = self._is_better(val)
        if improved:
            self.best = {"epoch": self.epoch, "step": self.global_step, "val": val}
            self._save_weights("best.pth", self._record())
        if self.epoch == 0:  # the baseline a trained model is compared with
            self._save_weights("initial.pth", self._record())
        loss = f"loss {entry['train_loss']:.4f}, " if losses else ""
        self.log(f"epoch {self.epoch}/{self.cfg.epochs}: {loss}validation recall@1 "
                 f"{val['recall@1']:.4f} @5 {val['recall@5']:.4f}"
                 + (" (best)" if improved else f" (best: epoch {self.best['epoch']})"))
        atomic_write_text(self.paths["history.json"], json.dumps(self.history, indent=1))

    # -- the run --------------------------------------------------------------------------------

    def _record(self) -> Dict[str, object]:
        cfg = self.cfg
        settings = {"epochs": cfg.epochs, "iterations_per_epoch": self.iterations_per_epoch,
                    "train_from_backbone_index": self.train_from, "batchnorm": cfg.bn,
                    "seed": cfg.seed,
                    "augmentation": self.augment_settings.record() if self.augment else None}
        settings.update(self.method_settings.record())
        return {
            "tool": "tools/train/train.py", "method": cfg.method, "init": self.init,
            "train": {**self.train_set.describe(), **self.data_description},
            "validation": {"queries": self.val_q.describe(), "database": self.val_db.describe(),
                           "max_database": cfg.val_max_database,
                           "radius_m": validation.RECALL_RADIUS_M},
            "settings": settings, "input": self.input_record,
            "initial_val": self.history["epochs"][0]["val"] if self.history["epochs"] else None,
            "best": self.best, "epochs_run": self.epoch, "steps": self.global_step,
            "seconds": round(self.seconds_before + time.monotonic() - self.session_start, 1),
            "device": str(self.device), "threads": cfg.threads,
            "torch_version": torch.__version__,
        }

    def _prepare(self) -> None:
        cfg = self.cfg
        torch.set_num_threads(cfg.threads)
        self.device = _device(cfg.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        self.train_set = read_samples(cfg.train, cfg.image_root)
        self.val_q = _subsample(read_samples(cfg.val_queries, cfg.image_root),
                                cfg.val_max_queries)
        self.val_db = _smaller_database(read_samples(cfg.val_database, cfg.image_root),
                                        self.val_q, cfg.val_max_database)
        self.log(f"data: train {len(self.train_set.samples)} photos ({cfg.train}), validation "
                 f"{len(self.val_q.samples)} queries against {len(self.val_db.samples)} "
                 "database photos")
        q, d = self.val_q.samples, self.val_db.samples
        self.val_coords = (torch.tensor([s.lat for s in q], dtype=torch.float64),
                           torch.tensor([s.lon for s in q], dtype=torch.float64),
                           torch.tensor([s.lat for s in d], dtype=torch.float64),
                           torch.tensor([s.lon for s in d], dtype=torch.float64))
        self.model, self.model_config, self.init, self.input_record = self._model()
        self.train_from = self._freeze(self.model, self.model_config)
        self.model.to(self.device).train()
        c = self.model_config
        self.cache = validation.PixelCache(c.input_size, c.resize, cfg.cache_mb << 20,
                                           cfg.loader_threads)
        self.loader = ThreadPoolExecutor(max_workers=max(1, cfg.loader_threads))
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.augment = cfg.augment if cfg.augment is not None else cfg.method == "cosplace"
        self.augment_settings = (images.AugmentSettings(**cfg.augmentation) if self.augment
                                 else images.NO_AUGMENTATION)
        load = self._load_augmented if self.augment else self._load_plain
        torch.manual_seed(cfg.seed + 1)  # the method's own parameters (CosFace heads)
        if cfg.method == "cosplace":
            self.method_settings = cosplace.CosPlaceSettings(**cfg.cosplace)
            classes = cosplace.make_classes(self.train_set.samples, self.method_settings)
            if not classes.groups:
                raise TrainError(
                    f"no class has {self.method_settings.min_images_per_class} photos (cells of "
                    f"{self.method_settings.cell_m} m): lower --min-images-per-class or raise "
                    "--cell-m")
            self.data_description = classes.describe()
            self.step_impl = cosplace.CosPlaceStep(self.model, classes, self.method_settings,
                                                   c.derived_dim(), self.device)
            self.iterations_per_epoch = cfg.iterations_per_epoch or 1000
            self.do_step = lambda: self.step_impl.step(self.global_step, self.generator, load)
            described = (f"{len(classes.images)} classes in {len(classes.groups)} groups "
                         f"({classes.dropped_classes} classes, {classes.dropped_images} photos "
                         f"left out: fewer than {self.method_settings.min_images_per_class} "
                         "photos, or a group of one class)")
        else:
            self.method_settings = triplets.TripletSettings(**cfg.triplets)
            try:
                self.step_impl = triplets.TripletStep(self.model, self.train_set.samples,
                                                      self.method_settings, self.device,
                                                      self._encode_train)
            except ValueError as e:
                raise TrainError(str(e)) from None
            queries = self.step_impl.queries_per_pass()
            self.data_description = {"queries": queries}
            per_pass = -(-queries // self.method_settings.batch)
            self.iterations_per_epoch = cfg.iterations_per_epoch or per_pass
            self.do_step = lambda: self.step_impl.step(self.generator, load)
            described = f"{queries} queries with a positive within " \
                        f"{self.method_settings.positive_radius_m} m"
        self.log(f"method {cfg.method}: {described}; model {c.default_name()} at "
                 f"{c.input_size[0]}x{c.input_size[1]} ({c.resize}), training backbone children "
                 f">= {self.train_from}, {self.iterations_per_epoch} steps per epoch, "
                 f"{self.device}, {cfg.threads} threads")

    def _init_clusters(self) -> None:
        if self.model_config.head not in ("netvlad", "crn"):
            return
        if self.cfg.checkpoint_format in ("netvlad", "geoloc"):
            return  # trained clusters come with the checkpoint
        c = self.model_config
        s = (self.method_settings if isinstance(self.method_settings, triplets.TripletSettings)
             else triplets.TripletSettings())
        info = triplets.init_clusters(
            self.model, [x.path for x in self.train_set.samples], s, self.generator,
            lambda paths: images.normalise(self.cache.get_many(paths), c.mean, c.std),
            self.device, self.cfg.val_batch)
        self.init["clusters"] = {"method": "k-means", **info}
        self.log(f"NetVLAD clusters from k-means on {info['local_features']} local features of "
                 f"{info['images']} photos (alpha {info['alpha']:.1f})")

    def run(self, resume: bool) -> Dict[str, object]:
        if not resume and os.path.exists(self.paths["config.json"]):
            raise TrainError(f"{self.out} already holds a run; continue it with --resume "
                             f"{self.out}, or choose another --out")
        self._prepare()  # reads the data and builds the model: fails early on bad input
        if not resume:
            os.makedirs(self.out, exist_ok=True)
            atomic_write_text(self.paths["config.json"], self.cfg.to_json())
        self.session_start = time.monotonic()
        self.last_state_time = self.session_start
        self.seconds_before = 0.0
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.history: Dict[str, object] = {"epochs": [], "losses": []}
        self.best: Dict[str, object] = {}
        if resume and os.path.exists(self.paths["state.pth"]):
            state = self._load_state()
            self._restore(state)
            self.init = self._record_init_from_best()
            self.log(f"resumed {self.out} at epoch {self.epoch}, step {self.step_in_epoch} of "
                     f"the next epoch (global step {self.global_step})")
        else:
            self._init_clusters()
            self._end_of_epoch([])  # epoch 0: the initial weights
            self._save_state()
        self._train()
        return self._finish()

    def _record_init_from_best(self) -> Dict[str, object]:
        """The init record (k-means details included) as the first session wrote it."""
        if os.path.exists(self.paths["best.pth"]):
            record = gc.training_record(gc.load_checkpoint(self.paths["best.pth"]))
            if record:
                return record["init"]
        return self.init

    def _train(self) -> None:
        cfg = self.cfg
        every_s = cfg.checkpoint_minutes * 60 if cfg.checkpoint_minutes > 0 else float("inf")
        while self.epoch < cfg.epochs:
            label = f"epoch {self.epoch + 1}/{cfg.epochs} train"
            progress = Progress(label, self.iterations_per_epoch, "it", done=self.step_in_epoch)
            start_step = self.global_step - self.step_in_epoch
            losses = [loss for step, loss in self.history["losses"] if step > start_step]
            while self.step_in_epoch < self.iterations_per_epoch:
                loss = self.do_step()
                if loss != loss:  # NaN
                    raise TrainError(f"the loss became NaN at step {self.global_step + 1}: "
                                     "lower the learning rate")
                self.global_step += 1
                self.step_in_epoch += 1
                # Rounded once, so a resumed epoch's mean (rebuilt from history) is the same.
                loss = round(loss, 6)
                losses.append(loss)
                self.history["losses"].append([self.global_step, loss])
                recent = losses[-20:]
                progress.add(1, note=f"loss {sum(recent) / len(recent):.4f}")
                due = (cfg.checkpoint_every > 0 and self.global_step % cfg.checkpoint_every == 0)
                if (due or time.monotonic() - self.last_state_time >= every_s) \
                        and self.step_in_epoch < self.iterations_per_epoch:
                    self._save_state()
                if self.global_step == self.simulate_kill_after_step:
                    os.kill(os.getpid(), signal.SIGKILL)  # a crash, for the resume tests
            progress.finish()
            self.epoch += 1
            self.step_in_epoch = 0
            self._end_of_epoch(losses)
            self._save_state()

    def _finish(self) -> Dict[str, object]:
        # The record in best.pth gets the run's totals, then the export reads it from there.
        ckpt = gc.load_checkpoint(self.paths["best.pth"])
        record = gc.training_record(ckpt) or {}
        final = self._record()
        record.update({k: final[k] for k in ("epochs_run", "steps", "seconds")})
        record["history"] = [{"epoch": e["epoch"], "train_loss": e["train_loss"], **e["val"]}
                             for e in self.history["epochs"]]
        payload = {"state_dict": ckpt.state, "geoloc_config": ckpt.meta["geoloc_config"],
                   "training": json.dumps(record), "epoch": ckpt.meta.get("epoch")}
        atomic_write(self.paths["best.pth"], lambda f: torch.save(payload, f))
        name = self.cfg.name or f"{self.model_config.default_name()}-{self.cfg.method}"
        try:
            exported = em.export(em.parse_args([
                "--checkpoint", self.paths["best.pth"], "--checkpoint-format", "geoloc",
                "--name", name, "-o", self.paths["model.pt"], "--quiet"]))
        except (gm.ModelError, em.ExportError) as e:
            raise TrainError(f"export failed: {e}") from None
        self._save_state(finished=True)
        summary = {"model": self.paths["model.pt"], "name": exported.info["name"],
                   "fingerprint": exported.info["fingerprint"], "dim": exported.info["dim"],
                   "input_size": exported.info["input_size"], "best": self.best,
                   "initial_val": self.history["epochs"][0]["val"],
                   "seconds": record["seconds"]}
        atomic_write_text(self.paths["summary.json"], json.dumps(summary, indent=2))
        try:
            from . import curves
            curves.plot_runs([self.out], self.paths["curves.png"])
        except ImportError as e:  # python3-matplotlib missing: the run itself is complete
            self.log(f"curves.png not written ({e}); install python3-matplotlib")
        self.log(f"best epoch {self.best['epoch']}: validation recall@1 "
                 f"{self.best['val']['recall@1']:.4f} @5 {self.best['val']['recall@5']:.4f} "
                 f"(initial {summary['initial_val']['recall@1']:.4f} / "
                 f"{summary['initial_val']['recall@5']:.4f}); wrote {self.paths['model.pt']} "
                 f"({exported.info['name']}, dim {exported.info['dim']}, "
                 f"{format_duration(record['seconds'])} of training)")
        return summary


def _as_python_rng(state):
    """random.setstate wants tuples; a round trip through the checkpoint may give lists."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
