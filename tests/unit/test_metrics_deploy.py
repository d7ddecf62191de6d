"""Prometheus and Grafana files: promtool checks the config and tests the rules; the
dashboards have fixed uids and point at the provisioned datasource."""

import json
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"


def promtool(*args):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_config_and_its_rule_files():
    result = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_tests_pass():
    tests = sorted(str(p) for p in (PROMETHEUS / "tests").glob("*_test.yml"))
    assert len(tests) == 2
    result = promtool("test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_and_the_broker_are_scraped_by_their_compose_names():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {
        "intake": ["intake:8001"],
        "mediation": ["mediation:8002"],
        "arbitration_link": ["arbitration_link:8003"],
        "metrics": ["metrics:8004"],
        "console": ["console:8005"],
        "documents": ["documents:8006"],
        "rabbitmq": ["rabbitmq:15692"],
    }


def dashboards():
    return {p.stem: json.loads(p.read_text()) for p in sorted((GRAFANA / "dashboards").glob("*.json"))}


def test_the_dashboards_have_fixed_uids_and_use_the_provisioned_datasource():
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    found = dashboards()
    assert {name: d["uid"] for name, d in found.items()} == {
        "leadership": "tiaojie-leadership",
        "operations": "tiaojie-operations",
    }
    for dashboard in found.values():
        assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == uid
            assert panel["targets"] and all(t["expr"] and t["datasource"]["uid"] == uid for t in panel["targets"])


def test_the_dashboard_provider_reads_the_folder_compose_mounts():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "tiaojie.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_the_leadership_dashboard_answers_the_leaderships_questions():
    exprs = " ".join(t["expr"] for p in dashboards()["leadership"]["panels"] for t in p["targets"])
    for series in (
        'tiaojie_success_rate{period="year"}',
        "tiaojie_success_rate_target",
        'demonstration="true"',
        "tiaojie_centers_meeting_target_ratio",
        "tiaojie_centers_meeting_target_goal",
        "tiaojie_cases_received_total",
        "tiaojie_cases_closed_total",
        "tiaojie_cases_open",
        "tiaojie_cases_overdue",
        "tiaojie_referrals_pending",
    ):
        assert series in exprs or series.split("{")[0] in exprs
