"""`tiaojie privacy`: erase a case's personal data, export what is held about a person,
seal what was stored before sealing began, and the retention sweep (docs/PRIVACY.md)."""

import json
import sys

import psycopg2
import psycopg2.extras

from services.common import privacy
from services.common.config import database_url, service_config
from services.common.envelope import json_default
from services.common.errors import NotFound
from services.events import LOOK_EVENTS, ReferralDeclined, ReviewDecided

from . import handlers, retention
from .bootstrap import bootstrap


def add_arguments(parser):
    sub = parser.add_subparsers(dest="privacy_command", required=True)
    erase = sub.add_parser("erase", help="destroy a case's keys: its personal data becomes unrecoverable")
    erase.add_argument("--case", required=True, metavar="CASE_ID")
    erase.add_argument("--reason", required=True)
    export = sub.add_parser("export", help="everything held about one person, as JSON (PIPL Art. 45)")
    export.add_argument("--id-number", required=True)
    sub.add_parser("migrate", help="seal the personal fields of events stored before sealing began")
    sweep = sub.add_parser("retention", help="erase the cases closed longer ago than TIAOJIE_RETENTION_YEARS")
    sweep.add_argument("--dry-run", action="store_true")


def run(args):
    wiring = bootstrap(service_config("intake"))
    command = args.privacy_command
    if command == "erase":
        return _erase(wiring, args.case, args.reason)
    if command == "export":
        return _export(wiring, args.id_number)
    if command == "migrate":
        return _migrate(wiring)
    return _retention(wiring, args.dry_run)


