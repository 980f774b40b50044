#!/usr/bin/python3
"""Checks rendered Kubernetes manifests for geolocd, offline (no cluster, no kubectl needed).

  kubectl kustomize deploy/k8s/overlays/cpu > cpu.yaml
  /usr/bin/python3 tests/deploy/check_manifests.py cpu.yaml \
      --flags-from server/server_flags.cc --flags-from server/main.cc

Reads one or more multi-document YAML files ("-" = stdin) and reports every problem found, one
line each, as "FAIL <Kind>/<name>: ...". Exit status: 0 no problem, 1 problems, 2 unusable input.

Rules (each is a test case in test_deploy_checks.py):
  objects      every object has apiVersion, kind and metadata.name; namespaced objects agree on
               their namespace (none, or all the same)
  secrets      no Secret carries data/stringData; no env var that looks like a credential has a
               literal value (use valueFrom.secretKeyRef or a mounted file)
  pods         every container (init containers too) has cpu and memory requests and limits
               (extended resources such as nvidia.com/gpu in limits, equal to any request);
               runs as non-root with a read-only root file system, no privilege escalation and
               capabilities dropped; images carry a tag or digest other than "latest"
  servers      containers of long-running workloads have startup, readiness and liveness probes
               using the gRPC health service (grpc handler, service ""), on the --listen port;
               the startup probe allows at least 2 minutes; a preStop hook exists and
               terminationGracePeriodSeconds > preStop sleep + --drain_grace_seconds
  geolocd      a geolocd container takes its flags from --flagfile=PATH only; PATH lies in a
               mounted ConfigMap present in the rendering; the flagfile is well-formed (one
               --flag=value per line, nothing after the value), names only known flags, once
               each; --listen/--metrics_listen bind all interfaces on fixed ports that equal the
               containerPorts and the probe ports; no TLS (the kubelet's gRPC probes are
               plaintext); --token_file/--admin_token_file are set and lie in Secret volumes;
               --model/--bundle/--index_root lie on mounted volumes, --bundle under --index_root;
               --intra_op_threads is set and at most the CPU limit
  wiring       Deployment selectors match their pod labels; Services select pods of a workload in
               the rendering and their targetPorts resolve to its containerPorts; a Deployment an
               HPA scales sets no replicas; HPA targets exist and keep >= 2 replicas; PDB and
               ServiceMonitor selectors match; ServiceMonitor ports exist on the Service
"""

import argparse
import posixpath
import re
import sys
from typing import Dict, Iterable, List, Optional, Set, Tuple

import yaml

# Defaults of the geolocd flags these checks read (server/server_flags.cc). test_deploy_checks.py
# fails when they drift from the source.
FLAG_DEFAULTS: Dict[str, str] = {
    "listen": "0.0.0.0:50051",
    "metrics_listen": "0.0.0.0:9090",
    "drain_grace_seconds": "20",
    "intra_op_threads": "0",
    "model": "",
    "bundle": "",
    "index_root": "",
    "token_file": "",
    "admin_token_file": "",
    "tls_cert": "",
    "tls_key": "",
    "tls_client_ca": "",
}
# Flags Abseil itself defines (absl/flags/parse.cc, usage_config.cc).
ABSL_BUILTIN_FLAGS = {"flagfile", "fromenv", "tryfromenv", "undefok", "help", "helpfull",
                      "helpshort", "helppackage", "version", "only_check_args", "helpon",
                      "helpmatch"}

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
CLUSTER_SCOPED_KINDS = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass",
    "CustomResourceDefinition", "PersistentVolume", "IngressClass", "RuntimeClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
}
CREDENTIAL_ENV = re.compile(r"TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|CREDENTIAL", re.IGNORECASE)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
MIN_STARTUP_SECONDS = 120


