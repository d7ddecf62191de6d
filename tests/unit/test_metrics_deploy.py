"""Prometheus and Grafana files: promtool checks the config and tests the rules; the
dashboards have fixed uids and point at the provisioned datasource; the alerts watch every
scraped service and read in Chinese."""

import json
import re
import subprocess
from pathlib import Path

import yaml

from tests import dashboard_words
from tests.dashboard_words import CJK

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


def alert_rules():
    return [
        rule
        for group in yaml.safe_load((PROMETHEUS / "rules" / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    ]


def service_jobs():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    return {job["job_name"] for job in config["scrape_configs"]} - {"rabbitmq"}


TEMPLATE = re.compile(r"\{\{.*?\}\}", re.S)
# What an annotation may write in Latin letters: the endpoint, the broker and the dead-letter
# suffix, as the operators find them; label values (queue, consumer, job) come from templates.
SYSTEM_NAMES = ("/metrics", "RabbitMQ", ".dead")


def test_every_alert_annotation_reads_in_chinese():
    rules = alert_rules()
    assert rules and all(rule["annotations"] for rule in rules)
    for rule in rules:
        for key, text in rule["annotations"].items():
            words = TEMPLATE.sub("", text)
            for name in SYSTEM_NAMES:
                words = words.replace(name, "")
            assert CJK.search(words), f"{rule['alert']} {key}: {text}"
            assert not re.findall(r"[A-Za-z]+", words), f"{rule['alert']} {key} has English: {text}"
            assert "humanizeDuration }}" not in text, f"{rule['alert']} {key}: durations read 16m 40s"


def test_every_scraped_service_is_watched_and_named_as_on_the_dashboards():
    rules = {rule["alert"]: rule for rule in alert_rules()}
    (watched,) = re.findall(r'up\{job=~"([^"]+)"\} == 0', rules["TiaojieServiceDown"]["expr"])
    assert set(watched.split("|")) == service_jobs() == set(dashboard_words.SERVICES)
    (panel,) = [p for p in dashboards()["operations"]["panels"] if any("(up{" in t["expr"] for t in p["targets"])]
    (shown,) = re.findall(r'up\{job=~"([^"]+)"\}', panel["targets"][0]["expr"])
    assert set(shown.split("|")) == service_jobs()
    for alert, label in (("TiaojieServiceDown", "job"), ("TiaojieRelayBacklog", "service")):
        summary = rules[alert]["annotations"]["summary"]
        for code, word in dashboard_words.SERVICES.items():
            assert f'eq $labels.{label} "{code}" }}}}{word}' in summary, (alert, code, word)
    summary = rules["TiaojieReferralsUnanswered"]["annotations"]["summary"]
    for code, word in dashboard_words.REFERRAL_KINDS.items():
        assert f'eq $labels.kind "{code}" }}}}{word}' in summary, code
    assert dashboard_words.OUTCOMES["agreement"] in rules["TiaojieCenterBelowTarget"]["annotations"]["summary"]


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
