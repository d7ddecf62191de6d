"""Sealing personal data (docs/PRIVACY.md): its cost, beside the same work without it, in one run.

- append: intake's `ApplicationReceived` with every personal field filled, one event per
  commit through the unit of work: sealed (a data key created in the key store, wrapped by
  the master key, the three persons' keys derived from it, each field AES-GCM) against the
  same append in clear.
- lifecycle: intake's service layer on the real PostgreSQL, no HTTP: register, accept,
  then read the case and its history, each step its own unit of work, as the staff API
  runs them: with the vault (seal on append, open on load, keyed search tokens) against
  without. Rounds alternate which goes first (an even number of them), so the drift of
  growing tables hits both alike. Target: within 15%.
- mediation lifecycle: mediation's service layer the same way: open (intake's acceptance
  consumed), assign, a session, the agreement, then the case and its history; sealed, its
  units of work keep the live keys between them, as the service does, and listen for their
  destruction (services/common/keystore.py).
"""

import functools
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.common.auth import Principal
from services.common.clock import SystemClock
from services.common.db import Database
from services.common.envelope import Event, NewEvent
from services.common.keystore import KEY_MIGRATIONS, PostgresKeyStore, Vault
from services.common.privacy import KEY_BYTES, MasterKey
from services.common.schema import COMMON_MIGRATIONS
from services.common.unit_of_work import UnitsOfWork
from services.intake import handlers
from services.intake.commands import DecideAcceptance, RegisterApplication
from services.intake.domain import Application, Claim
from services.intake.records import PostgresIntakeRecords
from services.intake.schema import MIGRATIONS as INTAKE_MIGRATIONS
from services.mediation import commands
from services.mediation import handlers as mediation_handlers
from services.mediation.readmodels import PostgresReadModels
from services.registry import service_migrations

from .common import Row, execute, fresh_database, median_rate, timed

APPLICANT = {
    "name": "马晓燕",
    "id_type": "resident_id",
    "id_number": "650102198506071234",
    "phone": "13912345678",
    "address": "乌鲁木齐市水磨沟区南湖北路 88 号 3 单元 502 室",
}
RESPONDENT = {
    "name": "乌鲁木齐龙盛商贸有限公司",
    "credit_code": "91650102MA7B2C3D4X",
    "legal_representative": "王建国",
    "address": "乌鲁木齐市水磨沟区七道湾路 12 号",
    "phone": "0991-4661234",
}
DESCRIPTION = "申请人自 2025 年 3 月起在被申请人处任营业员，被拖欠三个月工资，多次催要未果。"


def application():
    return Application(
        center_id="longshengjie",
        channel="walk_in",
        source="self",
        category="wages",
        applicant=dict(APPLICANT),
        respondent=dict(RESPONDENT),
        claims=(Claim("拖欠工资", Decimal("12000")),),
        workers_involved=1,
        description=DESCRIPTION,
        received_at=datetime.now(UTC),
    )


