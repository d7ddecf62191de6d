"""Case files and the referral read model in PostgreSQL, written in the unit of work's transaction.

They are the repositories the link's bootstrap declares (`uow.case_files`,
`uow.referral_table`), so an event's effects on the case file, the referral streams and
the read model commit together with its inbox record.
"""

from services.common.envelope import dumps

from .domain import CaseFile, Referral


class CaseFiles:
    def __init__(self, cursor):
        self.cursor = cursor

    def lock(self, case_id, center_id):
        """The case's file, locked until commit: events of one case are folded one at a time."""
        self.cursor.execute(
            "INSERT INTO case_files (case_id, center_id, document) VALUES (%s, %s, %s::jsonb)"
            " ON CONFLICT (case_id) DO NOTHING",
            (case_id, center_id, dumps(CaseFile(case_id).document)),
        )
        self.cursor.execute("SELECT document FROM case_files WHERE case_id = %s FOR UPDATE", (case_id,))
        return CaseFile(case_id, self.cursor.fetchone()["document"])

    def center_of(self, case_id):
        """The center of a case the link follows, or None."""
        self.cursor.execute("SELECT center_id FROM case_files WHERE case_id = %s", (case_id,))
        row = self.cursor.fetchone()
        return row["center_id"] if row is not None else None

    def save(self, case_file):
        self.cursor.execute(
            "UPDATE case_files SET document = %s::jsonb, center_id = COALESCE(center_id, %s), updated_at = now()"
            " WHERE case_id = %s",
            (dumps(case_file.document), case_file.center_id, case_file.case_id),
        )


class ReferralTable:
    """One row per referral: what the status API lists and what the resend sweep scans."""

    def __init__(self, cursor):
        self.cursor = cursor

    def save(self, referral):
        self.cursor.execute(
            "INSERT INTO referrals (referral_id, case_id, center_id, type, reason, status, sends, opened_at,"
            " last_sent_at, next_resend_at, answered_at, arbitration_case_no, document_no)"
            " VALUES (%(referral_id)s, %(case_id)s, %(center_id)s, %(type)s, %(reason)s, %(status)s, %(sends)s,"
            " %(opened_at)s, %(last_sent_at)s, %(next_resend_at)s, %(answered_at)s, %(arbitration_case_no)s,"
            " %(document_no)s)"
            " ON CONFLICT (referral_id) DO UPDATE SET status = EXCLUDED.status, sends = EXCLUDED.sends,"
            " last_sent_at = EXCLUDED.last_sent_at, next_resend_at = EXCLUDED.next_resend_at,"
            " answered_at = EXCLUDED.answered_at, arbitration_case_no = EXCLUDED.arbitration_case_no,"
            " document_no = EXCLUDED.document_no",
            row_of(referral),
        )

    def waiting_for_case(self, case_id):
        """Referrals of the case opened and not yet sent (their case file was incomplete)."""
        self.cursor.execute(
            "SELECT referral_id FROM referrals WHERE case_id = %s AND status = 'pending' AND sends = 0"
            " ORDER BY opened_at",
            (case_id,),
        )
        return [str(r["referral_id"]) for r in self.cursor.fetchall()]

    def waiting_since(self, opened_before):
        self.cursor.execute(
            "SELECT referral_id, case_id, center_id FROM referrals"
            " WHERE status = 'pending' AND sends = 0 AND opened_at <= %s ORDER BY opened_at LIMIT 100",
            (opened_before,),
        )
        return [(str(r["referral_id"]), r["case_id"], r["center_id"]) for r in self.cursor.fetchall()]

    def find(self, events, referral_id=None, case_id=None, center_id=None, limit=200):
        """Referrals with their history, filtered by id, case and center (None: any)."""
        clauses, params = [], []
        for column, value in (("referral_id", referral_id), ("case_id", case_id), ("center_id", center_id)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        self.cursor.execute(f"SELECT * FROM referrals {where} ORDER BY opened_at DESC LIMIT %s", (*params, limit))
        rows = self.cursor.fetchall()
        return [
            referral_view(row, [history_entry(e) for e in events.load(Referral.stream_for(row["referral_id"]))])
            for row in rows
        ]

    def due(self, now):
        """Referrals sent, unanswered, whose resend time has come."""
        self.cursor.execute(
            "SELECT referral_id FROM referrals"
            " WHERE status = 'pending' AND sends > 0 AND next_resend_at <= %s ORDER BY next_resend_at LIMIT 100",
            (now,),
        )
        return [str(r["referral_id"]) for r in self.cursor.fetchall()]


def row_of(referral):
    return {
        "referral_id": referral.referral_id,
        "case_id": referral.case_id,
        "center_id": referral.center_id,
        "type": referral.type,
        "reason": referral.reason,
        "status": referral.status,
        "sends": referral.sends,
        "opened_at": referral.opened_at,
        "last_sent_at": referral.last_sent_at,
        "next_resend_at": referral.next_resend_at,
        "answered_at": referral.answered_at,
        "arbitration_case_no": referral.arbitration_case_no,
        "document_no": referral.document_no,
    }


def referral_view(row, history):
    """A referral as the status API shows it."""
    return {
        "referral_id": str(row["referral_id"]),
        "case_id": row["case_id"],
        "center_id": row["center_id"],
        "type": row["type"],
        "reason": row["reason"],
        "status": row["status"],
        "sends": row["sends"],
        "opened_at": row["opened_at"],
        "last_sent_at": row["last_sent_at"],
        "next_resend_at": row["next_resend_at"] if row["status"] == "pending" else None,
        "answered_at": row["answered_at"],
        "arbitration_case_no": row["arbitration_case_no"],
        "document_no": row["document_no"],
        "history": history,
    }


# What the history shows of each event: never the outbound message (it carries personal data).
_HIDDEN_IN_HISTORY = ("message", "referral_id", "case_id", "center_id")


def history_entry(event):
    return {
        "event_type": event.event_type,
        "stream_version": event.stream_version,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        **{k: v for k, v in event.data.items() if k not in _HIDDEN_IN_HISTORY},
    }
