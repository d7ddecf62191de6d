"""Intake's records beside the event store: case-number counters and the case list.

`PostgresIntakeRecords` works on the unit of work's cursor, so a number is drawn and the
list row written in the same transaction as the case's events. `InMemoryIntakeRecords`
is the same contract for unit tests.
"""

import hashlib
import json
from datetime import datetime

from services.common.privacy import ERASED


def party_key(identifier):
    """Unit tests' stand-in for the vault's search token (an unkeyed SHA-256)."""
    return hashlib.sha256(identifier.strip().upper().encode("utf-8")).hexdigest()


def party_keys(case, search_token=party_key):
    """The search tokens of the case's ID number and credit code (the keyed HMAC of the vault
    in the service: an ID number cannot be guessed back from its token without the master key)."""
    received = case.received
    found = (received["applicant"].get("id_number"), received["respondent"].get("credit_code"))
    return [search_token(identifier) for identifier in found if identifier and identifier != ERASED]


class PostgresIntakeRecords:
    def __init__(self, cursor, search_token=party_key):
        self.cursor = cursor
        self.search_token = search_token

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
            "INSERT INTO intake_cases"
            " (case_id, case_number, center_id, status, recommendation_id, version, summary, party_keys)"
            " VALUES (%s::uuid, %s, %s, %s, %s, %s, %s::jsonb, %s)"
            " ON CONFLICT (case_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version,"
            " summary = EXCLUDED.summary, party_keys = EXCLUDED.party_keys, updated_at = now()",
            (
                case.case_id,
                case.case_number,
                case.center_id,
                case.status,
                case.received.get("recommendation_id"),
                case.version,
                json.dumps(case.summary(), ensure_ascii=False),
                party_keys(case, self.search_token),
            ),
        )

    def page(self, center_id=None, status=None, page=1, page_size=50, q=None, received_from=None, received_to=None):
        """`(summaries, total)`: newest registrations first.

        `q` matches a case number or an ID number / credit code whole, or part of a party's
        name; `received_from` (inclusive) and `received_to` (exclusive) are instants.
        """
        where, params = [], []
        if center_id is not None:
            where.append("center_id = %s")
            params.append(center_id)
        if status is not None:
            where.append("status = %s")
            params.append(status)
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                "(case_number = %s OR %s = ANY(party_keys)"
                " OR summary->>'applicant_name' ILIKE %s OR summary->>'respondent_name' ILIKE %s)"
            )
            params += [q, self.search_token(q), pattern, pattern]
        if received_from is not None:
            where.append("(summary->>'received_at')::timestamptz >= %s")
            params.append(received_from)
        if received_to is not None:
            where.append("(summary->>'received_at')::timestamptz < %s")
            params.append(received_to)
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        self.cursor.execute(f"SELECT count(*) AS total FROM intake_cases {condition}", params)
        total = self.cursor.fetchone()["total"]
        self.cursor.execute(
            f"SELECT summary FROM intake_cases {condition} ORDER BY listed DESC LIMIT %s OFFSET %s",
            params + [page_size, (page - 1) * page_size],
        )
        return [row["summary"] for row in self.cursor.fetchall()], total

    def record_looks(self, case_ids, actor, route, at):
        """One look per case shown: who, when, through which route. `looks` lists them in the
        order they happened: a look another service reported may arrive after later ones."""
        if case_ids:
            self.cursor.execute(
                "INSERT INTO intake_looks (case_id, looked_at, actor, route)"
                " SELECT c::uuid, %s, %s::jsonb, %s FROM unnest(%s::text[]) AS c",
                (at, json.dumps(actor, ensure_ascii=False), route, list(case_ids)),
            )

    def looks_by(self, login, center_id=None, limit=500):
        """The looks the account `login` took (at the cases of `center_id` only, unless None),
        newest first, each with its case's number."""
        self.cursor.execute(
            "SELECT l.case_id::text AS case_id, c.case_number, c.center_id, l.looked_at, l.actor, l.route"
            " FROM intake_looks l LEFT JOIN intake_cases c ON c.case_id = l.case_id"
            " WHERE l.actor ? 'login' AND l.actor->>'login' = %s AND (%s::text IS NULL OR c.center_id = %s)"
            " ORDER BY l.looked_at DESC, l.look_id DESC LIMIT %s",
            (login, center_id, center_id, limit),
        )
        return [{**row, "looked_at": row["looked_at"].isoformat()} for row in self.cursor.fetchall()]

    def looks(self, case_id):
        self.cursor.execute(
            "SELECT looked_at, actor, route FROM intake_looks WHERE case_id = %s ORDER BY looked_at, look_id",
            (case_id,),
        )
        return [
            {"looked_at": row["looked_at"].isoformat(), "actor": row["actor"], "route": row["route"]}
            for row in self.cursor.fetchall()
        ]

    def add_document_issued(self, envelope):
        """Keeps a DocumentIssued of a case for its history; the same event twice is kept once."""
        self.cursor.execute(
            "INSERT INTO intake_documents_issued (event_id, case_id, occurred_at, envelope)"
            " VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
            (envelope["event_id"], envelope["case_id"], envelope["occurred_at"], json.dumps(envelope)),
        )

    def documents_issued(self, case_id):
        self.cursor.execute(
            "SELECT envelope FROM intake_documents_issued WHERE case_id = %s ORDER BY occurred_at, event_id",
            (case_id,),
        )
        return [row["envelope"] for row in self.cursor.fetchall()]