def _erase(wiring, case_id, reason):
    try:
        result = retention.erase_case(wiring, case_id, reason)
    except NotFound:
        print(f"no such case: {case_id}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _export(wiring, id_number):
    token = wiring.vault.search_token(id_number)
    with wiring.units_of_work() as uow:
        uow.cursor.execute(
            "SELECT case_id::text FROM intake_cases WHERE %s = ANY(party_keys) ORDER BY listed", (token,)
        )
        case_ids = [row["case_id"] for row in uow.cursor.fetchall()]
        operator, route = {"operator": "tiaojie privacy export"}, "tiaojie privacy export"
        mediation = _mediation_records(wiring.vault, case_ids)
        cases = [
            {
                "case": handlers.case_view(uow, None, case_id),
                "history": handlers.case_history(uow, None, case_id)["events"],
                "mediation": mediation.get(case_id, []),
                "documents": handlers.issued_documents(uow.records, case_id),
                "looks": uow.records.looks(case_id),
            }
            for case_id in case_ids
        ]
        handlers.record_looks(uow, operator, case_ids, route)
    exported = {"id_number": id_number, "exported_at": wiring.clock.now(), "cases": cases}
    print(json.dumps(exported, ensure_ascii=False, indent=2, default=json_default))
    return 0


def _mediation_records(vault, case_ids):
    """`{case_id: [event]}`: what mediation holds of each case (its mediation and the
    complaints about it), opened, in the order recorded; not the looks it reported."""
    if not case_ids:
        return {}
    found = {}
    conn = psycopg2.connect(database_url("mediation"))
    try:
        with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(
                "SELECT case_id, event_type, occurred_at, actor, data FROM events"
                " WHERE case_id = ANY(%s) AND NOT event_type = ANY(%s) ORDER BY position",
                (list(case_ids), sorted(LOOK_EVENTS)),
            )
            for row in cursor.fetchall():
                event = {key: row[key] for key in ("event_type", "occurred_at", "actor")}
                found.setdefault(row["case_id"], []).append({**event, "data": vault.open(row["data"])})
    except psycopg2.errors.UndefinedTable:
        return {}  # mediation is not installed here (unreachable, the export fails: it would be incomplete)
    finally:
        conn.close()
    return found


# The copies other services keep of intake's events, sealed by `migrate` where they hold a
# case's clear values: (service, table, JSON column).
COPIES = (
    ("documents", "documents_case_events", "data"),
    ("documents", "documents_issued", "content"),
    ("arbitration_link", "case_files", "document"),
    ("arbitration_link", "events", "data"),
)


def _migrate(wiring):
    """Seals, in place, every personal field stored in clear: intake's events (then its case
    list's search tokens), and the copies the documents service and the link keep of them,
    wherever a case's clear values appear in those (inside a document's sentences too). The
    one rewrite of stored events: the clear copies are what erasure could not reach."""
    vault, bound = wiring.vault, {}  # stream id -> {subject: key id}, shared by every copy of a case
    with wiring.units_of_work() as uow:
        select = "SELECT position AS id, stream_id AS owner, case_id::text AS case_id, event_type, data FROM events"
        reasons = {}  # case id -> [(clear, sealed)] of its free text other than the description
        sealed = {"intake.events": _seal_rows(uow.cursor, vault, bound, select, "events", reasons)}
        uow.cursor.execute("SELECT case_id::text FROM intake_cases")
        replacements = {}
        for row in uow.cursor.fetchall():
            case = handlers.load_case(uow, row["case_id"])
            uow.records.save(case)
            pairs = _replacements(vault, uow.events, case) + reasons.get(case.case_id, [])
            replacements[case.case_id] = sorted(pairs, key=lambda pair: -len(pair[0]))
    sealed.update(_migrate_mediation(vault, bound, replacements))
    sealed.update(_migrate_institute_reasons(vault, bound))
    for service, table, column in COPIES:
        sealed[f"{service}.{table}"] = _seal_copies(service, table, column, replacements)
    print(json.dumps({"rows_sealed": sealed}))
    return 0


def _migrate_mediation(vault, bound, replacements):
    """Seals mediation's clear events in place (its free text with the case's `text` key from
    intake, a mediator's name with the mediator's key) and the roster's names; adds each case's
    `(clear, sealed)` pairs to `replacements` for the copies of the documents service and the link."""
    try:
        conn = psycopg2.connect(database_url("mediation"))
    except psycopg2.OperationalError:
        return {}  # mediation is not installed here
    shared, cache, counts = {}, {}, {"mediation.events": 0, "mediation.mediators": 0}
    try:
        with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(
                "SELECT position, stream_id, event_type, case_id, data FROM events"
                " WHERE event_type = ANY(%s) ORDER BY position",
                (list(privacy.EVENT_FIELDS),),
            )
            rows = cursor.fetchall()
            for row in rows:  # the keys sealed values use already; a case's text key is intake's
                keys_of = bound.setdefault(row["stream_id"], {})
                found = privacy.bindings(row["data"], row["event_type"])
                keys_of.update(found)
                shared.update((s, k) for s, k in found.items() if privacy.shared_subject(s))
                case_text = bound.get(f"case-{row['case_id']}", {}).get("text")
                if case_text:
                    keys_of.setdefault("text", case_text)
            for row in rows:
                event_type, data = row["event_type"], row["data"]
                if not privacy.needs_sealing(data, event_type):
                    continue
                keys_of = bound[row["stream_id"]]
                for subject in privacy.subjects_in(data, event_type):
                    if subject in shared:
                        keys_of.setdefault(subject, shared[subject])
                sealed = vault.seal(data, keys_of, cache, event_type=event_type)
                shared.update((s, k) for s, k in keys_of.items() if privacy.shared_subject(s))
                cursor.execute(
                    "UPDATE events SET data = %s::jsonb WHERE position = %s",
                    (json.dumps(sealed, ensure_ascii=False), row["position"]),
                )
                counts["mediation.events"] += 1
                if row["case_id"]:
                    pairs = replacements.setdefault(row["case_id"], [])
                    for subject, texts in privacy.clear_values(data, event_type).items():
                        key_id = keys_of[subject]
                        pairs += [(text, _sealed_text(key_id, cache.get(key_id), text)) for text in set(texts)]
                    pairs.sort(key=lambda pair: -len(pair[0]))
            cursor.execute("SELECT mediator_id::text AS mediator_id, name FROM mediators")
            for row in cursor.fetchall():
                key_id = shared.get(f"{privacy.MEDIATOR}:{row['mediator_id']}")
                if key_id is None or not row["name"] or privacy.is_sealed(row["name"]):
                    continue
                name = _sealed_text(key_id, vault.keys([key_id], cache)[key_id], row["name"])
                cursor.execute("UPDATE mediators SET name = %s WHERE mediator_id = %s", (name, row["mediator_id"]))
                counts["mediation.mediators"] += 1
    finally:
        conn.close()
    return counts


# The institute's reasons the link records (free text about a case), and the copies the
# documents service keeps of those events: `(service, table, key of the event)`.
INSTITUTE_REASONS = (ReferralDeclined.name, ReviewDecided.name)
_REASON_ROWS = (("arbitration_link", "events", "position"), ("documents", "documents_case_events", "event_id"))


def _migrate_institute_reasons(vault, bound):
    """Seals the institute's reasons stored in clear (a declined referral's, a review's), in the
    link's events and the documents service's copies of them, whole: with the case's `text` key
    (derived from its stored key when intake's events hold no free text), as the link seals them now."""
    counts, cache = {}, {}
    for service, table, key in _REASON_ROWS:
        counts[f"{service}.{table} (institute's reasons)"] = 0
        try:
            conn = psycopg2.connect(database_url(service))
        except psycopg2.OperationalError:
            continue  # that service is not installed here
        try:
            with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                cursor.execute(
                    f"SELECT {key}::text AS id, case_id::text AS case_id, data FROM {table}"
                    " WHERE event_type = ANY(%s) AND data ? 'reason'",
                    (list(INSTITUTE_REASONS),),
                )
                for row in cursor.fetchall():
                    reason, keys_of = row["data"]["reason"], bound.get(f"case-{row['case_id']}", {})
                    key_id = keys_of.get("text") or _derived_text_key(keys_of)
                    if not reason or privacy.is_sealed(reason) or key_id is None:
                        continue
                    sealed = _sealed_text(key_id, vault.keys([key_id], cache)[key_id], reason)
                    cursor.execute(
                        f"UPDATE {table} SET data = jsonb_set(data, '{{reason}}', to_jsonb(%s::text)) WHERE {key}::text = %s",
                        (sealed, row["id"]),
                    )
                    counts[f"{service}.{table} (institute's reasons)"] += 1
        except psycopg2.errors.UndefinedTable:
            pass
        finally:
            conn.close()
    return counts


def _derived_text_key(keys_of):
    """A `text` key derived from the stored key of a case's parties (None without one)."""
    party = keys_of.get("applicant") or keys_of.get("respondent")
    return None if party is None else privacy.derived_key_id(privacy.root_key_id(party), "text")


def _sealed_text(key_id, key, text):
    """`text` sealed with the key, or `[已删除]` when the key is destroyed (an erased case)."""
    return privacy.ERASED if key is None else privacy.seal_value(key_id, key, text)


def _replacements(vault, events, case):
    """`[(clear text, sealed text)]` of one case, longest first, with the case's own keys."""
    keys_of = events.bindings(case.stream_id)
    pairs = []
    for subject, texts in privacy.clear_values(case.received).items():
        key_id = keys_of.get(subject)
        if key_id is None:
            continue
        key = vault.keys([key_id])[key_id]
        if key is not None:
            pairs += [(text, privacy.seal_value(key_id, key, text)) for text in set(texts)]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def _seal_copies(service, table, column, replacements):
    conn = psycopg2.connect(database_url(service))
    count = 0
    try:
        with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            for case_id, pairs in replacements.items():
                if not pairs:
                    continue
                cursor.execute(
                    f"SELECT ctid::text AS id, {column} AS value FROM {table} WHERE case_id = %s", (case_id,)
                )
                for row in cursor.fetchall():
                    value = privacy.replace_clear(row["value"], pairs)
                    if value != row["value"]:
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s::jsonb WHERE ctid = %s::tid",
                            (json.dumps(value, ensure_ascii=False), row["id"]),
                        )
                        count += 1
    except (psycopg2.errors.UndefinedTable, psycopg2.OperationalError):
        pass  # that service is not installed here
    finally:
        conn.close()
    return count


