#!/usr/bin/python3
"""Turns one container of a Kubernetes manifest into `podman run` arguments, so that
tools/image_check.sh runs the images the way deploy/k8s does: same user, read-only root, dropped
capabilities, environment, volumes mounted at the same paths with the same read-only flags, same
command and arguments.

  /usr/bin/python3 tests/deploy/podman_args.py MANIFEST CONTAINER \\
      [--volume NAME=HOST_DIR]... [--empty-dir-root DIR] [--env NAME=VALUE]...

MANIFEST holds a Deployment, Job or Pod (one YAML file, several documents allowed) with a container
named CONTAINER. Output on stdout, NUL-separated for `mapfile -d ''`: podman run options, the
image, then the container's args. Append more arguments after them to extend the args.

  --volume NAME=HOST_DIR   where a configMap, secret or persistentVolumeClaim volume's files are
                           (the caller writes them: secret items under their `path`)
  --empty-dir-root DIR     emptyDir volumes become fresh directories DIR/NAME (on node disk, like
                           Kubernetes' default emptyDir); medium Memory becomes a tmpfs
  --env NAME=VALUE         overrides (or adds) an environment variable, as `kubectl set env` would

Translated: pod and container securityContext (runAsUser/runAsGroup -> --user, runAsNonRoot
checked, readOnlyRootFilesystem -> --read-only without podman's own tmpfs mounts,
allowPrivilegeEscalation: false -> no-new-privileges, capabilities), env (value, and
resourceFieldRef limits.cpu / requests.cpu rounded up as the kubelet does), volumeMounts (readOnly,
subPath), command (-> --entrypoint), workingDir, args. Not translated, so left to the caller:
networking and ports, probes, lifecycle hooks, resource limits. Anything else in the manifest this
does not understand (another env source, another volume type) is an error, not silently dropped.
Exit status: 0 fine, 1 the manifest cannot be translated, 2 usage error.
"""

import argparse
import json
import math
import os
import pathlib
import sys
from typing import Dict, List, Optional

import yaml


class TranslationError(Exception):
    pass


def find_pod_spec(docs: List[dict], container: str) -> dict:
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        kind = doc.get("kind")
        if kind == "Pod":
            spec = doc.get("spec") or {}
        elif kind in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        else:
            continue
        if any(c.get("name") == container for c in spec.get("containers") or []):
            return spec
    raise TranslationError(f"no Deployment, Job or Pod with a container named {container}")


def cpu_quantity(value) -> float:
    text = str(value)
    if text.endswith("m"):
        return float(text[:-1]) / 1000.0
    return float(text)


def env_value(var: dict, container: dict) -> str:
    if "value" in var:
        return str(var["value"])
    ref = (var.get("valueFrom") or {}).get("resourceFieldRef")
    if ref is None:
        raise TranslationError(f"env {var.get('name')}: only value and resourceFieldRef are "
                               "supported")
    section, _, resource = str(ref.get("resource", "")).partition(".")
    if resource != "cpu" or section not in ("limits", "requests"):
        raise TranslationError(f"env {var.get('name')}: resourceFieldRef {ref.get('resource')} "
                               "is not supported (limits.cpu, requests.cpu)")
    amount = ((container.get("resources") or {}).get(section) or {}).get("cpu")
    if amount is None:
        raise TranslationError(f"env {var.get('name')}: the container sets no {section}.cpu")
    divisor = cpu_quantity(ref.get("divisor", "1"))
    # The kubelet rounds up, and never reports less than 1 for a non-zero request.
    return str(max(1, math.ceil(cpu_quantity(amount) / divisor)))


