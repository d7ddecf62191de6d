"""The retention sweep (PIPL Art. 47): erases the personal data of every case closed longer
ago than `TIAOJIE_RETENTION_YEARS`, and of every consultation recorded longer ago, and
destroys again the keys of every case erased before (a restored key store brings them
back). One mechanism, run by intake's timer and by `tiaojie privacy retention`; one sweep
at a time across every instance (an advisory lock on intake's database). docs/PRIVACY.md
"Erasure and retention"."""

import contextlib
import logging
from datetime import timedelta

import psycopg2

from services.common import privacy
from services.common.commands import decide_again
from services.events import (
    AgreementDefaulted,
    AgreementPerformed,
    ApplicationWithdrawn,
    CaseNotAccepted,
    ConsultationRecorded,
    MediationExpired,
    MediationFailed,
    MediationWithdrawn,
    ReviewOutcomeRecorded,
    WithdrawalOverruled,
)

from . import handlers

log = logging.getLogger(__name__)

LOCK = "intake:retention"

# The events after which a case is closed, by the service that records them.
CLOSING_EVENTS = {
    "intake": (CaseNotAccepted.name, ApplicationWithdrawn.name),
    "mediation": (
        MediationFailed.name,
        MediationExpired.name,
        MediationWithdrawn.name,
        AgreementPerformed.name,
        AgreementDefaulted.name,
        ReviewOutcomeRecorded.name,
    ),
}


def reason(years):
    return f"retention period of {years} years ended"


def sweep(wiring, dry_run=False, wait=True):
    """One sweep; returns what it did (`erased`: the case ids erased now), or None when
    another sweep holds the lock and `wait` is False (the timer's case: that one does it)."""
    settings = wiring.settings
    with _sweep_lock(wiring.database.url, wait) as held:
        if not held:
            return None
        cutoff = wiring.clock.now() - timedelta(days=365 * settings.retention_years)
        closed = _closed_cases(settings.closure_databases)
        with wiring.units_of_work() as uow:
            uow.cursor.execute(
                "SELECT DISTINCT case_id::text AS case_id FROM events WHERE event_type = %s", (privacy.ERASURE_EVENT,)
            )
            erased_before = {row["case_id"] for row in uow.cursor.fetchall()}
        due = sorted(case_id for case_id, at in closed.items() if at < cutoff and case_id not in erased_before)
        why = reason(settings.retention_years)
        consultations = _erase_consultations(wiring, cutoff, why, dry_run)
        destroyed_again, failed = 0, 0
        if not dry_run:
            for case_id in sorted(erased_before):
                destroyed_again += _erase(wiring, case_id, why)
            erased = []
            for case_id in due:
                if _erase(wiring, case_id, why) is not None:
                    erased.append(case_id)
            failed = len(due) - len(erased)
            due = erased
    return {
        "retention_years": settings.retention_years,
        "erased": due,
        "keys_destroyed_again": destroyed_again,
        "failed": failed,
        "consultations_erased": consultations,
        "dry_run": dry_run,
    }


def _erase_consultations(wiring, cutoff, why, dry_run):
    """Destroys the keys of the consultations recorded before `cutoff` and after the last
    sweep's cut-off (their topics: free text about no case, which may name a person); how many."""
    with wiring.units_of_work() as uow:
        cursor = uow.cursor
        cursor.execute("SELECT through FROM intake_retention_progress WHERE what = 'consultations'")
        row = cursor.fetchone()
        since = row["through"] if row else None
        cursor.execute(
            "SELECT event_type, data FROM events WHERE event_type = %s AND occurred_at < %s"
            " AND (%s::timestamptz IS NULL OR occurred_at >= %s)",
            (ConsultationRecorded.name, cutoff, since, since),
        )
        rows = cursor.fetchall()
        if dry_run:
            return len(rows)
        key_ids = privacy.case_key_ids([(row["event_type"], row["data"]) for row in rows])
        if key_ids:  # before the progress commits: a crash between the two erases them again, harmlessly
            wiring.vault.erase(key_ids, why)
        cursor.execute(
            "INSERT INTO intake_retention_progress (what, through) VALUES ('consultations', %s)"
            " ON CONFLICT (what) DO UPDATE SET through = EXCLUDED.through",
            (cutoff,),
        )
    return len(rows)


def _erase(wiring, case_id, why):
    """Erases one case (idempotent: a second erasure records nothing); the keys it destroyed,
    or None when it failed (logged, tried again on the next sweep)."""

    def attempt():
        return erase_case(wiring, case_id, why)["keys_destroyed"]

    try:
        return decide_again(attempt)
    except Exception:
        log.exception("retention erasure failed; tried again on the next sweep", extra={"case_id": case_id})
        return None


def erase_case(wiring, case_id, why):
    """Erases one case's personal data: intake's keys of it (the erasure recorded on the case),
    then those its mediation and complaints were sealed with in mediation's events, but not
    the mediators' (a mediator's name is the mediator's, not the case's: docs/PRIVACY.md)."""
    with wiring.units_of_work() as uow:
        result = handlers.erase_personal_data(uow, case_id, why)
    key_ids = privacy.case_key_ids(_mediation_events(wiring.settings.closure_databases.get("mediation"), case_id))
    if key_ids:
        result["keys_destroyed"] += wiring.vault.erase(key_ids, why)
    return result


def _mediation_events(url, case_id):
    """`(event type, data)` of every event of the case in mediation's store (none without one)."""
    if url is None:
        return []
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT event_type, data FROM events WHERE case_id = %s", (case_id,))
            return cursor.fetchall()
    finally:
        conn.close()


def _closed_cases(databases):
    """`{case_id: when it last closed}` across the services that record closing events."""
    closed = {}
    for service, types in CLOSING_EVENTS.items():
        url = databases.get(service)
        if url is None:
            continue
        conn = psycopg2.connect(url)
        try:
            with conn, conn.cursor() as cursor:
                # A withdrawal overruled by the mediation's end did not close the case
                # (docs/EVENTS.md, "One truth for withdrawal").
                cursor.execute(
                    "SELECT case_id::text, max(occurred_at) FROM events e"
                    " WHERE event_type = ANY(%s) AND case_id IS NOT NULL AND NOT EXISTS ("
                    "  SELECT 1 FROM events o WHERE o.stream_id = e.stream_id AND o.event_type = %s)"
                    " GROUP BY case_id",
                    (list(types), WithdrawalOverruled.name),
                )
                for case_id, at in cursor.fetchall():
                    closed[case_id] = max(at, closed.get(case_id, at))
        finally:
            conn.close()
    return closed


@contextlib.contextmanager
def _sweep_lock(url, wait):
    """Holds the sweep's advisory lock on a connection of its own for the whole sweep;
    yields whether it got it (always, when `wait`)."""
    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", (LOCK,))
                held = True
            else:
                cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK,))
                held = cursor.fetchone()[0]
        yield held
    finally:
        conn.close()  # releases the lock
