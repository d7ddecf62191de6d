"""The mediation service's read models: the roster, the mediations by status and deadline, early
withdrawals, the complaints by state.

They are written in the same unit of work as the events they follow, so they never lag.
The sweeps find their work here (indexed on deadline and due date), never by scanning
streams, and claim one row at a time with `FOR UPDATE SKIP LOCKED`, so two instances
of the service never work on the same case at once.

`PostgresReadModels` works on the unit of work's cursor; `InMemoryReadModels` keeps the
same contract in memory for the service layer's unit tests.
"""

import json

from .domain import ANSWERED, AWAITING_PERFORMANCE, MEDIATING, OPEN

PAGE_SIZE = 50

_ROSTER_COLUMNS = (
    "mediator_id::text AS mediator_id, center_id, name, certificate_no, certificate_expires,"
    " certificate_expired, full_time, registered_at"
)


def roster_row(mediator, name=None):
    """`name`: the name as the roster keeps it (sealed), by default the mediator's."""
    return {
        "mediator_id": mediator.mediator_id,
        "center_id": mediator.center_id,
        "name": mediator.name if name is None else name,
        "certificate_no": mediator.certificate_no,
        "certificate_expires": mediator.certificate_expires,
        "certificate_expired": mediator.certificate_expired,
        "full_time": mediator.full_time,
        "registered_at": mediator.registered_at,
    }


def mediation_row(mediation):
    agreement = mediation.agreement or {}
    return {
        "case_id": mediation.case_id,
        "case_number": mediation.case_number,
        "center_id": mediation.center_id,
        "status": mediation.status,
        "deadline": mediation.deadline,
        "performance_due": agreement.get("performance_due"),
        "mediator_id": mediation.mediator["mediator_id"] if mediation.mediator else None,
        "version": mediation.version,
    }


def complaint_row(complaint, answered_by=None):
    """A complaint's row: who, when and its state; never its text nor its answer (free text
    stays in the complaint's stream, where personal data is sealed)."""
    return {
        "complaint_id": complaint.complaint_id,
        "center_id": complaint.center_id,
        "case_id": complaint.case_id,
        "status": complaint.status,
        "filed_at": complaint.filed_at,
        "answered_at": complaint.answered_at,
        "answered_by": answered_by,
        "version": complaint.version,
    }


def _where(prefix="", **equal):
    """A WHERE clause of `column = value` for each value given (none: no clause), and its parameters."""
    given = {column: value for column, value in equal.items() if value}
    if not given:
        return "", []
    return "WHERE " + " AND ".join(f"{prefix}{column} = %s" for column in given), list(given.values())


def _complaint_order(row):
    """Open complaints first, the oldest first (the most pressing); then the latest answered."""
    if row["status"] == OPEN:
        return (0, row["filed_at"].timestamp(), row["complaint_id"])
    return (1, -row["answered_at"].timestamp(), row["complaint_id"])