def ref(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def cpu_cores(quantity) -> Optional[float]:
    """Kubernetes CPU quantity ("4", "500m", 2) in cores, or None if unparsable."""
    text = str(quantity).strip()
    try:
        if text.endswith("m"):
            return float(text[:-1]) / 1000.0
        return float(text)
    except ValueError:
        return None


def parse_host_port(value: str) -> Tuple[str, Optional[int]]:
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, None
    try:
        return host, int(port)
    except ValueError:
        return host, None


def known_flags_from_sources(paths: Iterable[str]) -> Set[str]:
    """Names of the ABSL_FLAGs defined in the given C++ sources."""
    names: Set[str] = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            names.update(re.findall(r"ABSL_FLAG\(\s*[\w:<>, ]+?\s*,\s*(\w+)\s*,", f.read()))
    return names


def parse_flagfile(text: str) -> Tuple[Dict[str, str], List[str]]:
    """Parses an Abseil flagfile. Returns ({flag: value}, [problems]).

    Abseil strips leading whitespace only and passes the rest of the line as the argument, so
    trailing blanks or a trailing comment become part of the value: both are reported.
    """
    flags: Dict[str, str] = {}
    problems: List[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if not stripped.startswith("--") or stripped == "--":
            problems.append(f"line {number}: '{line}' is not a --flag (Abseil rejects the file)")
            continue
        if stripped != stripped.rstrip():
            problems.append(f"line {number}: trailing whitespace becomes part of the value")
        body = stripped[2:]
        name, eq, value = body.partition("=")
        if not eq:
            # --flag or --noflag: a boolean.
            value = "false" if name.startswith("no") else "true"
            name = name[2:] if name.startswith("no") else name
        if re.search(r"\s#", value):
            problems.append(f"line {number}: '#' after the value of --{name} is part of the value "
                            "(comments need their own line)")
        if name in flags:
            problems.append(f"line {number}: --{name} is set twice")
        flags[name] = value
    return flags, problems


class Checker:
    def __init__(self, docs: List[dict], known_flags: Optional[Set[str]] = None):
        self.docs = docs
        self.known_flags = known_flags
        self.errors: List[str] = []
        self.hpa_targets: Set[Tuple[str, str]] = set()
        # (workload ref, container name) -> geolocd's effective flags
        self.flags: Dict[Tuple[str, str], Dict[str, str]] = {}

    def fail(self, obj: dict, message: str) -> None:
        self.errors.append(f"FAIL {ref(obj)}: {message}")

    # -- lookups ---------------------------------------------------------------------------------
    def objects(self, kind: str) -> List[dict]:
        return [d for d in self.docs if d.get("kind") == kind]

    def find(self, kind: str, name: str) -> Optional[dict]:
        for d in self.objects(kind):
            if (d.get("metadata") or {}).get("name") == name:
                return d
        return None

    @staticmethod
    def pod_spec(obj: dict) -> Optional[dict]:
        kind = obj.get("kind")
        spec = obj.get("spec") or {}
        if kind == "Pod":
            return spec
        if kind == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
        return (spec.get("template") or {}).get("spec")

    @staticmethod
    def pod_labels(obj: dict) -> Dict[str, str]:
        if obj.get("kind") == "Pod":
            return (obj.get("metadata") or {}).get("labels") or {}
        spec = obj.get("spec") or {}
        return ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}

    def workloads_selected_by(self, selector: Dict[str, str]) -> List[dict]:
        if not selector:
            return []
        return [w for w in self.docs if w.get("kind") in LONG_RUNNING_KINDS
                and all(self.pod_labels(w).get(k) == v for k, v in selector.items())]

    # -- rules -----------------------------------------------------------------------------------
    def run(self) -> List[str]:
        for obj in self.docs:
            self.check_object(obj)
        if all(isinstance(d, dict) for d in self.docs):
            self.check_namespaces()
            for hpa in self.objects("HorizontalPodAutoscaler"):
                target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
                self.hpa_targets.add((target.get("kind", ""), target.get("name", "")))
            # Workloads first: Services are checked against the flags found in them.
            for obj in self.docs:
                if obj.get("kind") in WORKLOAD_KINDS:
                    self.check_workload(obj)
            for obj in self.docs:
                kind = obj.get("kind")
                if kind == "Secret":
                    self.check_secret(obj)
                if kind == "Service":
                    self.check_service(obj)
                if kind == "HorizontalPodAutoscaler":
                    self.check_hpa(obj)
                if kind == "PodDisruptionBudget":
                    self.check_pdb(obj)
                if kind == "ServiceMonitor":
                    self.check_service_monitor(obj)
        return self.errors

    def check_object(self, obj) -> None:
        if not isinstance(obj, dict):
            self.errors.append(f"FAIL ?: a document is a {type(obj).__name__}, not an object")
            return
        for key in ("apiVersion", "kind"):
            if not isinstance(obj.get(key), str) or not obj.get(key):
                self.fail(obj, f"missing {key}")
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            self.fail(obj, "missing metadata.name")

    def check_namespaces(self) -> None:
        namespaced = [d for d in self.docs if d.get("kind") not in CLUSTER_SCOPED_KINDS]
        spaces = {(d.get("metadata") or {}).get("namespace") for d in namespaced}
        if len(spaces) > 1:
            named = sorted(s for s in spaces if s)
            for d in namespaced:
                ns = (d.get("metadata") or {}).get("namespace")
                if not ns:
                    self.fail(d, f"no namespace, while other objects are in {', '.join(named)}")
            if len(named) > 1:
                self.errors.append(f"FAIL rendering: objects spread over namespaces {named}")

    def check_secret(self, obj: dict) -> None:
        if obj.get("data") or obj.get("stringData"):
            self.fail(obj, "Secret with inline data in the rendered manifests; create Secrets out "
                           "of band and reference them (docs/OPERATIONS.md, \"Tokens\")")

    # -- pods ------------------------------------------------------------------------------------
    def check_workload(self, obj: dict) -> None:
        spec = self.pod_spec(obj)
        if not isinstance(spec, dict):
            self.fail(obj, "no pod template")
            return
        kind = obj.get("kind")
        if kind in LONG_RUNNING_KINDS and kind != "ReplicaSet":
            selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            labels = self.pod_labels(obj)
            if not selector:
                self.fail(obj, "spec.selector.matchLabels is empty")
            for k, v in selector.items():
                if labels.get(k) != v:
                    self.fail(obj, f"selector {k}={v} does not match the pod template's labels")
            if (kind, (obj.get("metadata") or {}).get("name")) in self.hpa_targets and \
                    "replicas" in (obj.get("spec") or {}):
                self.fail(obj, "sets spec.replicas although a HorizontalPodAutoscaler scales it "
                               "(every apply would reset the HPA's choice)")
        pod_sc = spec.get("securityContext") or {}
        if pod_sc.get("runAsUser") == 0:
            self.fail(obj, "pod securityContext.runAsUser is 0 (root)")
        containers = spec.get("containers") or []
        if not containers:
            self.fail(obj, "no containers")
        for c in (spec.get("initContainers") or []) + containers:
            self.check_container(obj, spec, c, pod_sc)
        if kind in LONG_RUNNING_KINDS:
            for c in containers:
                self.check_server_container(obj, spec, c)

    def check_container(self, obj: dict, spec: dict, c: dict, pod_sc: dict) -> None:
        where = f"container {c.get('name', '?')}"
        # Resources.
        res = c.get("resources") or {}
        requests, limits = res.get("requests") or {}, res.get("limits") or {}
        for section, values in (("requests", requests), ("limits", limits)):
            for r in ("cpu", "memory"):
                if r not in values:
                    self.fail(obj, f"{where}: resources.{section}.{r} is missing")
        for name in set(requests) | set(limits):
            if "/" in name and not name.startswith(("kubernetes.io/", "hugepages-")):
                if name not in limits:
                    self.fail(obj, f"{where}: extended resource {name} must be in limits")
                elif name in requests and str(requests[name]) != str(limits[name]):
                    self.fail(obj, f"{where}: extended resource {name} request != limit")
        # Security.
        sc = c.get("securityContext") or {}
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if non_root is not True:
            self.fail(obj, f"{where}: runAsNonRoot is not true (pod or container)")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            self.fail(obj, f"{where}: runs as uid 0")
        if sc.get("readOnlyRootFilesystem") is not True:
            self.fail(obj, f"{where}: securityContext.readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            self.fail(obj, f"{where}: securityContext.allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            self.fail(obj, f"{where}: privileged")
        drops = [str(d).upper() for d in ((sc.get("capabilities") or {}).get("drop") or [])]
        if "ALL" not in drops:
            self.fail(obj, f"{where}: capabilities.drop does not include ALL")
        # Image.
        image = str(c.get("image") or "")
        last = image.rsplit("/", 1)[-1]
        if not image:
            self.fail(obj, f"{where}: no image")
        elif "@" not in image and (":" not in last or last.endswith(":latest")):
            self.fail(obj, f"{where}: image {image} has no fixed tag or digest")
        # Credentials never inline.
        for env in c.get("env") or []:
            if CREDENTIAL_ENV.search(str(env.get("name", ""))) and "value" in env:
                self.fail(obj, f"{where}: env {env.get('name')} has an inline value; take it from "
                               "a Secret (valueFrom.secretKeyRef) or a mounted file")

    def check_server_container(self, obj: dict, spec: dict, c: dict) -> None:
        where = f"container {c.get('name', '?')}"
        flags = self.geolocd_flags(obj, spec, c)
        listen_port = None
        if flags is not None:
            self.flags[(ref(obj), c.get("name", ""))] = flags
            listen_port = parse_host_port(flags.get("listen", ""))[1]
        ports = {p.get("containerPort") for p in c.get("ports") or []}
        for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = c.get(probe_name)
            if not isinstance(probe, dict):
                self.fail(obj, f"{where}: no {probe_name}")
                continue
            grpc = probe.get("grpc")
            if not isinstance(grpc, dict):
                self.fail(obj, f"{where}: {probe_name} does not use the gRPC health service "
                               "(grpc: handler)")
                continue
            if grpc.get("service", "") != "":
                self.fail(obj, f"{where}: {probe_name} checks service '{grpc.get('service')}', "
                               "not \"\" (the server as a whole)")
            port = grpc.get("port")
            if listen_port is not None and port != listen_port:
                self.fail(obj, f"{where}: {probe_name} probes port {port}, --listen is "
                               f"port {listen_port}")
            elif listen_port is None and port not in ports:
                self.fail(obj, f"{where}: {probe_name} probes port {port}, not a containerPort")
        startup = c.get("startupProbe") or {}
        budget = int(startup.get("failureThreshold", 3)) * int(startup.get("periodSeconds", 10))
        if isinstance(startup, dict) and startup and budget < MIN_STARTUP_SECONDS:
            self.fail(obj, f"{where}: startupProbe allows {budget} s; loading a model and bundle "
                           f"needs at least {MIN_STARTUP_SECONDS} s")
        # Graceful termination.
        pre_stop = ((c.get("lifecycle") or {}).get("preStop")) or None
        pre_stop_seconds = 0.0
        if not pre_stop:
            self.fail(obj, f"{where}: no lifecycle.preStop (endpoints need time to drop the pod "
                           "before SIGTERM)")
        else:
            if "sleep" in pre_stop:
                pre_stop_seconds = float((pre_stop.get("sleep") or {}).get("seconds", 0))
            command = ((pre_stop.get("exec") or {}).get("command")) or []
            if command and posixpath.basename(str(command[0])) == "sleep" and len(command) > 1:
                try:
                    pre_stop_seconds = float(command[1])
                except ValueError:
                    pass
        drain = 0.0
        if flags is not None:
            try:
                drain = float(flags.get("drain_grace_seconds", "20"))
            except ValueError:
                self.fail(obj, f"{where}: --drain_grace_seconds={flags.get('drain_grace_seconds')} "
                               "is not a number")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if not grace > pre_stop_seconds + drain:
            self.fail(obj, f"terminationGracePeriodSeconds {grace} must exceed preStop "
                           f"{pre_stop_seconds:g} s + --drain_grace_seconds {drain:g} s, or the "
                           "kubelet kills geolocd mid-drain")

    # -- geolocd flags ---------------------------------------------------------------------------
    def mount_for(self, spec: dict, c: dict, path: str) -> Optional[Tuple[dict, dict]]:
        """The (volumeMount, volume) whose mountPath contains path (the deepest one)."""
        best = None
        for m in c.get("volumeMounts") or []:
            mp = str(m.get("mountPath", "")).rstrip("/")
            if path == mp or path.startswith(mp + "/"):
                if best is None or len(mp) > len(str(best.get("mountPath", "")).rstrip("/")):
                    best = m
        if best is None:
            return None
        for v in spec.get("volumes") or []:
            if v.get("name") == best.get("name"):
                return best, v
        return best, {}

    @staticmethod
    def key_for(mount: dict, volume_source: dict, path: str) -> Optional[str]:
        """The ConfigMap/Secret key a file path inside the mount shows, or None."""
        rel = posixpath.relpath(path, str(mount.get("mountPath")))
        if mount.get("subPath"):
            return str(mount.get("subPath")) if rel == "." else None
        items = volume_source.get("items")
        if items:
            for item in items:
                if item.get("path") == rel:
                    return item.get("key")
            return None
        return rel

    def geolocd_flags(self, obj: dict, spec: dict, c: dict) -> Optional[Dict[str, str]]:
        """Parses and checks the flagfile of a geolocd container; None for other containers."""
        where = f"container {c.get('name', '?')}"
        argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        flagfiles = [a.split("=", 1)[1] for a in argv if a.startswith("--flagfile=")]
        if not flagfiles:
            if "geolocd" in str(c.get("image", "")) or "geolocd" in " ".join(argv):
                self.fail(obj, f"{where}: geolocd without --flagfile=PATH (flags come from the "
                               "ConfigMap flagfile)")
            return None
        others = [a for a in argv if a.startswith("-") and not a.startswith("--flagfile=")]
        if others:
            self.fail(obj, f"{where}: flags {others} on the command line; put them in the "
                           "flagfile, the one place flags are set")
        if len(flagfiles) != 1 or "," in flagfiles[0]:
            self.fail(obj, f"{where}: expected one --flagfile, got {flagfiles}")
            return None
        path = flagfiles[0]
        found = self.mount_for(spec, c, path)
        if found is None or "configMap" not in found[1]:
            self.fail(obj, f"{where}: --flagfile={path} is not in a mounted ConfigMap volume")
            return None
        mount, volume = found
        cm_name = volume["configMap"].get("name")
        key = self.key_for(mount, volume["configMap"], path)
        cm = self.find("ConfigMap", cm_name)
        if cm is None:
            self.fail(obj, f"{where}: ConfigMap {cm_name} (mounted for --flagfile) is not in the "
                           "rendering")
            return None
        text = (cm.get("data") or {}).get(key)
        if text is None:
            self.fail(obj, f"{where}: ConfigMap {cm_name} has no key {key} for --flagfile={path}")
            return None
        values, problems = parse_flagfile(text)
        for p in problems:
            self.fail(cm, f"flagfile {key}: {p}")
        if self.known_flags is not None:
            for name in values:
                if name not in self.known_flags and name not in ABSL_BUILTIN_FLAGS:
                    self.fail(cm, f"flagfile {key}: unknown flag --{name} (geolocd would exit)")
        flags = dict(FLAG_DEFAULTS)
        flags.update(values)
        self.check_geolocd_flags(obj, spec, c, flags)
        return flags

    def check_geolocd_flags(self, obj: dict, spec: dict, c: dict, flags: Dict[str, str]) -> None:
        where = f"container {c.get('name', '?')}"
        declared = {p.get("containerPort"): p for p in c.get("ports") or []}
        wanted: Dict[int, str] = {}
        for flag in ("listen", "metrics_listen"):
            value = flags.get(flag, "")
            if flag == "metrics_listen" and value == "":
                continue  # metrics disabled
            host, port = parse_host_port(value)
            if port is None or port == 0:
                self.fail(obj, f"{where}: --{flag}={value} has no fixed port (probes and Services "
                               "need one)")
                continue
            if host in LOOPBACK_HOSTS:
                self.fail(obj, f"{where}: --{flag}={value} binds loopback only; the kubelet, "
                               "Services and Prometheus connect to the pod IP")
            wanted[port] = flag
            if port not in declared:
                self.fail(obj, f"{where}: no containerPort {port} for --{flag}={value}")
        for port in declared:
            if port not in wanted:
                self.fail(obj, f"{where}: containerPort {port} matches neither --listen nor "
                               "--metrics_listen")
        if flags.get("tls_cert"):
            self.fail(obj, f"{where}: --tls_cert is set, but Kubernetes' gRPC probes are "
                           "plaintext; use exec probes running `geoloc health --tls` instead")
        for flag in ("token_file", "admin_token_file"):
            path = flags.get(flag, "")
            if not path:
                self.fail(obj, f"{where}: --{flag} is not set (the service would be open or "
                               "IndexAdmin disabled); mount the tokens from a Secret")
                continue
            found = self.mount_for(spec, c, path)
            if found is None or "secret" not in found[1]:
                self.fail(obj, f"{where}: --{flag}={path} is not in a mounted Secret volume")
            elif self.key_for(found[0], found[1]["secret"], path) is None:
                self.fail(obj, f"{where}: --{flag}={path}: the Secret volume has no such file")
        for flag in ("model", "bundle", "index_root"):
            path = flags.get(flag, "")
            if not path:
                if flag != "index_root":
                    self.fail(obj, f"{where}: --{flag} is not set")
                continue
            found = self.mount_for(spec, c, path)
            if found is None:
                self.fail(obj, f"{where}: --{flag}={path} is on the image's file system, not on "
                               "a mounted volume")
            elif "emptyDir" in found[1]:
                self.fail(obj, f"{where}: --{flag}={path} is on an emptyDir (lost on restart)")
        self.check_audit_flags(obj, spec, c, flags)
        root, bundle = flags.get("index_root", ""), flags.get("bundle", "")
        if root and bundle and not bundle.startswith(root.rstrip("/") + "/"):
            self.fail(obj, f"{where}: --bundle={bundle} is not under --index_root={root}")
        threads = flags.get("intra_op_threads", "0")
        cpu_limit = cpu_cores(((c.get("resources") or {}).get("limits") or {}).get("cpu", ""))
        try:
            n = int(threads)
        except ValueError:
            n = -1
        if n < 1:
            self.fail(obj, f"{where}: --intra_op_threads={threads}: set it to at most the CPU "
                           "limit (0 means one thread per node core)")
        elif cpu_limit is not None and n > cpu_limit:
            self.fail(obj, f"{where}: --intra_op_threads={n} exceeds the CPU limit {cpu_limit:g}")

    def check_audit_flags(self, obj: dict, spec: dict, c: dict, flags: Dict[str, str]) -> None:
        """The audit log (and kept photos) must outlive the pod, be writable, and, on a volume
        the replicas of a Deployment share, be one file per pod ({hostname}: the pod's name)."""
        where = f"container {c.get('name', '?')}"
        for flag in ("audit_log", "audit_store_images"):
            path = flags.get(flag, "")
            if not path:
                continue
            found = self.mount_for(spec, c, path)
            if found is None:
                self.fail(obj, f"{where}: --{flag}={path} is on the image's file system (read-only "
                               "root, lost with the pod): mount a PersistentVolume there")
                continue
            mount, volume = found
            if "emptyDir" in volume:
                self.fail(obj, f"{where}: --{flag}={path} is on an emptyDir (lost with the pod)")
            elif mount.get("readOnly") or (volume.get("persistentVolumeClaim") or {}).get("readOnly") \
                    or "configMap" in volume or "secret" in volume:
                self.fail(obj, f"{where}: --{flag}={path} is on a read-only volume")
            elif (flag == "audit_log" and obj.get("kind") == "Deployment"
                  and "{hostname}" not in path and not mount.get("subPathExpr")):
                self.fail(obj, f"{where}: --audit_log={path}: the Deployment's replicas share the "
                               "volume and would write one file; put {hostname} in the name")

    # -- wiring ----------------------------------------------------------------------------------
    def check_service(self, svc: dict) -> None:
        spec = svc.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector:
            self.fail(svc, "no selector")
            return
        workloads = self.workloads_selected_by(selector)
        if not workloads:
            self.fail(svc, f"selector {selector} matches no workload's pods in the rendering")
            return
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            port_name = str(port.get("name", port.get("port")))
            for w in workloads:
                pod = self.pod_spec(w) or {}
                for c in pod.get("containers") or []:
                    for p in c.get("ports") or []:
                        if (p.get("name") == target if isinstance(target, str)
                                else p.get("containerPort") == target):
                            self.check_service_port_flag(svc, port_name, w, c, p)
                            break
                    else:
                        continue
                    break
                else:
                    self.fail(svc, f"port {port_name}: targetPort {target} is not a containerPort "
                                   f"of {ref(w)}")

    def check_service_port_flag(self, svc: dict, port_name: str, w: dict, c: dict,
                                p: dict) -> None:
        """A Service port named for gRPC or metrics must reach geolocd's port for that flag."""
        flags = self.flags.get((ref(w), c.get("name", "")))
        if flags is None:
            return
        for marker, flag in (("grpc", "listen"), ("metrics", "metrics_listen")):
            if marker in port_name:
                wanted = parse_host_port(flags.get(flag, ""))[1]
                if wanted is not None and p.get("containerPort") != wanted:
                    self.fail(svc, f"port {port_name} reaches containerPort "
                                   f"{p.get('containerPort')}, but --{flag} is port {wanted}")

    def check_hpa(self, hpa: dict) -> None:
        spec = hpa.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        if self.find(target.get("kind", ""), target.get("name", "")) is None:
            self.fail(hpa, f"scaleTargetRef {target.get('kind')}/{target.get('name')} is not in "
                           "the rendering")
        if int(spec.get("minReplicas", 1)) < 2:
            self.fail(hpa, "minReplicas < 2: one replica cannot be drained or restarted without "
                           "an outage")
        if int(spec.get("maxReplicas", 0)) < int(spec.get("minReplicas", 1)):
            self.fail(hpa, "maxReplicas < minReplicas")

    def check_pdb(self, pdb: dict) -> None:
        selector = (((pdb.get("spec") or {}).get("selector") or {}).get("matchLabels")) or {}
        if not self.workloads_selected_by(selector):
            self.fail(pdb, f"selector {selector} matches no workload's pods in the rendering")

    def check_service_monitor(self, sm: dict) -> None:
        spec = sm.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        services = [s for s in self.objects("Service") if selector and all(
            ((s.get("metadata") or {}).get("labels") or {}).get(k) == v
            for k, v in selector.items())]
        if not services:
            self.fail(sm, f"selector {selector} matches no Service's labels")
            return
        for endpoint in spec.get("endpoints") or []:
            name = endpoint.get("port")
            if not any(p.get("name") == name for s in services
                       for p in (s.get("spec") or {}).get("ports") or []):
                self.fail(sm, f"endpoint port {name} is not a port of the selected Service(s)")


def load_documents(paths: List[str]) -> List[dict]:
    docs: List[dict] = []
    for path in paths:
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
        with stream:
            docs.extend(d for d in yaml.safe_load_all(stream) if d is not None)
    return docs


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("manifests", nargs="+", help="rendered YAML files ('-': stdin)")
    p.add_argument("--flags-from", action="append", default=[], metavar="SOURCE.cc",
                   help="C++ files whose ABSL_FLAGs are geolocd's flags (repeatable); without it "
                        "flag names are not checked")
    args = p.parse_args(argv)
    try:
        docs = load_documents(args.manifests)
        known = known_flags_from_sources(args.flags_from) if args.flags_from else None
    except (OSError, yaml.YAMLError) as e:
        print(f"check_manifests: {e}", file=sys.stderr)
        return 2
    if not docs:
        print("check_manifests: no objects in the input", file=sys.stderr)
        return 2
    errors = Checker(docs, known).run()
    for e in errors:
        print(e)
    names = ", ".join(args.manifests)
    if errors:
        print(f"check_manifests: {names}: {len(errors)} problem(s) in {len(docs)} objects")
        return 1
    print(f"check_manifests: {names}: {len(docs)} objects OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
