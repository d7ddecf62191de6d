"""`tiaojie simulate --from` back-fills a past period through the running intake and
mediation, moving their clock day by day: every step says when it happened
(`occurred_at`, a session's `held_at`), within the bounds the services enforce
(DOMAIN.md "Time rules"), so none is refused for its time.

The module works in databases and a broker vhost of its own: it moves the services' clock.
"""

import json
from datetime import UTC, datetime, timedelta

import psycopg2

from services.common.config import database_url
from tests import support
from tests.integration.test_calendar_services import district

CENTER = "huaguangjie"


def test_a_backfill_dates_each_step_when_it_happened_and_none_is_refused_for_its_time(infrastructure, tmp_path):
    with district(tmp_path, "simulate") as running:
        tokens = tmp_path / "tokens.json"
        tokens.write_text(json.dumps({"centers": {CENTER: running.token}}))
        start = (datetime.now(UTC) - timedelta(days=25)).date()
        done = support.cli(
            "simulate",
            "--from",
            start.isoformat(),
            "--clock-file",
            running.clock_file,
            "--intake-url",
            running.process.url("intake"),
            "--mediation-url",
            running.process.url("mediation"),
            "--token-file",
            str(tokens),
            "--centers",
            CENTER,
            "--rate",
            "0",
            "--seed",
            "7",
            "--json",
            env=support.test_env(**running.env),
            timeout=600,
        )
        actions = json.loads(done.stdout.strip().splitlines()[-1])["actions"]
        assert actions["agreement"].get("done", 0) > 0 and actions["session"].get("done", 0) > 0, actions
        refused_for_time = {a: r for a, r in actions.items() if "refused_422" in r}
        assert refused_for_time == {}, refused_for_time
        conn = psycopg2.connect(database_url("mediation", running.env))
        try:
            with conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT event_type, count(*) FROM events WHERE event_type IN"
                    " ('MediatorAssigned', 'SessionHeld', 'AgreementReached', 'MediationFailed')"
                    " AND occurred_at < recorded_at - interval '1 hour' GROUP BY event_type"
                )
                backdated = dict(cur.fetchall())
                cur.execute(
                    "SELECT count(*) FROM events WHERE event_type = 'AgreementReached'"
                    " AND (data->>'signed_at')::timestamptz <> occurred_at"
                )
                (disagreeing,) = cur.fetchone()
        finally:
            conn.close()
        # keyed in at the end of each simulated day, dated when they happened that day
        assert backdated.get("SessionHeld", 0) > 0 and backdated.get("AgreementReached", 0) > 0, backdated
        assert disagreeing == 0