class PostgresReadModels:
    def __init__(self, cursor):
        self.cursor = cursor

    # -- the roster ---------------------------------------------------------------------
    def save_mediator(self, mediator, name=None):
        row = roster_row(mediator, name)
        self.cursor.execute(
            "INSERT INTO mediators (mediator_id, center_id, name, certificate_no, certificate_expires,"
            " certificate_expired, full_time, registered_at)"
            " VALUES (%(mediator_id)s, %(center_id)s, %(name)s, %(certificate_no)s, %(certificate_expires)s,"
            " %(certificate_expired)s, %(full_time)s, %(registered_at)s)"
            " ON CONFLICT (mediator_id) DO UPDATE SET certificate_no = EXCLUDED.certificate_no,"
            " certificate_expires = EXCLUDED.certificate_expires,"
            " certificate_expired = EXCLUDED.certificate_expired",
            row,
        )

    def lock_mediator(self, mediator_id):
        """Takes the mediator's row lock before its stream is read (as the certificate sweep does)."""
        self.cursor.execute("SELECT 1 FROM mediators WHERE mediator_id = %s FOR UPDATE", (mediator_id,))

    def roster(self, center_id=None):
        where, params = ("WHERE center_id = %s", (center_id,)) if center_id else ("", ())
        self.cursor.execute(
            f"SELECT {_ROSTER_COLUMNS} FROM mediators {where} ORDER BY center_id, registered_at, mediator_id",
            params,
        )
        return [dict(r) for r in self.cursor.fetchall()]

    def next_certificate_to_expire(self, today, skip=()):
        """A mediator whose certificate's last valid day is before `today` and not yet marked, claimed."""
        self.cursor.execute(
            "SELECT mediator_id::text AS mediator_id FROM mediators"
            " WHERE NOT certificate_expired AND certificate_expires < %s AND NOT (mediator_id::text = ANY(%s))"
            " ORDER BY certificate_expires LIMIT 1 FOR UPDATE SKIP LOCKED",
            (today, list(skip)),
        )
        row = self.cursor.fetchone()
        return row["mediator_id"] if row else None

    # -- mediations ---------------------------------------------------------------------
    def lock_mediation(self, case_id):
        """Takes the case's row lock before its stream is read, so commands and sweeps on one case queue up."""
        self.cursor.execute("SELECT case_id FROM mediations WHERE case_id = %s FOR UPDATE", (case_id,))
        return self.cursor.fetchone() is not None

    def save_mediation(self, mediation):
        self.cursor.execute(
            "INSERT INTO mediations (case_id, case_number, center_id, status, deadline, performance_due,"
            " mediator_id, version, updated_at)"
            " VALUES (%(case_id)s, %(case_number)s, %(center_id)s, %(status)s, %(deadline)s,"
            " %(performance_due)s, %(mediator_id)s, %(version)s, now())"
            " ON CONFLICT (case_id) DO UPDATE SET status = EXCLUDED.status, deadline = EXCLUDED.deadline,"
            " performance_due = EXCLUDED.performance_due, mediator_id = EXCLUDED.mediator_id,"
            " version = EXCLUDED.version, updated_at = now()",
            mediation_row(mediation),
        )

    def next_overdue(self, now, skip=()):
        """An open mediation whose deadline is at or before `now`, claimed for this transaction
        (the sweep asks with its clock less the grace for late entries)."""
        self.cursor.execute(
            "SELECT case_id FROM mediations WHERE status = %s AND deadline <= %s AND NOT (case_id = ANY(%s))"
            " ORDER BY deadline LIMIT 1 FOR UPDATE SKIP LOCKED",
            (MEDIATING, now, list(skip)),
        )
        row = self.cursor.fetchone()
        return row["case_id"] if row else None

    def next_unperformed(self, due_before, skip=()):
        """An agreement awaiting performance (confirmed or not; never one under review) whose due
        date is before `due_before`, claimed."""
        self.cursor.execute(
            "SELECT case_id FROM mediations WHERE status = ANY(%s) AND performance_due < %s"
            " AND NOT (case_id = ANY(%s)) ORDER BY performance_due LIMIT 1 FOR UPDATE SKIP LOCKED",
            (list(AWAITING_PERFORMANCE), due_before, list(skip)),
        )
        row = self.cursor.fetchone()
        return row["case_id"] if row else None

    def mediations(self, center_id=None, status=None, page=1):
        where, params = _where(center_id=center_id, status=status)
        self.cursor.execute(
            "SELECT case_id, case_number, center_id, status, deadline, performance_due,"
            f" mediator_id::text AS mediator_id FROM mediations {where}"
            " ORDER BY deadline, case_id LIMIT %s OFFSET %s",
            (*params, PAGE_SIZE, (page - 1) * PAGE_SIZE),
        )
        return [dict(r) for r in self.cursor.fetchall()]

    # -- complaints ---------------------------------------------------------------------
    def lock_complaint(self, complaint_id):
        """Takes the complaint's row lock before its stream is read, so two answers queue up."""
        self.cursor.execute("SELECT 1 FROM complaints WHERE complaint_id = %s FOR UPDATE", (complaint_id,))

    def save_complaint(self, complaint, answered_by=None):
        row = complaint_row(complaint, answered_by)
        row["answered_by"] = json.dumps(answered_by, ensure_ascii=False) if answered_by is not None else None
        self.cursor.execute(
            "INSERT INTO complaints (complaint_id, center_id, case_id, status, filed_at, answered_at,"
            " answered_by, version)"
            " VALUES (%(complaint_id)s, %(center_id)s, %(case_id)s, %(status)s, %(filed_at)s, %(answered_at)s,"
            " %(answered_by)s, %(version)s)"
            " ON CONFLICT (complaint_id) DO UPDATE SET status = EXCLUDED.status,"
            " answered_at = EXCLUDED.answered_at, answered_by = COALESCE(EXCLUDED.answered_by, complaints.answered_by),"
            " version = EXCLUDED.version",
            row,
        )

    def complaint(self, complaint_id):
        self.cursor.execute(f"{_COMPLAINTS} WHERE c.complaint_id = %s", (complaint_id,))
        row = self.cursor.fetchone()
        return dict(row) if row else None

    def complaints(self, center_id=None, status=None, page=1, case_id=None):
        """A page of complaints (about one case when `case_id`), open ones first (oldest first), then the
        latest answered."""
        where, params = _where("c.", center_id=center_id, status=status, case_id=case_id)
        self.cursor.execute(
            f"{_COMPLAINTS} {where} ORDER BY c.status = %s,"
            " CASE WHEN c.status = %s THEN c.filed_at END, c.answered_at DESC, c.complaint_id"
            " LIMIT %s OFFSET %s",
            (*params, ANSWERED, OPEN, PAGE_SIZE, (page - 1) * PAGE_SIZE),
        )
        return [dict(r) for r in self.cursor.fetchall()]

    def complaint_counts(self, center_id=None):
        """How many complaints are open and answered (of one center, or of all)."""
        where, params = _where(center_id=center_id)
        self.cursor.execute(f"SELECT status, count(*) AS n FROM complaints {where} GROUP BY status", params)
        found = {r["status"]: r["n"] for r in self.cursor.fetchall()}
        return {OPEN: found.get(OPEN, 0), ANSWERED: found.get(ANSWERED, 0)}

    # -- withdrawals that came before (or instead of) the acceptance ---------------------
    def record_early_withdrawal(self, case_id, withdrawn_at):
        self.cursor.execute(
            "INSERT INTO early_withdrawals (case_id, withdrawn_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (case_id, withdrawn_at),
        )

    def withdrawn_early(self, case_id):
        self.cursor.execute("SELECT 1 FROM early_withdrawals WHERE case_id = %s", (case_id,))
        return self.cursor.fetchone() is not None