def translate(spec: dict, container_name: str, volume_dirs: Dict[str, str],
              empty_dir_root: Optional[str], env_overrides: Dict[str, str]) -> List[str]:
    container = next(c for c in spec["containers"] if c.get("name") == container_name)
    pod_sc = spec.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    args: List[str] = []

    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    group = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False))
    if user is not None:
        args.append(f"--user={user}:{group}" if group is not None else f"--user={user}")
    if non_root and (user is None or int(user) == 0):
        raise TranslationError("runAsNonRoot without a non-zero runAsUser: the kubelet would "
                               "check the image's USER, which this translation does not")
    if sc.get("readOnlyRootFilesystem"):
        # podman adds tmpfs on /tmp, /var/tmp and /run to a read-only container by default; a pod
        # gets none, so neither does this.
        args += ["--read-only", "--read-only-tmpfs=false"]
    if sc.get("allowPrivilegeEscalation") is False:
        args.append("--security-opt=no-new-privileges")
    caps = sc.get("capabilities") or {}
    args += [f"--cap-drop={c.lower()}" for c in caps.get("drop") or []]
    args += [f"--cap-add={c.lower()}" for c in caps.get("add") or []]
    if sc.get("privileged"):
        raise TranslationError("privileged containers are not translated")

    env = {}
    for var in container.get("env") or []:
        env[var["name"]] = env_value(var, container)
    for name in env_overrides:
        env[name] = env_overrides[name]
    if container.get("envFrom"):
        raise TranslationError("envFrom is not supported")
    args += [f"--env={k}={v}" for k, v in env.items()]

    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        name = mount["name"]
        if name not in volumes:
            raise TranslationError(f"volumeMount {name} names no volume")
        volume = volumes[name]
        read_only = bool(mount.get("readOnly"))
        if "emptyDir" in volume:
            if (volume["emptyDir"] or {}).get("medium") == "Memory":
                args.append(f"--tmpfs={mount['mountPath']}:rw,mode=1777")
                continue
            if empty_dir_root is None:
                raise TranslationError(f"volume {name} is an emptyDir: give --empty-dir-root")
            host = os.path.join(empty_dir_root, name)
            os.makedirs(host, exist_ok=True)
            os.chmod(host, 0o777)  # Kubernetes creates emptyDirs world-writable
        elif any(k in volume for k in ("configMap", "secret", "persistentVolumeClaim")):
            if name not in volume_dirs:
                raise TranslationError(f"volume {name} needs --volume {name}=HOST_DIR")
            host = volume_dirs[name]
            if "configMap" in volume or "secret" in volume:
                read_only = True  # the kubelet always mounts these read-only
            if (volume.get("persistentVolumeClaim") or {}).get("readOnly"):
                read_only = True
        else:
            raise TranslationError(f"volume {name}: only emptyDir, configMap, secret and "
                                   "persistentVolumeClaim are supported")
        if mount.get("subPath"):
            host = os.path.join(host, mount["subPath"])
        args.append(f"--volume={host}:{mount['mountPath']}" + (":ro" if read_only else ""))

    unused = set(volume_dirs) - set(volumes)
    if unused:
        raise TranslationError(f"--volume for volumes the pod does not have: {sorted(unused)}")
    if container.get("workingDir"):
        args.append(f"--workdir={container['workingDir']}")
    if container.get("command"):
        args.append("--entrypoint=" + json.dumps(container["command"]))
    if not container.get("image"):
        raise TranslationError(f"container {container_name} has no image")
    args.append(str(container["image"]))
    args += [str(a) for a in container.get("args") or []]
    return args


def parse_pairs(pairs: List[str], what: str) -> Dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"{what} {pair!r} is not NAME=VALUE")
        out[name] = value
    return out


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("manifest")
    p.add_argument("container")
    p.add_argument("--volume", action="append", default=[], metavar="NAME=HOST_DIR")
    p.add_argument("--empty-dir-root", metavar="DIR")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    a = p.parse_args(argv)
    try:
        volume_dirs = parse_pairs(a.volume, "--volume")
        env = parse_pairs(a.env, "--env")
    except ValueError as e:
        print(f"podman_args: {e}", file=sys.stderr)
        return 2
    try:
        docs = list(yaml.safe_load_all(pathlib.Path(a.manifest).read_text(encoding="utf-8")))
        spec = find_pod_spec(docs, a.container)
        words = translate(spec, a.container, volume_dirs, a.empty_dir_root, env)
    except (OSError, yaml.YAMLError, TranslationError) as e:
        print(f"podman_args: {a.manifest}: {e}", file=sys.stderr)
        return 1
    sys.stdout.write("".join(w + "\0" for w in words))
    return 0


if __name__ == "__main__":
    sys.exit(main())
