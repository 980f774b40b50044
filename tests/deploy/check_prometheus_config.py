#!/usr/bin/python3
"""Runs `promtool check config` on deploy/prometheus/prometheus.yml, offline.

  /usr/bin/python3 tests/deploy/check_prometheus_config.py [--promtool PATH]

Debian's prometheus package (2.42) is built without Kubernetes service discovery, so its promtool
rejects `kubernetes_sd_configs` as an unknown field. When that is the case, the configuration is
checked in two parts: the kubernetes_sd_configs blocks structurally here (roles, namespaces), and
everything else (global settings, rule files, relabelling regexes and actions, the rules
themselves) by promtool on a copy where each such block is replaced by an empty static_configs.
With a promtool that knows Kubernetes discovery the file is checked as is.
Exit status: 0 valid, 1 invalid, 2 promtool missing (install it: tools/install_deps.sh).
"""

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
K8S_ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}


def promtool_knows_kubernetes(promtool: str, tmp: pathlib.Path) -> bool:
    probe = tmp / "probe.yml"
    probe.write_text("scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n"
                     "      - role: pod\n", encoding="utf-8")
    r = subprocess.run([promtool, "check", "config", str(probe)], capture_output=True, text=True,
                       check=False)
    return r.returncode == 0


def check_kubernetes_blocks(config: dict) -> list:
    errors = []
    for job in config.get("scrape_configs") or []:
        for sd in job.get("kubernetes_sd_configs") or []:
            name = job.get("job_name")
            if sd.get("role") not in K8S_ROLES:
                errors.append(f"job {name}: kubernetes_sd_configs role {sd.get('role')!r} is not "
                              f"one of {sorted(K8S_ROLES)}")
            names = (sd.get("namespaces") or {}).get("names")
            if names is not None and (not isinstance(names, list) or
                                      not all(isinstance(n, str) and n for n in names)):
                errors.append(f"job {name}: namespaces.names must be a list of names")
            unknown = set(sd) - {"role", "namespaces", "selectors", "api_server", "kubeconfig_file",
                                 "attach_metadata", "follow_redirects", "enable_http2",
                                 "tls_config", "authorization", "oauth2", "proxy_url",
                                 "basic_auth", "bearer_token", "bearer_token_file"}
            if unknown:
                errors.append(f"job {name}: unknown kubernetes_sd_configs fields {sorted(unknown)}")
    return errors


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--promtool", default=shutil.which("promtool"))
    p.add_argument("--config", default=str(CONFIG))
    args = p.parse_args()
    if not args.promtool:
        print("check_prometheus_config: promtool not found; install the Debian package "
              "'prometheus' (tools/install_deps.sh)", file=sys.stderr)
        return 2
    config_path = pathlib.Path(args.config)
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        print(f"FAIL {config_path.name}: {e}")
        return 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = pathlib.Path(tmp_name)
        if promtool_knows_kubernetes(args.promtool, tmp):
            target = config_path
        else:
            errors = check_kubernetes_blocks(config)
            for e in errors:
                print(f"FAIL {config_path.name}: {e}")
            if errors:
                return 1
            print("check_prometheus_config: this promtool has no Kubernetes discovery (Debian's "
                  "build); kubernetes_sd_configs checked structurally, the rest by promtool")
            for job in config.get("scrape_configs") or []:
                if "kubernetes_sd_configs" in job:
                    del job["kubernetes_sd_configs"]
                    job.setdefault("static_configs", [{"targets": []}])
            # The copy lives in a temporary directory: make rule_files absolute.
            config["rule_files"] = [str((config_path.parent / f).resolve())
                                    for f in config.get("rule_files") or []]
            target = tmp / config_path.name
            target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        r = subprocess.run([args.promtool, "check", "config", str(target)],
                           capture_output=True, text=True, check=False)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return 0 if r.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
