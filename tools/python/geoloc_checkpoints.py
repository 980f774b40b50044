"""Checkpoint files users already have, mapped onto a GeolocNet (docs/MODEL.md, "Checkpoints").

  torchvision  a torchvision classification model's state dict; only the backbone comes from it
  cosplace     a CosPlace / EigenPlaces GeoLocalizationNet: backbone + aggregation (GeM, FC);
               ResNet and VGG-16 as `backbone.<i>.*`, EfficientNet as `backbone.0.<i>.*` or
               `backbone.<i>.*`
  netvlad      a pytorch-NetVlad checkpoint: `state_dict` with `encoder.<i>.*`, `pool.centroids`,
               `pool.conv.weight` and, for vladv2 only, `pool.conv.bias`
  geoloc       a checkpoint written by tools/train: GeolocNet's own keys plus the ModelConfig it
               was trained with (and how it was trained)

Each format also says at what input size its networks were trained (FORMAT_INPUT), so an export
without --input-size serves a checkpoint the way it was trained instead of at a 224 x 224 crop.

Files are read with a restricted unpickler (tensors, containers, numbers, strings and numpy
scalars only; anything else is refused), never with plain pickle.

  ckpt = load_checkpoint("netvlad.pth.tar")
  how = configure(config, ckpt, "netvlad", explicit={"input_size"})
  summary = apply_checkpoint(build_model(config), config, ckpt, "netvlad")
"""

import hashlib
import json
import pickle
import types
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import torch
from torch import Tensor

import geoloc_models as gm

FORMATS = ("torchvision", "cosplace", "netvlad", "geoloc")


@dataclass(frozen=True)
class FormatInput:
    """The input a checkpoint format's networks were trained at, and the evidence."""

    size: Tuple[int, int]  # (H, W)
    resize: str
    why: str


FORMAT_INPUT = {
    "torchvision": FormatInput(
        (224, 224), "resize_center_crop",
        "torchvision's ImageNet classifiers are trained and evaluated on 224x224 centre crops"),
    "cosplace": FormatInput(
        (512, 512), "resize_center_crop",
        "CosPlace and EigenPlaces train on 512x512 images (SF-XL, --image_size 512)"),
    "netvlad": FormatInput(
        (480, 640), "resize",
        "pytorch-NetVlad trains and tests on Pittsburgh's 640x480 photos, unresized"),
}
# Random weights have no training resolution; the exporter's historical default.
RANDOM_INPUT = FormatInput((224, 224), "resize_center_crop", "the default for random weights")

# The architecture a geoloc checkpoint fixes; with --checkpoint-format geoloc these flags are
# refused (the serving options input_size, resize and name may still be given).
GEOLOC_ARCHITECTURE = ("backbone", "head", "dim", "truncate", "gem_p", "gem_learnable",
                       "clusters", "metric", "mean", "std")


@dataclass
class Checkpoint:
    path: str
    state: Dict[str, Tensor]
    # Top-level entries beside the state dict (e.g. pytorch-NetVlad's "epoch", tools/train's
    # "geoloc_config"), as plain Python values.
    meta: Dict[str, object] = field(default_factory=dict)
    sha256: str = ""


# ---------------------------------------------------------------------------------------------
# Reading.

