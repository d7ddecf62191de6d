"""The metrics database: the read model tables (applied by `tiaojie setup`)."""

from .readmodel import CASES, CENTER_FACTS, REFERRALS

MIGRATIONS = [
    (
        "metrics-0001-read-model",
        ";\n".join(table.create_sql() for table in (CASES, REFERRALS, CENTER_FACTS)),
    ),
]