def run(sizes, log):
    count, rounds = sizes["privacy_cases"], sizes["rounds"]
    # Appends are over in a millisecond or two: a half of 300 lasted half a second, which one
    # slow flush of the disk could tilt either way. As many as the append benchmark's.
    appended = sizes["privacy_appends"]
    # An even number of rounds, at least 6: each goes first as often as second (the tables grow
    # as they run), and the median is not one round's.
    rounds = max(6, rounds + rounds % 2)
    intake_url = fresh_database("privacy_intake", COMMON_MIGRATIONS + INTAKE_MIGRATIONS)
    keys_url = fresh_database("privacy_keys", KEY_MIGRATIONS)
    database, keys = Database(intake_url), Database(keys_url)
    vault = Vault(PostgresKeyStore(keys), MasterKey(os.urandom(KEY_BYTES)))
    settings = handlers.IntakeSettings(zone=ZoneInfo("Asia/Shanghai"))
    clock = SystemClock()
    plain = UnitsOfWork(database, clock, {"records": PostgresIntakeRecords}, settings)
    sealed = UnitsOfWork(
        database,
        clock,
        {"records": functools.partial(PostgresIntakeRecords, search_token=vault.search_token)},
        settings,
        vault,
    )
    mediation_database = Database(
        fresh_database("privacy_mediation", COMMON_MIGRATIONS + service_migrations("mediation"))
    )
    mediation_settings = mediation_handlers.Settings(tz=ZoneInfo("Asia/Shanghai"), performance_grace_days=3)
    views = {"views": PostgresReadModels}
    mediation = {
        "plain": UnitsOfWork(mediation_database, clock, views, mediation_settings),
        "sealed": UnitsOfWork(mediation_database, clock, views, mediation_settings, vault),
    }
    try:
        appends = {"plain": [], "sealed": []}
        lifecycles = {"plain": [], "sealed": []}
        mediations = {"plain": [], "sealed": []}
        mediators = {name: _mediator(units) for name, units in mediation.items()}
        for round_number in range(rounds):
            order = (("plain", plain), ("sealed", sealed))
            for name, units in order if round_number % 2 == 0 else reversed(order):
                # The writes before (the other half, the earlier benchmarks' million cases) go to
                # disk now, not while this half is timed.
                execute(intake_url, "CHECKPOINT")
                seconds, _ = timed(_appends, units, appended)
                appends[name].append((appended, seconds))
                seconds, _ = timed(_lifecycles, units, count)
                lifecycles[name].append((count, seconds))
                seconds, _ = timed(_mediations, mediation[name], mediators[name], count)
                mediations[name].append((count, seconds))
            log(f"round {round_number + 1}: appends {appends}, lifecycles {lifecycles}, mediations {mediations}")
    finally:
        database.close()
        keys.close()
        mediation_database.close()
    measured = (
        ("append, 1 event per commit", appends, "events/s", "same append in clear"),
        ("intake lifecycle (register, accept, case, history)", lifecycles, "lifecycles/s", "same lifecycle in clear"),
        (
            "mediation lifecycle (open, assign, session, agreement, case, history)",
            mediations,
            "lifecycles/s",
            "same lifecycle in clear",
        ),
    )
    rows = [
        Row(
            f"personal data sealed: {what}",
            median_rate(rounds_of["sealed"]),
            unit,
            baseline,
            median_rate(rounds_of["plain"]),
            target="≥ 0.85×",
            target_ratio=0.85,
        )
        for what, rounds_of, unit, baseline in measured
    ]
    notes = [
        f"personal data sealed: {appended} appends and {count} lifecycles per round, {rounds} rounds, clear first"
        " in every other one (the tables"
        " grow as they run); sealed = data keys made ahead, AES-GCM per field, keys remembered (docs/PRIVACY.md)"
    ]
    return rows, notes


def _appends(units, count):
    for _ in range(count):
        case_id = str(uuid.uuid4())
        data = {"case_id": case_id, "applicant": APPLICANT, "respondent": RESPONDENT, "description": DESCRIPTION}
        with units() as uow:
            uow.events.append(
                f"case-{case_id}",
                0,
                [NewEvent("ApplicationReceived", data, case_id=case_id, center_id="longshengjie")],
            )


def _lifecycles(units, count):
    for _ in range(count):
        with units() as uow:
            case_id = handlers.register_application(RegisterApplication(application=application()), uow)["case_id"]
        with units() as uow:
            handlers.decide_acceptance(DecideAcceptance(actor=None, case_id=case_id, decision="accept"), uow)
        with units() as uow:
            handlers.case_view(uow, None, case_id)
        with units() as uow:
            handlers.case_history(uow, None, case_id)


READER = Principal("district", None, "bench")


def _mediator(units):
    register = commands.RegisterMediator(
        center_id="longshengjie",
        name="赵振华",
        certificate_no="新调证字2025第0101号",
        certificate_expires=date.today() + timedelta(days=365),
        full_time=True,
    )
    with units() as uow:
        return mediation_handlers.register_mediator(register, uow)["mediator_id"]


def _mediations(units, mediator_id, count):
    for _ in range(count):
        case_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        accepted = {
            "case_id": case_id,
            "center_id": "longshengjie",
            "case_number": "龙劳调〔2026〕1号",
            "received_at": now.isoformat(),
            "accepted_at": now.isoformat(),
            "category": "wages",
            "claimed_total": "12000.00",
        }
        event = Event(
            event_id=str(uuid.uuid4()),
            event_type="CaseAccepted",
            schema_version=1,
            stream_id=f"case-{case_id}",
            stream_version=2,
            case_id=case_id,
            center_id="longshengjie",
            occurred_at=now,
            recorded_at=now,
            correlation_id=None,
            causation_id=None,
            data=accepted,
        )
        with units() as uow:
            mediation_handlers.open_mediation(uow, event, 0)
        steps = (
            (mediation_handlers.assign_mediator, commands.AssignMediator(case_id=case_id, mediator_id=mediator_id)),
            (
                mediation_handlers.hold_session,
                commands.HoldSession(case_id=case_id, held_at=datetime.now(UTC), summary=DESCRIPTION),
            ),
            (
                mediation_handlers.reach_agreement,
                commands.ReachAgreement(
                    case_id=case_id,
                    terms=DESCRIPTION,
                    amount=Decimal("12000"),
                    performance_due=date.today() + timedelta(days=10),
                ),
            ),
        )
        for handler, command in steps:
            with units() as uow:
                handler(command, uow)
        with units() as uow:
            mediation_handlers.get_mediation(uow, READER, case_id)
        with units() as uow:
            mediation_handlers.mediation_history(uow, READER, case_id)