_NUMPY_GLOBALS = {
    # numpy scalars and arrays, e.g. pytorch-NetVlad's `recalls` ({1: numpy.float64, ...}).
    ("numpy.core.multiarray", "scalar"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
    # How pickle protocol 2 (torch.save before 1.6) spells a bytes object: encode(str, latin1).
    ("_codecs", "encode"),
}


def _allowed_torch_globals() -> Dict[str, object]:
    allowed: Dict[str, object] = {
        "collections.OrderedDict": OrderedDict,
        "torch.nn.parameter.Parameter": torch.nn.Parameter,
        "torch.serialization._get_layout": torch.serialization._get_layout,
        "torch.Size": torch.Size,
        "torch.Tensor": torch.Tensor,
        "torch.device": torch.device,
    }
    for t in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8, torch.int8,
              torch.int16, torch.int32, torch.int64, torch.bool):
        allowed[str(t)] = t
    for cls in list(torch._tensor_classes) + list(torch._storage_classes):
        allowed[f"{cls.__module__}.{cls.__name__}"] = cls
    for name in ("_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_tensor",
                 "_rebuild_tensor_v2", "_rebuild_qtensor"):
        if hasattr(torch._utils, name):
            allowed[f"torch._utils.{name}"] = getattr(torch._utils, name)
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds tensors, containers, numbers, strings and numpy scalars; refuses any other global
    (what torch.load(weights_only=True) allows, plus numpy scalars, which old training scripts
    stored as metrics beside their weights)."""

    _allowed = None

    def find_class(self, module: str, name: str):
        if _RestrictedUnpickler._allowed is None:
            _RestrictedUnpickler._allowed = _allowed_torch_globals()
        key = f"{module}.{name}"
        if key in _RestrictedUnpickler._allowed:
            return _RestrictedUnpickler._allowed[key]
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {key} (only tensors, containers, numbers "
                                     "and strings are read from checkpoints)")


def _restricted_load(f, **kwargs):
    return _RestrictedUnpickler(f, **kwargs).load()


# torch.load(pickle_module=...) needs a module-like object with Unpickler and load.
_RESTRICTED_PICKLE = types.SimpleNamespace(Unpickler=_RestrictedUnpickler, load=_restricted_load,
                                           __name__="geoloc_restricted_pickle")


def restricted_torch_load(path: str):
    """torch.load through _RestrictedUnpickler, on the CPU. Raises what torch.load raises, and
    pickle.UnpicklingError for a forbidden global."""
    with open(path, "rb") as f:
        if int(torch.__version__.split(".")[0]) >= 2:
            return torch.load(f, map_location="cpu", pickle_module=_RESTRICTED_PICKLE,
                              weights_only=False)
        # torch 1.13's torch.load replaces pickle_module by plain pickle whenever weights_only is
        # off (seen by a test: the payload ran), so call its loaders, which honour the module.
        serialization = torch.serialization
        if serialization._is_zipfile(f):
            with serialization._open_zipfile_reader(f) as archive:
                return serialization._load(archive, "cpu", _RESTRICTED_PICKLE, encoding="utf-8")
        return serialization._legacy_load(f, "cpu", _RESTRICTED_PICKLE, encoding="utf-8")


def _plain(value):
    """numpy scalars and tensors in metadata become Python numbers and lists (for JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Tensor):
        return value.tolist() if value.numel() <= 16 else f"<tensor {list(value.shape)}>"
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_WRAPPERS = ("model_state_dict", "state_dict", "model")


def load_checkpoint(path: str) -> Checkpoint:
    """Reads a state dict file (raw, or wrapped in `state_dict` / `model_state_dict` / `model`,
    optionally with DataParallel's `module.` prefix). Raises gm.ModelError."""
    try:
        obj = restricted_torch_load(path)
    except FileNotFoundError:
        raise gm.ModelError(f"{path}: checkpoint file not found") from None
    except Exception as e:  # noqa: BLE001 - torch.load raises many types for a bad file
        raise gm.ModelError(
            f"{path}: cannot read a PyTorch state dict ({type(e).__name__}: {e})") from None
    meta: Dict[str, object] = {}
    if isinstance(obj, dict):
        for wrapper in _WRAPPERS:
            if wrapper in obj and isinstance(obj[wrapper], dict):
                meta = {str(k): _plain(v) for k, v in obj.items()
                        if k != wrapper and k not in ("optimizer", "optimizer_state_dict")}
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, Tensor)
                                                       for v in obj.values()):
        raise gm.ModelError(f"{path}: not a state dict (a mapping of names to tensors)")
    state = dict(obj)
    # nn.DataParallel / DistributedDataParallel prefix every key with "module.".
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return Checkpoint(path=path, state=state, meta=meta, sha256=_file_sha256(path))


def load_state_dict_file(path: str) -> Dict[str, Tensor]:
    return load_checkpoint(path).state


# ---------------------------------------------------------------------------------------------
# What a checkpoint says about the architecture.


