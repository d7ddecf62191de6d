"""What a person reads on the Grafana dashboards is Chinese: titles, descriptions, legends and
shown values. The metrics keep their English codes (CONTRACTS §5); the queries add a `<label>_zh`
label with `label_replace` for every code that reaches a legend, in the console's words
(tests/dashboard_words.py). tests/integration/test_metrics_service.py renders the legends with
what a real Prometheus returns for these queries."""

import json
import re
from pathlib import Path

import pytest
import yaml

from services.common.centers import load_centers
from services.metrics.collector import REFERRAL_KINDS, STAGES
from services.metrics.readmodel import OUTCOMES
from tests import dashboard_words
from tests.dashboard_words import CJK, IDENTIFIERS, PLACEHOLDER

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROMETHEUS = ROOT / "deploy" / "prometheus"

LABEL_REPLACE = re.compile(r'"(\w+_zh)", "([^"]*)", "(\w+)", "([^"]*)"\)')
# Names a description may give as they are: the tools the operators open, and the alerts'
# names as Prometheus lists them (operations dashboard).
ALERTS = {
    rule["alert"]
    for path in (PROMETHEUS / "rules").glob("*.yml")
    for group in yaml.safe_load(path.read_text())["groups"]
    for rule in group["rules"]
    if "alert" in rule
}
PROPER_NAMES = {"Prometheus", "RabbitMQ", ".dead", *ALERTS}
SERVICE_JOBS = [
    job["job_name"]
    for job in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]
    if job["job_name"] != "rabbitmq"
]
# The codes each label can carry, from the code that writes them; `false` of `demonstration`
# shows the center's name alone.
CODES = {
    "outcome": OUTCOMES,
    "stage": STAGES,
    "kind": REFERRAL_KINDS,
    "demonstration": ("true",),
    "service": SERVICE_JOBS,
}
# The console's words for each translated label (one wording across the surfaces).
WORDS = {
    "outcome_zh": dashboard_words.OUTCOMES,
    "stage_zh": dashboard_words.STAGES,
    "kind_zh": dashboard_words.REFERRAL_KINDS,
    "service_zh": dashboard_words.SERVICES,
}


def codes(label, expr):
    """The codes `label` can carry in the result of `expr`."""
    if label == "job":  # the services the query selects by their scrape job
        return re.search(r'job=~"([^"]+)"', expr).group(1).split("|")
    return CODES[label]


def dashboards():
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels():
    return [(name, panel) for name, d in dashboards().items() for panel in d["panels"]]


def targets():
    return [(name, panel, target) for name, panel in panels() for target in panel["targets"]]


def latin_left(text):
    for name in sorted(PROPER_NAMES, key=len, reverse=True):
        text = text.replace(name, "")
    return re.findall(r"[A-Za-z]+", text)


def test_the_checks_know_what_english_looks_like():
    assert latin_left("Agreements ÷ cases closed by mediation") == ["Agreements", "cases", "closed", "by", "mediation"]
    assert latin_left("每月收案数（cases received）") == ["cases", "received"]
    assert latin_left("超过 5 分钟触发告警 TiaojieConsumerLag；RabbitMQ 恢复后") == []
    assert translations('label_replace(x, "outcome_zh", "调解不成", "outcome", "failed")') == {
        "outcome_zh": ("outcome", {"failed": "调解不成"})
    }


@pytest.mark.parametrize("name", ["leadership", "operations"])
def test_the_dashboards_title_description_and_tags_are_chinese(name):
    dashboard = dashboards()[name]
    for text in (dashboard["title"], dashboard["description"], *dashboard["tags"]):
        assert CJK.search(text) and not latin_left(text), text


def test_every_panel_has_a_chinese_title_and_description_without_english():
    for name, panel in panels():
        for field in ("title", "description"):
            text = panel.get(field, "")
            assert CJK.search(text), f"{name} panel {panel['id']} has no Chinese {field}: {text!r}"
            assert not latin_left(text), f"{name} panel {panel['id']} {field} has English {latin_left(text)}: {text}"


def test_the_leadership_descriptions_state_the_plans_targets():
    described = {p["id"]: p["description"] for p in dashboards()["leadership"]["panels"]}
    assert "60%" in described[1]
    assert all(share in described[3] for share in ("60%", "80%", "95%", "2019", "2020"))
    assert "2018" in described[2]


def translations(expr):
    """{`<label>_zh`: (source label, {code regex: word})} of the query's label_replace calls."""
    found = {}
    for dst, word, src, regex in LABEL_REPLACE.findall(expr):
        found.setdefault(dst, (src, {}))[1][regex] = word
    return found


def test_every_label_a_legend_shows_is_chinese_for_every_code():
    for name, panel, target in targets():
        where = f"{name} panel {panel['id']} legend {target.get('legendFormat')!r}"
        assert target.get("legendFormat"), f"{where}: without one Grafana shows the raw series"
        literal = PLACEHOLDER.sub("", target["legendFormat"])
        assert not latin_left(literal), where
        shown = PLACEHOLDER.findall(target["legendFormat"])
        if not shown:
            assert CJK.search(literal), where
        made = translations(target["expr"])
        for label in shown:
            if label == "name":  # the center's name, Chinese in the centers' list
                continue
            if label in IDENTIFIERS:
                assert name == "operations", f"{where}: system names on the leadership's dashboard"
                continue
            assert label in made, f"{where}: {{{{{label}}}}} is not made by the query's label_replace"
            src, mapping = made[label]
            words = {}
            for code in codes(src, target["expr"]):
                matching = [word for regex, word in mapping.items() if re.fullmatch(regex, code)]
                assert matching, f"{where}: {src}={code} reaches the legend untranslated"
                words[code] = matching[-1]  # the outermost label_replace wins
                assert CJK.search(words[code]), f"{where}: {src}={code} reads {words[code]!r}"
            if label in WORDS:
                assert words == {code: WORDS[label][code] for code in words}, f"{where}: not the console's words"


def test_the_centers_names_shown_in_legends_are_chinese():
    for center in load_centers():
        assert CJK.search(center.name) and not latin_left(center.name), center.name


def test_a_services_up_or_down_reads_in_chinese():
    (panel,) = [p for name, p in panels() if any("(up{" in t["expr"] for t in p["targets"])]
    mappings = panel["fieldConfig"]["defaults"]["mappings"]
    texts = {value: option["text"] for m in mappings for value, option in m["options"].items()}
    assert texts == {"0": "未响应", "1": "正常"}


def test_the_words_cover_every_code_the_metrics_write():
    assert set(dashboard_words.OUTCOMES) == set(OUTCOMES)
    assert set(dashboard_words.STAGES) == set(STAGES)
    assert set(dashboard_words.REFERRAL_KINDS) == set(REFERRAL_KINDS)
