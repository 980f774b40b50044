#!/usr/bin/python3
"""Consistency of the monitoring files with the server and the docs.

  /usr/bin/python3 tests/deploy/test_observability.py [-v]

* every metric the alert rules, the scrape config and the Grafana dashboard query is one geolocd
  exports (the list in server/metrics.h), and the label values they match (method, stage, code
  names) are ones the server records;
* the dashboard is well-formed Grafana JSON: unique panel ids, panels inside the 24-column grid
  and not overlapping, every query on the templated data source;
* every alert has a runbook link to a section of docs/OPERATIONS.md that exists;
* the Prometheus Operator's PrometheusRule is generated from the rules file, unchanged.
"""

import json
import pathlib
import re
import subprocess
import sys
import unittest

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "geoloc-alerts.yml"
SCRAPE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "prometheus" / "grafana" / "geoloc-dashboard.json"
METRICS_H = ROOT / "server" / "metrics.h"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"
# The server's code, headers included (the Locate pipeline is a header-only template).
SERVER_SOURCES = sorted([*(ROOT / "server").glob("*.cc"), *(ROOT / "server").glob("*.h")])
GRPC_CODES = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
              "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
              "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
              "UNAUTHENTICATED"}
# Series every Prometheus has, not geolocd's.
PROMETHEUS_SERIES = {"up"}


def exported_metrics():
    """(names, histogram names) from the series list in server/metrics.h's header comment."""
    text = METRICS_H.read_text(encoding="utf-8")
    names, histograms = set(), set()
    for line in text.splitlines():
        if not line.startswith("//"):
            continue
        for name in re.findall(r"\b((?:geoloc|process)_[a-z0-9_]+)\b", line):
            names.add(name)
            if re.search(re.escape(name) + r"(\{[^}]*\})?\s+histogram", line):
                histograms.add(name)
    return names, histograms


def github_anchor(heading: str) -> str:
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def rule_exprs():
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield rule


def dashboard_exprs(dash):
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for annotation in dash.get("annotations", {}).get("list", []):
        if "expr" in annotation:
            yield annotation["name"], annotation["expr"]


class ObservabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.metrics, cls.histograms = exported_metrics()
        cls.dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
        cls.server_text = "\n".join(p.read_text(encoding="utf-8") for p in SERVER_SOURCES)
        cls.recorded = {r["record"] for r in rule_exprs() if "record" in r}

    def check_expr(self, where, expr):
        # Label names never start with these prefixes, so every such word is a series name.
        unquoted = re.sub(r'"[^"]*"', '""', expr)
        for name in set(re.findall(r"\b((?:geoloc|process)_[a-z0-9_]+)\b", unquoted)):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            known = name in self.metrics or (base in self.histograms and base != name)
            self.assertTrue(known, f"{where}: {name} is not a series geolocd exports "
                                   "(server/metrics.h)")
        for name in re.findall(r"\b(geoloc:[a-z0-9_:]+)", expr):
            self.assertIn(name, self.recorded, f"{where}: recording rule {name} is not defined")
        # Label values must be ones the server emits.
        for label, values in re.findall(r'\b(method|stage|code)\s*=~?\s*"([^"]+)"', expr):
            for value in values.split("|"):
                if value in (".*", "$method"):
                    continue
                if label == "code":
                    self.assertIn(value, GRPC_CODES, f"{where}: code {value} is not a gRPC code")
                elif label == "method":
                    self.assertIn(f'"{value}"', self.server_text,
                                  f"{where}: the server never records method {value}")
                else:
                    self.assertIn(f'RecordStage("{value}"', self.server_text,
                                  f"{where}: the server never records stage {value}")

    def test_metrics_header_lists_the_series(self):
        for name in ("geoloc_requests_total", "geoloc_serving", "geoloc_queue_depth",
                     "geoloc_last_swap_success", "process_resident_memory_bytes"):
            self.assertIn(name, self.metrics)
        self.assertIn("geoloc_request_duration_seconds", self.histograms)
        self.assertIn("geoloc_stage_duration_seconds", self.histograms)

    def test_rules_use_exported_series(self):
        for rule in rule_exprs():
            self.check_expr(rule.get("alert") or rule.get("record"), rule["expr"])

    def test_check_expr_catches_unknown_series(self):
        with self.assertRaises(AssertionError):
            self.check_expr("t", "rate(geoloc_requests_count[5m]) > 1")
        with self.assertRaises(AssertionError):
            self.check_expr("t", 'geoloc_stage_duration_seconds_bucket{stage="warmup"}')
        with self.assertRaises(AssertionError):
            self.check_expr("t", 'geoloc:nothing:rate5m > 1')

    def test_dashboard_uses_exported_series(self):
        for title, expr in dashboard_exprs(self.dashboard):
            self.check_expr(f"dashboard panel {title!r}", expr)

    def test_scrape_job_matches_the_alerts(self):
        config = yaml.safe_load(SCRAPE.read_text(encoding="utf-8"))
        jobs = {j["job_name"] for j in config["scrape_configs"]}
        self.assertIn("geolocd", jobs)
        rules_text = RULES.read_text(encoding="utf-8")
        for job in re.findall(r'job="([^"]+)"', rules_text):
            self.assertIn(job, jobs)

    def test_dashboard_structure(self):
        d = self.dashboard
        self.assertTrue(d.get("uid") and d.get("title"))
        variables = {v["name"]: v for v in d["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        ids = [p["id"] for p in d["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "duplicate panel ids")
        boxes = []
        for p in d["panels"]:
            g = p["gridPos"]
            self.assertGreaterEqual(g["x"], 0)
            self.assertLessEqual(g["x"] + g["w"], 24, f"panel {p['title']} leaves the grid")
            for other_title, o in boxes:
                overlap = (g["x"] < o["x"] + o["w"] and o["x"] < g["x"] + g["w"] and
                           g["y"] < o["y"] + o["h"] and o["y"] < g["y"] + g["h"])
                self.assertFalse(overlap, f"panels {p['title']!r} and {other_title!r} overlap")
            boxes.append((p["title"], g))
            if p["type"] != "row":
                self.assertEqual(p["datasource"]["uid"], "${datasource}")
                self.assertTrue(p.get("description"), f"panel {p['title']} has no description")
                for t in p["targets"]:
                    self.assertEqual(t["datasource"]["uid"], "${datasource}")
                    self.assertIn('namespace=~"$namespace"', t["expr"])

    def test_every_alert_has_a_runbook_section(self):
        headings = {github_anchor(h) for h in re.findall(r"^#+\s+(.*)$",
                                                         OPERATIONS.read_text(encoding="utf-8"),
                                                         flags=re.MULTILINE)}
        alerts = [r for r in rule_exprs() if "alert" in r]
        self.assertGreaterEqual(len(alerts), 8)
        for rule in alerts:
            runbook = rule["annotations"].get("runbook", "")
            self.assertEqual(runbook, f"docs/OPERATIONS.md#{rule['alert'].lower()}")
            self.assertIn(runbook.split("#", 1)[1], headings,
                          f"docs/OPERATIONS.md has no section for {rule['alert']}")
            self.assertIn(rule["labels"]["severity"], ("page", "ticket"))

    def test_prometheusrule_is_generated_from_the_rules(self):
        r = subprocess.run([sys.executable, str(ROOT / "deploy" / "prometheus" /
                                                "make-prometheusrule.py"), "--check"],
                           capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        generated = yaml.safe_load((ROOT / "deploy" / "k8s" / "components" / "monitoring" /
                                    "prometheusrule.yaml").read_text(encoding="utf-8"))
        self.assertEqual(generated["spec"]["groups"],
                         yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"])


if __name__ == "__main__":
    unittest.main()