def cosplace_dim(state: Dict[str, Tensor]) -> Optional[int]:
    w = state.get("aggregation.3.weight")
    return int(w.shape[0]) if w is not None and w.dim() == 2 else None


def netvlad_clusters(state: Dict[str, Tensor]) -> Optional[int]:
    c = _netvlad_state(state).get("pool.centroids")
    return int(c.shape[0]) if c is not None and c.dim() == 2 else None


def geoloc_config(ckpt: Checkpoint) -> gm.ModelConfig:
    raw = ckpt.meta.get("geoloc_config")
    if not isinstance(raw, str):
        raise gm.ModelError(f"{ckpt.path}: no geoloc_config entry, so this is not a checkpoint "
                            "written by tools/train (docs/TRAINING.md)")
    try:
        fields = json.loads(raw)
        fields["input_size"] = tuple(fields["input_size"])
        fields["mean"] = tuple(fields["mean"])
        fields["std"] = tuple(fields["std"])
        return gm.ModelConfig(**fields)
    except (ValueError, KeyError, TypeError) as e:
        raise gm.ModelError(f"{ckpt.path}: unreadable geoloc_config ({e})") from None


def training_record(ckpt: Checkpoint) -> Optional[Dict[str, object]]:
    raw = ckpt.meta.get("training")
    return json.loads(raw) if isinstance(raw, str) else None


def configure(config: gm.ModelConfig, ckpt: Optional[Checkpoint], fmt: Optional[str],
              explicit: Set[str]) -> Dict[str, object]:
    """Completes `config` from the checkpoint: D (cosplace), K (netvlad), the whole architecture
    (geoloc) and, unless `explicit` holds "input_size" / "resize", the input the format was
    trained at. `explicit` names the ModelConfig fields the user set. Raises gm.ModelError for a
    checkpoint that contradicts an explicit setting. Returns geoloc.json's `input` record."""
    trained_at: Optional[FormatInput] = None
    if fmt == "cosplace":
        if config.head != "cosplace":
            raise gm.ModelError("--checkpoint-format cosplace holds a CosPlace/EigenPlaces model "
                                "(GeM + FC); export it with --head cosplace")
        found = cosplace_dim(ckpt.state)
        if found is None:
            raise gm.ModelError(f"{ckpt.path}: no aggregation.3.weight, so this is not a "
                                "CosPlace/EigenPlaces state dict (docs/MODEL.md)")
        if "dim" in explicit and config.dim != found:
            raise gm.ModelError(f"{ckpt.path}: the checkpoint's descriptors have {found} "
                                f"dimensions, not --dim {config.dim}")
        config.dim = found
        trained_at = FORMAT_INPUT[fmt]
    elif fmt == "netvlad":
        if config.head != "netvlad":
            raise gm.ModelError("--checkpoint-format netvlad holds a pytorch-NetVlad model "
                                "(encoder + NetVLAD pool); export it with --head netvlad")
        found = netvlad_clusters(ckpt.state)
        if found is None:
            raise gm.ModelError(f"{ckpt.path}: no pool.centroids, so this is not a "
                                "pytorch-NetVlad checkpoint (docs/MODEL.md)")
        if "clusters" in explicit and config.clusters != found:
            raise gm.ModelError(f"{ckpt.path}: the checkpoint has {found} clusters, not "
                                f"--clusters {config.clusters}")
        config.clusters = found
        trained_at = FORMAT_INPUT[fmt]
    elif fmt == "torchvision":
        trained_at = FORMAT_INPUT[fmt]
    elif fmt == "geoloc":
        given = sorted(explicit & set(GEOLOC_ARCHITECTURE))
        if given:
            raise gm.ModelError(
                "--checkpoint-format geoloc takes the architecture from the checkpoint; drop "
                + ", ".join("--" + g.replace("_", "-") for g in given))
        stored = geoloc_config(ckpt)
        for name in GEOLOC_ARCHITECTURE + ("seed",):
            setattr(config, name, getattr(stored, name))
        trained_at = FormatInput(stored.input_size, stored.resize,
                                 "the input size it was trained and validated at (tools/train)")
    record: Dict[str, object]
    base = trained_at or RANDOM_INPUT
    if "input_size" in explicit:
        record = {"from": "--input-size"}
    else:
        config.input_size = base.size
        record = {"from": f"checkpoint format {fmt}" if trained_at else "default",
                  "why": base.why}
    if "resize" not in explicit:
        config.resize = base.resize
    if trained_at is not None:
        record["trained_at"] = list(trained_at.size)
    return record


