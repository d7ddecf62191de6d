"""The metrics database: the read model tables and the reports' first figures (applied by `tiaojie setup`)."""

from .readmodel import CASES, CENTER_FACTS, REFERRALS

MIGRATIONS = [
    (
        "metrics-0001-read-model",
        ";\n".join(table.create_sql() for table in (CASES, REFERRALS, CENTER_FACTS)),
    ),
    (
        # 0001 creates the table from its current definition, hence IF NOT EXISTS
        "metrics-0002-complaint-answers",
        "ALTER TABLE metrics_center_facts ADD COLUMN IF NOT EXISTS answered_at timestamptz",
    ),
    (
        "metrics-0003-reported-periods",
        """CREATE TABLE metrics_reported_periods (
            period text NOT NULL,
            center_id text NOT NULL,
            first_produced_at timestamptz NOT NULL,
            figures jsonb NOT NULL,
            PRIMARY KEY (period, center_id)
        )""",
    ),
]