class InMemoryIntakeRecords:
    def __init__(self, search_token=party_key):
        self.search_token = search_token
        self.counters = {}
        self.cases = {}
        self.keys = {}
        self.documents = {}
        self.seen = []

    def record_looks(self, case_ids, actor, route, at):
        self.seen += [(case_id, {"looked_at": at.isoformat(), "actor": actor, "route": route}) for case_id in case_ids]

    def looks_by(self, login, center_id=None, limit=500):
        found = []
        for case_id, look in reversed(self.seen):
            summary = self.cases.get(case_id, ({}, None))[0]
            if look["actor"].get("login") == login and center_id in (None, summary.get("center_id")):
                found.append(
                    {
                        "case_id": case_id,
                        "case_number": summary.get("case_number"),
                        "center_id": summary.get("center_id"),
                        **look,
                    }
                )
        return sorted(found, key=lambda look: datetime.fromisoformat(look["looked_at"]), reverse=True)[:limit]

    def looks(self, case_id):
        found = [look for seen, look in self.seen if seen == case_id]
        return sorted(found, key=lambda look: datetime.fromisoformat(look["looked_at"]))

    def add_document_issued(self, envelope):
        self.documents[envelope["event_id"]] = envelope

    def documents_issued(self, case_id):
        found = [e for e in self.documents.values() if e["case_id"] == case_id]
        return sorted(found, key=lambda e: (datetime.fromisoformat(e["occurred_at"]), e["event_id"]))

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
        self.keys[case.case_id] = party_keys(case, self.search_token)

    def page(self, center_id=None, status=None, page=1, page_size=50, q=None, received_from=None, received_to=None):
        def found(summary):
            if not q:
                return True
            names = (summary.get("applicant_name") or "", summary.get("respondent_name") or "")
            return (
                summary["case_number"] == q
                or self.search_token(q) in self.keys[summary["case_id"]]
                or any(q.lower() in name.lower() for name in names)
            )

        def received_within(summary):
            at = datetime.fromisoformat(summary["received_at"])
            return (received_from is None or at >= received_from) and (received_to is None or at < received_to)

        matching = [
            summary
            for summary, _ in reversed(list(self.cases.values()))
            if (center_id is None or summary["center_id"] == center_id)
            and (status is None or summary["status"] == status)
            and found(summary)
            and received_within(summary)
        ]
        start = (page - 1) * page_size
        return matching[start : start + page_size], len(matching)
