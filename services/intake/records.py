"""Intake's records beside the event store: case-number counters and the case list.

`PostgresIntakeRecords` works on the unit of work's cursor, so a number is drawn and the
list row written in the same transaction as the case's events. `InMemoryIntakeRecords`
is the same contract for unit tests.
"""

import json


class PostgresIntakeRecords:
    def __init__(self, cursor):
        self.cursor = cursor

    def next_case_number(self, center_id, year):
        """The next running number of a center's year; the row stays locked until commit."""
        self.cursor.execute(
            "INSERT INTO intake_case_numbers (center_id, year, last_number) VALUES (%s, %s, 1)"
            " ON CONFLICT (center_id, year)"
            " DO UPDATE SET last_number = intake_case_numbers.last_number + 1"
            " RETURNING last_number",
            (center_id, year),
        )
        return self.cursor.fetchone()["last_number"]

    def case_for_recommendation(self, recommendation_id):
        """The case opened for a recommendation letter, if any; holds the letter until commit."""
        self.cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('intake:recommendation:' || %s))", (recommendation_id,)
        )
        self.cursor.execute("SELECT case_id FROM intake_cases WHERE recommendation_id = %s", (recommendation_id,))
        row = self.cursor.fetchone()
        return str(row["case_id"]) if row else None

    def save(self, case):
        self.cursor.execute(
            "INSERT INTO intake_cases (case_id, case_number, center_id, status, recommendation_id, version, summary)"
            " VALUES (%s::uuid, %s, %s, %s, %s, %s, %s::jsonb)"
            " ON CONFLICT (case_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,"
            " summary = EXCLUDED.summary, updated_at = now()",
            (
                case.case_id,
                case.case_number,
                case.center_id,
                case.status,
                case.received.get("recommendation_id"),
                case.version,
                json.dumps(case.summary(), ensure_ascii=False),
            ),
        )

    def page(self, center_id=None, status=None, page=1, page_size=50):
        """`(summaries, total)`: newest registrations first."""
        where, params = [], []
        if center_id is not None:
            where.append("center_id = %s")
            params.append(center_id)
        if status is not None:
            where.append("status = %s")
            params.append(status)
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        self.cursor.execute(f"SELECT count(*) AS total FROM intake_cases {condition}", params)
        total = self.cursor.fetchone()["total"]
        self.cursor.execute(
            f"SELECT summary FROM intake_cases {condition} ORDER BY listed DESC LIMIT %s OFFSET %s",
            params + [page_size, (page - 1) * page_size],
        )
        return [row["summary"] for row in self.cursor.fetchall()], total


class InMemoryIntakeRecords:
    def __init__(self):
        self.counters = {}
        self.cases = {}

    def next_case_number(self, center_id, year):
        self.counters[(center_id, year)] = self.counters.get((center_id, year), 0) + 1
        return self.counters[(center_id, year)]

    def case_for_recommendation(self, recommendation_id):
        for case_id, (_summary, recommendation) in self.cases.items():
            if recommendation == recommendation_id:
                return case_id
        return None

    def save(self, case):
        self.cases[case.case_id] = (json.loads(json.dumps(case.summary())), case.received.get("recommendation_id"))

    def page(self, center_id=None, status=None, page=1, page_size=50):
        matching = [
            summary
            for summary, _ in reversed(list(self.cases.values()))
            if (center_id is None or summary["center_id"] == center_id)
            and (status is None or summary["status"] == status)
        ]
        start = (page - 1) * page_size
        return matching[start : start + page_size], len(matching)