_COMPLAINTS = (
    "SELECT c.complaint_id::text AS complaint_id, c.center_id, c.case_id, m.case_number, c.status, c.filed_at,"
    " c.answered_at, c.answered_by FROM complaints c LEFT JOIN mediations m ON m.case_id = c.case_id"
)


class InMemoryReadModels:
    """The same contract in memory (no locking: a unit test has one worker)."""

    def __init__(self):
        self.mediators = {}
        self.cases = {}
        self.early_withdrawals = {}
        self.complaint_rows = {}

    def save_mediator(self, mediator, name=None):
        self.mediators[mediator.mediator_id] = roster_row(mediator, name)

    def lock_mediator(self, mediator_id):
        pass

    def roster(self, center_id=None):
        rows = [r for r in self.mediators.values() if center_id in (None, r["center_id"])]
        return sorted(rows, key=lambda r: (r["center_id"], r["registered_at"], r["mediator_id"]))

    def next_certificate_to_expire(self, today, skip=()):
        due = [
            r
            for r in self.mediators.values()
            if not r["certificate_expired"]
            and r["certificate_expires"] is not None
            and r["certificate_expires"] < today
            and r["mediator_id"] not in skip
        ]
        return min(due, key=lambda r: r["certificate_expires"])["mediator_id"] if due else None

    def lock_mediation(self, case_id):
        return case_id in self.cases

    def save_mediation(self, mediation):
        self.cases[mediation.case_id] = mediation_row(mediation)

    def next_overdue(self, now, skip=()):
        due = [
            r
            for r in self.cases.values()
            if r["status"] == MEDIATING and r["deadline"] <= now and r["case_id"] not in skip
        ]
        return min(due, key=lambda r: r["deadline"])["case_id"] if due else None

    def next_unperformed(self, due_before, skip=()):
        due = [
            r
            for r in self.cases.values()
            if r["status"] in AWAITING_PERFORMANCE and r["performance_due"] < due_before and r["case_id"] not in skip
        ]
        return min(due, key=lambda r: r["performance_due"])["case_id"] if due else None

    def mediations(self, center_id=None, status=None, page=1):
        rows = sorted(
            (r for r in self.cases.values() if center_id in (None, r["center_id"]) and status in (None, r["status"])),
            key=lambda r: (r["deadline"], r["case_id"]),
        )
        return [{k: v for k, v in r.items() if k != "version"} for r in rows][(page - 1) * PAGE_SIZE : page * PAGE_SIZE]

    def lock_complaint(self, complaint_id):
        pass

    def save_complaint(self, complaint, answered_by=None):
        row = complaint_row(complaint, answered_by)
        stored = self.complaint_rows.get(complaint.complaint_id)
        if answered_by is None and stored is not None:
            row["answered_by"] = stored["answered_by"]
        self.complaint_rows[complaint.complaint_id] = row

    def complaint(self, complaint_id):
        row = self.complaint_rows.get(complaint_id)
        return self._complaint_answer(row) if row else None

    def complaints(self, center_id=None, status=None, page=1, case_id=None):
        rows = sorted(
            (
                r
                for r in self.complaint_rows.values()
                if center_id in (None, r["center_id"])
                and status in (None, r["status"])
                and case_id in (None, r["case_id"])
            ),
            key=_complaint_order,
        )
        return [self._complaint_answer(r) for r in rows][(page - 1) * PAGE_SIZE : page * PAGE_SIZE]

    def complaint_counts(self, center_id=None):
        rows = [r for r in self.complaint_rows.values() if center_id in (None, r["center_id"])]
        return {state: sum(1 for r in rows if r["status"] == state) for state in (OPEN, ANSWERED)}

    def _complaint_answer(self, row):
        case = self.cases.get(row["case_id"]) or {}
        return {**{k: v for k, v in row.items() if k != "version"}, "case_number": case.get("case_number")}

    def record_early_withdrawal(self, case_id, withdrawn_at):
        self.early_withdrawals.setdefault(case_id, withdrawn_at)

    def withdrawn_early(self, case_id):
        return case_id in self.early_withdrawals