# ---------------------------------------------------------------------------------------------
# Key mapping. Each mapper returns (our key or None, why when None: "ignored" or "unexpected").

# torchvision ResNet attribute -> index in the backbone Sequential (CosPlace's children()[:-2]).
_RESNET_CHILDREN = {"conv1": 0, "bn1": 1, "layer1": 4, "layer2": 5, "layer3": 6, "layer4": 7}


def _map_torchvision_key(config: gm.ModelConfig, key: str, _: Dict[str, Tensor]):
    if config.backbone.startswith("resnet"):
        top, _, rest = key.partition(".")
        if top == "fc":
            return None, "ignored"
        if top == "layer4" and config.truncate:
            return None, "ignored"
        if top in _RESNET_CHILDREN and rest:
            return f"backbone.{_RESNET_CHILDREN[top]}.{rest}", ""
        return None, "unexpected"
    parts = key.split(".")
    if parts[0] == "classifier":
        return None, "ignored"
    if parts[0] == "features" and len(parts) >= 3 and parts[1].isdigit():
        if config.backbone == "vgg16" and int(parts[1]) > gm.VGG16_LAST_LAYER:
            return None, "unexpected"
        return "backbone." + ".".join(parts[1:]), ""
    return None, "unexpected"


def _efficientnet_wrapped(state: Dict[str, Tensor]) -> bool:
    """CosPlace builds an EfficientNet backbone as Sequential(*children()[:-2]) = Sequential(
    features), so its keys read backbone.0.<i>.*; the stem conv is then backbone.0.0.0.weight."""
    return "backbone.0.0.0.weight" in state


_COSPLACE_AGGREGATION = {"aggregation.1.p": "aggregation.gem.p",
                         "aggregation.3.weight": "aggregation.fc.weight",
                         "aggregation.3.bias": "aggregation.fc.bias"}


def _map_cosplace_key(config: gm.ModelConfig, key: str, state: Dict[str, Tensor]):
    if key.startswith("backbone."):
        if config.backbone.startswith("efficientnet") and _efficientnet_wrapped(state):
            if not key.startswith("backbone.0."):
                return None, "unexpected"
            return "backbone." + key[len("backbone.0."):], ""
        return key, ""
    if key in _COSPLACE_AGGREGATION:
        return _COSPLACE_AGGREGATION[key], ""
    return None, "unexpected"


