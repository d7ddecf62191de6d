"""The documents service's tables: the case files' events, the number registers, the documents issued.

`PostgresDocuments` and `InMemoryDocuments` keep the same contract
(tests/unit/test_documents_repository_contract.py runs it against both).
"""

import copy
import json

from services.common.envelope import dumps

from .domain import CaseFact


class PostgresDocuments:
    def __init__(self, cursor):
        self.cursor = cursor

    # -- the case file ------------------------------------------------------------------
    def add_fact(self, source, event):
        """Keeps one consumed event of a case; the same event twice is kept once."""
        self.cursor.execute(
            "INSERT INTO documents_case_events"
            " (case_id, event_id, center_id, source, event_type, stream_version, occurred_at, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
            (
                event.case_id,
                event.event_id,
                event.center_id,
                source,
                event.event_type,
                event.stream_version,
                event.occurred_at,
                dumps(event.data),
            ),
        )

    def facts(self, case_id):
        """(center_id, [CaseFact]) of a case, or (None, []) when nothing of it arrived yet."""
        self.cursor.execute(
            "SELECT event_id::text AS event_id, center_id, source, event_type, stream_version, occurred_at, data"
            " FROM documents_case_events WHERE case_id = %s",
            (case_id,),
        )
        rows = self.cursor.fetchall()
        if not rows:
            return None, []
        facts = [
            CaseFact(r["source"], r["event_type"], r["event_id"], r["stream_version"], r["occurred_at"], r["data"])
            for r in rows
        ]
        return rows[0]["center_id"], facts

    # -- the registers --------------------------------------------------------------------
    def next_number(self, center_id, year, kind):
        """The next running number of a center's register of one kind in one year."""
        self.cursor.execute(
            "INSERT INTO documents_numbers (center_id, year, kind, last_number) VALUES (%s, %s, %s, 1)"
            " ON CONFLICT (center_id, year, kind)"
            " DO UPDATE SET last_number = documents_numbers.last_number + 1 RETURNING last_number",
            (center_id, year, kind),
        )
        return self.cursor.fetchone()["last_number"]

    # -- the documents issued ------------------------------------------------------------
    def add_issued(self, document):
        self.cursor.execute(
            "INSERT INTO documents_issued"
            " (document_id, case_id, center_id, kind, number, issued_at, actor, pdf_sha256, content)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s::jsonb)",
            (
                document["document_id"],
                document["case_id"],
                document["center_id"],
                document["kind"],
                document["number"],
                document["issued_at"],
                json.dumps(document["actor"], ensure_ascii=False),
                document["pdf_sha256"],
                json.dumps(document["content"], ensure_ascii=False),
            ),
        )

    def issued(self, case_id):
        """The documents of a case, oldest first, without their content."""
        self.cursor.execute(
            "SELECT document_id::text AS document_id, case_id, center_id, kind, number, issued_at, actor, pdf_sha256"
            " FROM documents_issued WHERE case_id = %s ORDER BY issued_at, number",
            (case_id,),
        )
        return [dict(r) for r in self.cursor.fetchall()]

    def document(self, document_id):
        self.cursor.execute(
            "SELECT document_id::text AS document_id, case_id, center_id, kind, number, issued_at, actor,"
            " pdf_sha256, content FROM documents_issued WHERE document_id = %s",
            (document_id,),
        )
        row = self.cursor.fetchone()
        return dict(row) if row else None


class InMemoryDocuments:
    """The same tables in dicts, for the service layer's unit tests."""

    def __init__(self):
        self.case_events = {}  # (case_id, event_id) → (center_id, CaseFact)
        self.numbers = {}
        self.documents = {}

    def add_fact(self, source, event):
        key = (event.case_id, str(event.event_id))
        if key not in self.case_events:
            fact = CaseFact(
                source,
                event.event_type,
                str(event.event_id),
                event.stream_version,
                event.occurred_at,
                json.loads(dumps(event.data)),
            )
            self.case_events[key] = (event.center_id, fact)

    def facts(self, case_id):
        found = [value for (case, _), value in self.case_events.items() if case == case_id]
        if not found:
            return None, []
        return found[0][0], [fact for _, fact in found]

    def next_number(self, center_id, year, kind):
        key = (center_id, year, kind)
        self.numbers[key] = self.numbers.get(key, 0) + 1
        return self.numbers[key]

    def add_issued(self, document):
        if any(d["number"] == document["number"] for d in self.documents.values()):
            raise ValueError(f"number {document['number']} already issued")
        self.documents[str(document["document_id"])] = copy.deepcopy(
            {**document, "document_id": str(document["document_id"])}
        )

    def issued(self, case_id):
        found = [d for d in self.documents.values() if d["case_id"] == case_id]
        return [
            {k: v for k, v in d.items() if k != "content"}
            for d in sorted(found, key=lambda d: (d["issued_at"], d["number"]))
        ]

    def document(self, document_id):
        document = self.documents.get(str(document_id))
        return copy.deepcopy(document) if document else None
