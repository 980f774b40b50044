#!/usr/bin/python3
"""Tests of check_manifests.py: it accepts a valid rendering and rejects each kind of breakage.

  /usr/bin/python3 tests/deploy/test_check_manifests.py [-v]

fixtures/good-rendered.yaml passes; every case below breaks one thing in a copy of it and expects
that rule, and only that rule, to fail. fixtures/broken-rendered.yaml is run through the command
line and must exit 1 naming its problems. The defaults the checker assumes for geolocd's flags
are compared with server/server_flags.cc.
"""

import copy
import io
import os
import pathlib
import re
import subprocess
import sys
import unittest
from contextlib import redirect_stdout

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import check_manifests as cm  # noqa: E402

FLAG_SOURCES = [str(ROOT / "server" / "server_flags.cc"), str(ROOT / "server" / "main.cc")]
GOOD = HERE / "fixtures" / "good-rendered.yaml"
BROKEN = HERE / "fixtures" / "broken-rendered.yaml"


def load(path):
    return cm.load_documents([str(path)])


def obj(docs, kind):
    return next(d for d in docs if d["kind"] == kind)


def container(docs):
    return obj(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def pod(docs):
    return obj(docs, "Deployment")["spec"]["template"]["spec"]


def set_flag(docs, line_re, replacement):
    """Edits the flagfile: replaces the line matching line_re (or appends when absent)."""
    cmap = obj(docs, "ConfigMap")
    text = cmap["data"]["geolocd.flags"]
    new, n = re.subn(line_re, replacement, text, flags=re.MULTILINE)
    cmap["data"]["geolocd.flags"] = new if n else text + replacement + "\n"


class CheckerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.known = cm.known_flags_from_sources(FLAG_SOURCES)
        cls.good = load(GOOD)

    def errors(self, docs):
        return cm.Checker(docs, self.known).run()

    def expect(self, mutate, *patterns):
        """Applies mutate to a copy of the good rendering; expects failures matching every
        pattern, and no failure that matches none of them."""
        docs = copy.deepcopy(self.good)
        mutate(docs)
        errors = self.errors(docs)
        self.assertTrue(errors, "the checker accepted a broken rendering")
        for p in patterns:
            self.assertTrue(any(re.search(p, e) for e in errors),
                            f"no failure matching {p!r} in:\n" + "\n".join(errors))
        unexpected = [e for e in errors if not any(re.search(p, e) for p in patterns)]
        self.assertEqual(unexpected, [], "unrelated failures")

    # -- the baseline ----------------------------------------------------------------------------
    def test_good_fixture_passes(self):
        self.assertEqual(self.errors(copy.deepcopy(self.good)), [])

    def test_flag_defaults_match_the_server_source(self):
        source = pathlib.Path(FLAG_SOURCES[0]).read_text(encoding="utf-8")
        for name, default in cm.FLAG_DEFAULTS.items():
            m = re.search(r"ABSL_FLAG\(\s*[\w:<>]+\s*,\s*" + name + r"\s*,\s*(\"[^\"]*\"|[^,]+),",
                          source)
            self.assertIsNotNone(m, f"--{name} is no longer defined in server_flags.cc")
            value = m.group(1).strip()
            value = value[1:-1] if value.startswith('"') else value
            self.assertEqual(value, default, f"default of --{name} changed in server_flags.cc")

    def test_known_flags_are_read_from_the_sources(self):
        for name in ("listen", "metrics_listen", "drain_grace_seconds", "log_level"):
            self.assertIn(name, self.known)

    # -- objects ---------------------------------------------------------------------------------
    def test_missing_api_version(self):
        self.expect(lambda d: obj(d, "Service").pop("apiVersion"), r"Service/geolocd: missing apiVersion")

    def test_missing_name(self):
        self.expect(lambda d: obj(d, "PodDisruptionBudget")["metadata"].pop("name"),
                    r"PodDisruptionBudget/\?: missing metadata.name")

    def test_mixed_namespaces(self):
        self.expect(lambda d: obj(d, "Service")["metadata"].pop("namespace"),
                    r"Service/geolocd: no namespace")

    # -- secrets ---------------------------------------------------------------------------------
    def test_inline_secret_data(self):
        def mutate(d):
            d.append({"apiVersion": "v1", "kind": "Secret",
                      "metadata": {"name": "tokens", "namespace": "test"},
                      "data": {"tokens": "c2VjcmV0"}})
        self.expect(mutate, r"Secret/tokens: Secret with inline data")

    def test_inline_token_env(self):
        self.expect(lambda d: container(d).setdefault("env", []).append(
            {"name": "GEOLOC_TOKEN", "value": "s3cret"}), r"env GEOLOC_TOKEN has an inline value")

    def test_token_env_from_secret_is_fine(self):
        docs = copy.deepcopy(self.good)
        container(docs)["env"] = [{"name": "GEOLOC_TOKEN", "valueFrom": {
            "secretKeyRef": {"name": "client-tokens", "key": "tokens"}}}]
        self.assertEqual(self.errors(docs), [])

    def test_token_file_not_in_a_secret(self):
        self.expect(lambda d: set_flag(d, r"^--token_file=.*$", "--token_file=/data/tokens"),
                    r"--token_file=/data/tokens is not in a mounted Secret volume")

    def test_token_file_not_in_the_secret_items(self):
        self.expect(lambda d: set_flag(d, r"^--admin_token_file=.*$",
                                       "--admin_token_file=/secrets/admin/other"),
                    r"--admin_token_file=/secrets/admin/other: the Secret volume has no such file")

    def test_token_file_unset(self):
        self.expect(lambda d: set_flag(d, r"^--token_file=.*\n", ""), r"--token_file is not set")

    # -- the audit log ---------------------------------------------------------------------------
    @staticmethod
    def with_audit_volume(docs, read_only=False, source=None):
        pod(docs)["volumes"].append({"name": "audit", **(source or
                                     {"persistentVolumeClaim": {"claimName": "audit"}})})
        container(docs)["volumeMounts"].append({"name": "audit", "mountPath": "/audit",
                                                "readOnly": read_only})

    def test_audit_log_per_pod_on_a_writable_volume_is_fine(self):
        docs = copy.deepcopy(self.good)
        self.with_audit_volume(docs)
        set_flag(docs, r"^--audit_log=.*$", "--audit_log=/audit/{hostname}.jsonl")
        set_flag(docs, r"^--audit_store_images=.*$", "--audit_store_images=/audit/photos")
        self.assertEqual(self.errors(docs), [])

    def test_audit_log_shared_by_the_replicas(self):
        def mutate(d):
            self.with_audit_volume(d)
            set_flag(d, r"^--audit_log=.*$", "--audit_log=/audit/audit.jsonl")
        self.expect(mutate, r"--audit_log=/audit/audit.jsonl: the Deployment's replicas share the "
                            r"volume and would write one file")

    def test_audit_log_on_a_read_only_volume(self):
        def mutate(d):
            self.with_audit_volume(d, read_only=True)
            set_flag(d, r"^--audit_log=.*$", "--audit_log=/audit/{hostname}.jsonl")
        self.expect(mutate, r"--audit_log=/audit/\{hostname\}.jsonl is on a read-only volume")

    def test_audit_photos_on_an_empty_dir(self):
        def mutate(d):
            self.with_audit_volume(d, source={"emptyDir": {}})
            set_flag(d, r"^--audit_log=.*$", "--audit_log=/audit/{hostname}.jsonl")
            set_flag(d, r"^--audit_store_images=.*$", "--audit_store_images=/audit/photos")
        self.expect(mutate, r"--audit_log=.* is on an emptyDir", r"--audit_store_images=/audit/photos is on an emptyDir")

    def test_audit_log_on_the_image(self):
        self.expect(lambda d: set_flag(d, r"^--audit_log=.*$", "--audit_log=/var/log/audit.jsonl"),
                    r"--audit_log=/var/log/audit.jsonl is on the image's file system")

    # -- pods ------------------------------------------------------------------------------------
    def test_missing_limits(self):
        self.expect(lambda d: container(d)["resources"].pop("limits"),
                    r"resources.limits.cpu is missing", r"resources.limits.memory is missing")

    def test_missing_memory_request(self):
        self.expect(lambda d: container(d)["resources"]["requests"].pop("memory"),
                    r"resources.requests.memory is missing")

    def test_gpu_request_without_limit(self):
        self.expect(lambda d: container(d)["resources"]["requests"].update({"nvidia.com/gpu": "1"}),
                    r"extended resource nvidia.com/gpu must be in limits")

    def test_root_user(self):
        self.expect(lambda d: pod(d)["securityContext"].update({"runAsUser": 0}),
                    r"runAsUser is 0", r"runs as uid 0")

    def test_run_as_non_root_missing(self):
        self.expect(lambda d: pod(d)["securityContext"].pop("runAsNonRoot"),
                    r"runAsNonRoot is not true")

    def test_writable_root_filesystem(self):
        self.expect(lambda d: container(d)["securityContext"].update(
            {"readOnlyRootFilesystem": False}), r"readOnlyRootFilesystem is not true")

    def test_privilege_escalation(self):
        self.expect(lambda d: container(d)["securityContext"].pop("allowPrivilegeEscalation"),
                    r"allowPrivilegeEscalation is not false")

    def test_capabilities_kept(self):
        self.expect(lambda d: container(d)["securityContext"].pop("capabilities"),
                    r"capabilities.drop does not include ALL")

    def test_latest_image(self):
        self.expect(lambda d: container(d).update({"image": "example/geolocd:latest"}),
                    r"no fixed tag or digest")

    def test_untagged_image(self):
        self.expect(lambda d: container(d).update({"image": "registry:5000/geolocd"}),
                    r"no fixed tag or digest")

    def test_digest_image_is_fine(self):
        docs = copy.deepcopy(self.good)
        container(docs)["image"] = "registry:5000/geolocd@sha256:" + "a" * 64
        self.assertEqual(self.errors(docs), [])

    def test_init_container_checked_too(self):
        def mutate(d):
            pod(d)["initContainers"] = [{"name": "init", "image": "busybox:1.36"}]
        self.expect(mutate, r"container init: resources", r"container init: securityContext",
                    r"container init: capabilities")

    # -- servers ---------------------------------------------------------------------------------
    def test_missing_liveness_probe(self):
        self.expect(lambda d: container(d).pop("livenessProbe"), r"no livenessProbe")

    def test_http_probe(self):
        self.expect(lambda d: container(d).update(
            {"readinessProbe": {"httpGet": {"path": "/", "port": 9090}}}),
            r"readinessProbe does not use the gRPC health service")

    def test_probe_named_service(self):
        self.expect(lambda d: container(d)["livenessProbe"]["grpc"].update(
            {"service": "geoloc.v1.Geolocator"}), r"livenessProbe checks service")

    def test_probe_on_metrics_port(self):
        self.expect(lambda d: container(d)["startupProbe"]["grpc"].update({"port": 9090}),
                    r"startupProbe probes port 9090, --listen is port 50051")

    def test_short_startup_probe(self):
        self.expect(lambda d: container(d)["startupProbe"].update({"failureThreshold": 3}),
                    r"startupProbe allows 15 s")

    def test_grace_period_shorter_than_drain(self):
        self.expect(lambda d: pod(d).update({"terminationGracePeriodSeconds": 20}),
                    r"terminationGracePeriodSeconds 20 must exceed preStop 5 s \+ "
                    r"--drain_grace_seconds 20 s")

    def test_grace_period_follows_the_flag(self):
        self.expect(lambda d: set_flag(d, r"^--drain_grace_seconds=.*$", "--drain_grace_seconds=60"),
                    r"terminationGracePeriodSeconds 30 must exceed preStop 5 s \+ "
                    r"--drain_grace_seconds 60 s")

    def test_default_grace_period_is_too_short_for_the_default_drain(self):
        # No terminationGracePeriodSeconds: Kubernetes' 30 s < 5 s preStop + 20 s drain? No:
        # 30 > 25, so it passes; with a 15 s preStop it does not.
        def mutate(d):
            pod(d).pop("terminationGracePeriodSeconds")
            container(d)["lifecycle"]["preStop"] = {"sleep": {"seconds": 15}}
        self.expect(mutate, r"terminationGracePeriodSeconds 30 must exceed preStop 15 s")

    def test_no_pre_stop(self):
        self.expect(lambda d: container(d).pop("lifecycle"), r"no lifecycle.preStop")

    # -- geolocd flags ---------------------------------------------------------------------------
    def test_flags_on_the_command_line(self):
        self.expect(lambda d: container(d)["args"].append("--max_batch=8"),
                    r"flags \['--max_batch=8'\] on the command line")

    def test_geolocd_without_flagfile(self):
        self.expect(lambda d: container(d).update({"args": ["--listen=0.0.0.0:50051"]}),
                    r"geolocd without --flagfile")

    def test_flagfile_not_in_a_config_map(self):
        self.expect(lambda d: container(d).update({"args": ["--flagfile=/data/flags"]}),
                    r"--flagfile=/data/flags is not in a mounted ConfigMap volume")

    def test_flagfile_config_map_missing(self):
        self.expect(lambda d: pod(d)["volumes"][0]["configMap"].update({"name": "flags-old"}),
                    r"ConfigMap flags-old \(mounted for --flagfile\) is not in the rendering")

    def test_flagfile_key_missing(self):
        self.expect(lambda d: container(d).update({"args": ["--flagfile=/etc/geoloc/other.flags"]}),
                    r"has no key other.flags")

    def test_unknown_flag(self):
        self.expect(lambda d: set_flag(d, r"^--max_batchs=.*$", "--max_batchs=8"),
                    r"unknown flag --max_batchs")

    def test_trailing_comment(self):
        self.expect(lambda d: set_flag(d, r"^--intra_op_threads=.*$", "--intra_op_threads=2  # two"),
                    r"'#' after the value of --intra_op_threads", r"--intra_op_threads=2  # two")

    def test_trailing_whitespace(self):
        self.expect(lambda d: set_flag(d, r"^--model=.*$", "--model=/data/models/m.pt "),
                    r"trailing whitespace")

    def test_flag_set_twice(self):
        self.expect(lambda d: set_flag(d, r"^--max_k=.*$", "--max_k=100\n--max_k=200"),
                    r"--max_k is set twice")

    def test_not_a_flag_line(self):
        self.expect(lambda d: set_flag(d, r"^listen .*$", "listen 0.0.0.0:50051"),
                    r"is not a --flag")

    def test_loopback_listen(self):
        self.expect(lambda d: set_flag(d, r"^--listen=.*$", "--listen=127.0.0.1:50051"),
                    r"--listen=127.0.0.1:50051 binds loopback only")

    def test_port_zero(self):
        self.expect(lambda d: set_flag(d, r"^--listen=.*$", "--listen=0.0.0.0:0"),
                    r"--listen=0.0.0.0:0 has no fixed port", r"containerPort 50051 matches neither",
                    r"probes port 50051, --listen is port 0",
                    r"port grpc reaches containerPort 50051, but --listen is port 0")

    def test_listen_port_differs_from_container_port(self):
        self.expect(lambda d: set_flag(d, r"^--listen=.*$", "--listen=0.0.0.0:50052"),
                    r"no containerPort 50052", r"containerPort 50051 matches neither",
                    r"probes port 50051, --listen is port 50052",
                    r"Service/geolocd: port grpc reaches containerPort 50051, but --listen is port 50052")

    def test_metrics_port_differs(self):
        self.expect(lambda d: set_flag(d, r"^--metrics_listen=.*$", "--metrics_listen=0.0.0.0:9100"),
                    r"no containerPort 9100", r"containerPort 9090 matches neither",
                    r"port metrics reaches containerPort 9090, but --metrics_listen is port 9100")

    def test_metrics_default_applies_when_unset(self):
        # The flagfile leaves --metrics_listen out: the default :9090 must still have its port.
        def mutate(d):
            set_flag(d, r"^--metrics_listen=.*\n", "")
            container(d)["ports"] = [p for p in container(d)["ports"] if p["name"] != "metrics"]
        self.expect(mutate, r"no containerPort 9090 for --metrics_listen=0.0.0.0:9090",
                    r"Service/geolocd: port metrics: targetPort 9090 is not a containerPort",
                    r"ServiceMonitor/geolocd: endpoint port metrics" + "|" + r"targetPort 9090")

    def test_tls_with_grpc_probes(self):
        self.expect(lambda d: set_flag(d, r"^--tls_cert=.*$", "--tls_cert=/secrets/client/tokens"),
                    r"--tls_cert is set, but Kubernetes' gRPC probes are plaintext")

    def test_model_on_the_image(self):
        self.expect(lambda d: set_flag(d, r"^--model=.*$", "--model=/opt/models/m.pt"),
                    r"--model=/opt/models/m.pt is on the image's file system")

    def test_bundle_outside_index_root(self):
        self.expect(lambda d: set_flag(d, r"^--bundle=.*$", "--bundle=/data/other/current"),
                    r"--bundle=/data/other/current is not under --index_root=/data/bundles")

    def test_intra_op_threads_unset(self):
        self.expect(lambda d: set_flag(d, r"^--intra_op_threads=.*\n", ""),
                    r"--intra_op_threads=0: set it")

    def test_intra_op_threads_above_the_cpu_limit(self):
        self.expect(lambda d: set_flag(d, r"^--intra_op_threads=.*$", "--intra_op_threads=8"),
                    r"--intra_op_threads=8 exceeds the CPU limit 2")

    # -- wiring ----------------------------------------------------------------------------------
    def test_selector_mismatch(self):
        self.expect(lambda d: obj(d, "Deployment")["spec"]["selector"]["matchLabels"].update(
            {"app": "other"}), r"selector app=other does not match")

    def test_replicas_with_hpa(self):
        self.expect(lambda d: obj(d, "Deployment")["spec"].update({"replicas": 3}),
                    r"sets spec.replicas although a HorizontalPodAutoscaler scales it")

    def test_service_selects_nothing(self):
        self.expect(lambda d: obj(d, "Service")["spec"].update({"selector": {"app": "x"}}),
                    r"Service/geolocd: selector .* matches no workload")

    def test_service_target_port_name(self):
        self.expect(lambda d: obj(d, "Service")["spec"]["ports"][0].update({"targetPort": "http"}),
                    r"Service/geolocd: port grpc: targetPort http is not a containerPort")

    def test_service_target_port_number(self):
        self.expect(lambda d: obj(d, "Service")["spec"]["ports"][1].update({"targetPort": 9091}),
                    r"Service/geolocd: port metrics: targetPort 9091 is not a containerPort")

    def test_service_ports_crossed(self):
        # Both targets exist, but the gRPC port would reach the metrics endpoint and vice versa.
        def mutate(d):
            ports = obj(d, "Service")["spec"]["ports"]
            ports[0]["targetPort"], ports[1]["targetPort"] = "metrics", 50051
        self.expect(mutate, r"port grpc reaches containerPort 9090, but --listen is port 50051",
                    r"port metrics reaches containerPort 50051, but --metrics_listen is port 9090")

    def test_hpa_target_missing(self):
        self.expect(lambda d: obj(d, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].update(
            {"name": "geolocd-old"}), r"scaleTargetRef Deployment/geolocd-old is not in")

    def test_hpa_single_replica(self):
        self.expect(lambda d: obj(d, "HorizontalPodAutoscaler")["spec"].update({"minReplicas": 1}),
                    r"minReplicas < 2")

    def test_pdb_selects_nothing(self):
        self.expect(lambda d: obj(d, "PodDisruptionBudget")["spec"]["selector"].update(
            {"matchLabels": {"app": "x"}}), r"PodDisruptionBudget/geolocd: selector")

    def test_service_monitor_port(self):
        self.expect(lambda d: obj(d, "ServiceMonitor")["spec"]["endpoints"][0].update(
            {"port": "http-metrics"}), r"endpoint port http-metrics is not a port")

    def test_service_monitor_selector(self):
        self.expect(lambda d: obj(d, "ServiceMonitor")["spec"]["selector"].update(
            {"matchLabels": {"app": "x"}}), r"ServiceMonitor/geolocd: selector .* matches no Service")

    # -- the command line ------------------------------------------------------------------------
    def run_cli(self, *paths):
        return subprocess.run([sys.executable, str(HERE / "check_manifests.py"), *map(str, paths),
                               "--flags-from", FLAG_SOURCES[0], "--flags-from", FLAG_SOURCES[1]],
                              capture_output=True, text=True, check=False)

    def test_cli_accepts_the_good_fixture(self):
        r = self.run_cli(GOOD)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("6 objects OK", r.stdout)

    def test_cli_rejects_the_broken_fixture(self):
        r = self.run_cli(BROKEN)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for expected in (
                "Secret/geolocd-tokens: Secret with inline data",
                "env GEOLOC_ADMIN_TOKEN has an inline value",
                "image example/geolocd:latest has no fixed tag",
                "readOnlyRootFilesystem is not true",
                "runAsNonRoot is not true",
                "resources.limits.memory is missing",
                "no startupProbe",
                "readinessProbe does not use the gRPC health service",
                "no livenessProbe",
                "terminationGracePeriodSeconds 10 must exceed",
                "'#' after the value of --listen",
                "unknown flag --no_such_flag",
                "containerPort 8080 matches neither",
                "--token_file=/secrets/client/tokens is not in a mounted Secret volume",
                "--admin_token_file is not set",
                "--model=/models/m.pt is on the image's file system",
                "--bundle=/data/current is on an emptyDir",
                "flags ['--max_batch=8'] on the command line",
                "selector app=geolocd does not match",
                "sets spec.replicas although a HorizontalPodAutoscaler",
                "Service/geolocd: no namespace",
                "minReplicas < 2",
                "PodDisruptionBudget/?: missing apiVersion",
        ):
            self.assertIn(expected, r.stdout)

    def test_cli_unparsable_input(self):
        bad = HERE / "fixtures" / "good-rendered.yaml"
        r = subprocess.run([sys.executable, str(HERE / "check_manifests.py"), "-"],
                           input=bad.read_text() + "\n---\n: [unclosed\n",
                           capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

    def test_cli_empty_input(self):
        r = subprocess.run([sys.executable, str(HERE / "check_manifests.py"), "-"], input="",
                           capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