def _netvlad_state(state: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """pytorch-NetVlad wraps encoder and pool separately in DataParallel when it trains on
    several GPUs (encoder.module.<i>.*, pool.module.*); drop that level."""
    out = {}
    for key, value in state.items():
        top, _, rest = key.partition(".")
        if rest.startswith("module."):
            rest = rest[len("module."):]
        out[f"{top}.{rest}"] = value
    return out


_NETVLAD_POOL = {"pool.centroids": "aggregation.centroids",
                 "pool.conv.weight": "aggregation.assign.weight",
                 "pool.conv.bias": "aggregation.assign.bias"}


def _map_netvlad_key(config: gm.ModelConfig, key: str, _: Dict[str, Tensor]):
    if key.startswith("encoder."):
        return "backbone." + key[len("encoder."):], ""
    if key in _NETVLAD_POOL:
        return _NETVLAD_POOL[key], ""
    return None, "unexpected"


def _map_geoloc_key(config: gm.ModelConfig, key: str, _: Dict[str, Tensor]):
    return key, ""


_MAPPERS = {"torchvision": _map_torchvision_key, "cosplace": _map_cosplace_key,
            "netvlad": _map_netvlad_key, "geoloc": _map_geoloc_key}


def _short_list(keys: List[str], limit: int = 20) -> str:
    keys = sorted(keys)
    more = f" ... and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def apply_checkpoint(model: gm.GeolocNet, config: gm.ModelConfig, ckpt: Checkpoint,
                     fmt: str) -> Dict[str, object]:
    """Copies a checkpoint's weights into `model` (built from `config` after configure()).
    Raises gm.ModelError naming every missing, unexpected or mis-shaped key. Returns a summary
    for geoloc.json."""
    if fmt not in _MAPPERS:
        raise gm.ModelError(f"unknown checkpoint format '{fmt}'; choose one of "
                            + ", ".join(FORMATS))
    if fmt == "cosplace" and config.head != "cosplace":
        raise gm.ModelError("--checkpoint-format cosplace holds a CosPlace/EigenPlaces model "
                            "(GeM + FC); export it with --head cosplace")
    if fmt == "netvlad" and config.head != "netvlad":
        raise gm.ModelError("--checkpoint-format netvlad holds a pytorch-NetVlad model "
                            "(encoder + NetVLAD pool); export it with --head netvlad")
    state = _netvlad_state(ckpt.state) if fmt == "netvlad" else ckpt.state
    mapper = _MAPPERS[fmt]
    ours = model.state_dict()
    mapped: Dict[str, Tensor] = {}
    unexpected, ignored, mismatched = [], [], []
    gem_p_value: Optional[float] = None
    for key, value in state.items():
        target, why = mapper(config, key, state)
        if target is None:
            (ignored if why == "ignored" else unexpected).append(key)
            continue
        if target == "aggregation.gem.p" and fmt == "cosplace" and not config.gem_learnable:
            # A fixed-p GeM stores p as a float, not in the state dict.
            if value.numel() != 1:
                mismatched.append(f"{key} (shape {list(value.shape)}, expected [1])")
            else:
                gem_p_value = float(value.reshape(-1)[0])
            continue
        if target not in ours:
            unexpected.append(key)
            continue
        if ours[target].shape != value.shape:
            mismatched.append(
                f"{key} (shape {list(value.shape)}, model has {list(ours[target].shape)})")
            continue
        mapped[target] = value
    summary: Dict[str, object] = {"loaded_keys": len(mapped), "ignored_keys": len(ignored)}
    if fmt == "netvlad" and "pool.conv.bias" not in state:
        # vladv1 (pytorch-NetVlad's default) has no assignment bias: softmax(conv(x)) with a
        # bias-free 1x1 conv is ours with a zero bias.
        mapped["aggregation.assign.bias"] = torch.zeros_like(ours["aggregation.assign.bias"])
        summary["netvlad_variant"] = "vladv1 (no assignment bias)"
    elif fmt == "netvlad":
        summary["netvlad_variant"] = "vladv2 (assignment bias)"
    # The torchvision format holds the backbone only; the head keeps its seeded initialisation.
    required = [k for k in ours if fmt != "torchvision" or k.startswith("backbone.")]
    # BatchNorm's step counter does not affect inference; old checkpoints lack it.
    missing = [k for k in required if k not in mapped and not k.endswith("num_batches_tracked")]
    if fmt == "cosplace" and not config.gem_learnable and gem_p_value is None:
        missing.append("aggregation.gem.p (checkpoint key aggregation.1.p)")
    problems = []
    if missing:
        problems.append(f"missing keys: {_short_list(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_short_list(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches: {_short_list(mismatched)}")
    if problems:
        raise gm.ModelError(f"{ckpt.path}: checkpoint does not fit {config.default_name()} "
                            f"(--checkpoint-format {fmt}, keys mapped as in docs/MODEL.md): "
                            + "; ".join(problems))
    model.load_state_dict(mapped, strict=False)
    if gem_p_value is not None:
        config.gem_p = gem_p_value
        for module in model.modules():
            if isinstance(module, gm.GeMFixed):
                module.p = gem_p_value
    if fmt == "cosplace" and config.backbone.startswith("efficientnet"):
        summary["efficientnet_layout"] = ("backbone.0.<i> (CosPlace's Sequential(features))"
                                          if _efficientnet_wrapped(state) else "backbone.<i>")
    return summary
