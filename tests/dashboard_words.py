"""The Chinese words the Grafana dashboards show for the metrics' label codes (CONTRACTS §5).

The metric and label names stay English codes; the dashboards' queries add a `<label>_zh`
label with `label_replace` and their legends show that. The words are the staff console's
(services/console/labels.py), so a closure reads the same on the dashboard as on the case
list; only the services' own names have no console word and are given here.
"""

import re

from services.console.labels import MEDIATION_ENDINGS, REFERRAL_TYPES, STATUSES

# How a case ended (`tiaojie_cases_closed_total{outcome}`): a mediation's ending as the console
# words it; a withdrawal (before or during mediation) and a refusal as its case list does.
OUTCOMES = {
    "agreement": MEDIATION_ENDINGS["agreement"],
    "failed": MEDIATION_ENDINGS["failed"],
    "expired": MEDIATION_ENDINGS["expired"],
    "withdrawn": STATUSES["withdrawn"],
    "not_accepted": STATUSES["not_accepted"],
}
# Where an open case stands (`tiaojie_cases_open{stage}`); `performing` is an agreement
# awaiting performance, the console's status `agreement`.
STAGES = {
    "received": STATUSES["received"],
    "mediating": STATUSES["mediating"],
    "performing": STATUSES["agreement"],
    "under_review": STATUSES["under_review"],
}
REFERRAL_KINDS = dict(REFERRAL_TYPES)  # `tiaojie_referrals_pending{kind}`
# The services (Prometheus `job`, and the `service` label of the operational metrics).
SERVICES = {
    "intake": "收案服务",
    "mediation": "调解服务",
    "arbitration_link": "仲裁衔接服务",
    "metrics": "统计服务",
    "console": "工作台",
    "documents": "文书服务",
}

# Labels whose values are the system's own names (queues, consumers, relays): the operations
# dashboard shows them as the operators find them in RabbitMQ and the logs.
IDENTIFIERS = {"queue", "consumer", "relay"}
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")  # a label in a legendFormat
CJK = re.compile(r"[\u4e00-\u9fff]")