def _seal_rows(cursor, vault, bound, select, table, reasons):
    """Seals intake's events in place: the fields every event type has (`PERSONAL_FIELDS`) and
    those of some types (`EVENT_FIELDS`: a refusal's or a withdrawal's reason); adds to
    `reasons` (`{case id: [(clear, sealed)]}`) the latter, for the copies other services keep."""
    fields = " OR ".join(f"data ? '{field}'" for field in privacy.PERSONAL_FIELDS)
    cursor.execute(f"{select} WHERE {fields} OR event_type = ANY(%s)", (list(privacy.EVENT_FIELDS),))
    rows = cursor.fetchall()
    for row in rows:  # the keys a stream's values sealed already use
        bound.setdefault(row["owner"], {}).update(privacy.bindings(row["data"], row["event_type"]))
    count = 0
    for row in rows:
        event_type = row["event_type"]
        if not privacy.needs_sealing(row["data"], event_type):
            continue
        data = vault.seal(row["data"], bound.setdefault(row["owner"], {}), event_type=event_type)
        if row["case_id"] and event_type in privacy.EVENT_FIELDS:
            only = {path: row["data"].get(path) for path in privacy.EVENT_FIELDS[event_type]}
            pairs = privacy.sealed_pairs(only, {path: data.get(path) for path in only})
            reasons.setdefault(row["case_id"], []).extend(pairs.items())
        cursor.execute(
            f"UPDATE {table} SET data = %s::jsonb WHERE position = %s",
            (json.dumps(data, ensure_ascii=False), row["id"]),
        )
        count += 1
    return count


def _retention(wiring, dry_run):
    """The retention sweep the intake service also runs by itself (retention.py); waits for a
    sweep of a running instance to finish first."""
    print(json.dumps(retention.sweep(wiring, dry_run=dry_run, wait=True)))
    return 0
