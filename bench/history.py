"""History by bulk SQL: realistic case lifecycles written straight into the services' event stores.

One `INSERT ... SELECT` per store, from `generate_series`, in the shape of docs/EVENTS.md:
every case is received; most are accepted (some not accepted, some withdrawn); an
accepted case is opened in mediation, assigned, has a session and ends in an agreement
(then performed, defaulted or sent for review), a failure, an expiry or a withdrawal;
failures, expiries, defaults, non-acceptances and reviews become referrals with the
arbitration link, which are sent and answered. About 7 events per case.
Rows go in in the order they happened, so positions interleave across cases.
"""

import psycopg2

from services.common.centers import load_centers

# Branch shares, in percent (deterministic per case number g).
_ACCEPTED, _NOT_ACCEPTED = 85, 93  # else withdrawn before acceptance
_AGREEMENT, _FAILED, _EXPIRED = 62, 87, 95  # else withdrawn during mediation
_PERFORMED, _DEFAULTED = 70, 80  # else a review request

_INSERT = (
    "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, case_id,"
    " center_id, occurred_at, recorded_at, correlation_id, causation_id, data)"
    " SELECT md5('{seed}:' || stream_id || ':' || stream_version)::uuid, stream_id, stream_version,"
    " event_type, 1, case_id, center_id, occurred_at, occurred_at, COALESCE(case_id, stream_id), NULL, data"
    " FROM ("
)


def _cases_cte(seed, first, last, start, days):
    centers = load_centers()
    ids = "ARRAY[" + ",".join(f"'{c.center_id}'" for c in centers) + "]"
    codes = "ARRAY[" + ",".join(f"'{c.code}'" for c in centers) + "]"
    n = len(centers)
    span = max(1, last - first + 1)
    return f"""
    WITH cases AS (
      SELECT g,
        md5('{seed}:case:' || g)::uuid::text AS case_id,
        ({ids})[1 + g % {n}] AS center_id,
        ({codes})[1 + g % {n}] || '-' || lpad(g::text, 7, '0') AS case_number,
        timestamptz '{start}' + ((g - {first})::float8 / {span} * {days}) * interval '1 day' AS received_at,
        (g * 7) % 100 AS decision, (g * 13) % 100 AS outcome, (g * 17) % 100 AS aftermath,
        (ARRAY['self','self','self','self','self','self','self','arbitration_recommendation',
               'court_entrusted','labor_inspection'])[1 + g % 10] AS source,
        (ARRAY['wages','social_insurance','labor_protection','training','contract_termination',
               'employment_relationship','work_injury','compensation','other'])[1 + (g / 3) % 9] AS category,
        CASE WHEN g % 25 = 0 THEN 12 ELSE 1 + g % 3 END AS workers,
        md5('{seed}:mediator:' || (g % {n}) || ':' || (g / {n}) % 2)::uuid::text AS mediator_id,
        md5('{seed}:referral:' || g)::uuid::text AS referral_id,
        (1000 + (g * 37) % 40000)::numeric(12, 2) AS claimed
      FROM generate_series({first}, {last}) AS g
    )"""


def _ts(expr):
    return f"to_char(({expr}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"')"


def _date(expr):
    return f"to_char(({expr}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"


def _intake_sql(cte):
    r = "received_at"
    d = f"{r} + interval '1 day'"
    deadline = _date(f"{r} + interval '15 days'")
    return (
        cte
        + f"""
    SELECT 'case-' || case_id AS stream_id, 1 AS stream_version, 'ApplicationReceived' AS event_type,
      case_id, center_id, {r} AS occurred_at, jsonb_build_object(
        'case_id', case_id, 'case_number', case_number, 'center_id', center_id, 'channel', 'walk_in',
        'source', source, 'category', category,
        'applicant', jsonb_build_object('name', '测试' || g, 'id_type', 'resident_id',
                                        'id_number', '65010219900101' || lpad((g % 10000)::text, 4, '0'),
                                        'phone', '1390000' || lpad((g % 10000)::text, 4, '0')),
        'respondent', jsonb_build_object('name', '某公司' || (g % 997), 'credit_code', '91650102MA77' || lpad((g % 1000000)::text, 6, '0')),
        'claims', jsonb_build_array(jsonb_build_object('item', 'unpaid wages', 'amount', claimed::text)),
        'claimed_total', claimed::text, 'workers_involved', workers, 'collective', workers >= 10,
        'description', 'bench history', 'received_at', {_ts(r)}, 'mediation_deadline', {deadline}) AS data
    FROM cases
    UNION ALL
    SELECT 'case-' || case_id, 2, 'CaseAccepted', case_id, center_id, {d}, jsonb_build_object(
        'case_id', case_id, 'case_number', case_number, 'center_id', center_id, 'accepted_at', {_ts(d)},
        'received_at', {_ts(r)}, 'mediation_deadline', {deadline}, 'category', category, 'source', source,
        'workers_involved', workers, 'collective', workers >= 10, 'claimed_total', claimed::text)
    FROM cases WHERE decision < {_ACCEPTED}
    UNION ALL
    SELECT 'case-' || case_id, 2, 'CaseNotAccepted', case_id, center_id, {d}, jsonb_build_object(
        'case_id', case_id, 'case_number', case_number, 'center_id', center_id,
        'reason', 'respondent refuses mediation', 'decided_at', {_ts(d)})
    FROM cases WHERE decision >= {_ACCEPTED} AND decision < {_NOT_ACCEPTED}
    UNION ALL
    SELECT 'case-' || case_id, 2, 'ApplicationWithdrawn', case_id, center_id, {d}, jsonb_build_object(
        'case_id', case_id, 'case_number', case_number, 'center_id', center_id, 'reason', 'settled',
        'withdrawn_at', {_ts(d)}, 'status_before', 'received')
    FROM cases WHERE decision >= {_NOT_ACCEPTED}
    """
    )


def _mediation_sql(cte):
    r = "received_at"
    opened = f"{r} + interval '1 day 1 minute'"
    assigned = f"{r} + interval '1 day 1 hour'"
    session = f"{r} + interval '4 days'"
    closed = f"{r} + interval '8 days'"
    expired = f"{r} + interval '15 days'"
    after = f"{r} + interval '30 days'"
    review = f"{r} + interval '10 days'"
    deadline = _ts(f"{r} + interval '15 days'")
    base = "'case_id', case_id, 'center_id', center_id"
    agreement = (
        "jsonb_build_object('terms', 'pay the wages owed', 'amount', claimed::text,"
        f" 'performance_due', {_date(after)}, 'signed_at', {_ts(closed)})"
    )
    return (
        cte
        + f""",
    mediated AS (SELECT * FROM cases WHERE decision < {_ACCEPTED})
    SELECT 'mediation-' || case_id AS stream_id, 1 AS stream_version, 'MediationOpened' AS event_type,
      case_id, center_id, {opened} AS occurred_at, jsonb_build_object({base},
        'case_number', case_number, 'received_at', {_ts(r)}, 'accepted_at', {_ts(f"{r} + interval '1 day'")},
        'deadline', {deadline}, 'category', category, 'workers_involved', workers,
        'collective', workers >= 10, 'claimed_total', claimed::text) AS data
    FROM mediated
    UNION ALL
    SELECT 'mediation-' || case_id, 2, 'MediatorAssigned', case_id, center_id, {assigned}, jsonb_build_object(
      {base}, 'mediator_id', mediator_id, 'mediator_name', '调解员' || (g % 28),
      'certificate_no', 'TJ-' || (g % 28), 'assigned_at', {_ts(assigned)})
    FROM mediated
    UNION ALL
    SELECT 'mediation-' || case_id, 3, 'SessionHeld', case_id, center_id, {session}, jsonb_build_object(
      {base}, 'held_at', {_ts(session)}, 'summary', 'parties heard')
    FROM mediated
    UNION ALL
    SELECT 'mediation-' || case_id, 4, 'AgreementReached', case_id, center_id, {closed}, jsonb_build_object(
      {base}, 'terms', 'pay the wages owed', 'amount', claimed::text, 'performance_due', {_date(after)},
      'signed_at', {_ts(closed)}, 'deadline', {deadline}, 'on_time', true, 'mediator_id', mediator_id,
      'certificate_no', 'TJ-' || (g % 28))
    FROM mediated WHERE outcome < {_AGREEMENT}
    UNION ALL
    SELECT 'mediation-' || case_id, 4, 'MediationFailed', case_id, center_id, {closed}, jsonb_build_object(
      {base}, 'reason', 'no agreement on the amount', 'failed_at', {_ts(closed)}, 'deadline', {deadline},
      'on_time', true)
    FROM mediated WHERE outcome >= {_AGREEMENT} AND outcome < {_FAILED}
    UNION ALL
    SELECT 'mediation-' || case_id, 4, 'MediationExpired', case_id, center_id, {expired}, jsonb_build_object(
      {base}, 'deadline', {deadline}, 'expired_at', {_ts(expired)})
    FROM mediated WHERE outcome >= {_FAILED} AND outcome < {_EXPIRED}
    UNION ALL
    SELECT 'mediation-' || case_id, 4, 'MediationWithdrawn', case_id, center_id, {closed}, jsonb_build_object(
      {base}, 'reason', 'settled privately', 'withdrawn_at', {_ts(closed)}, 'status_before', 'mediating')
    FROM mediated WHERE outcome >= {_EXPIRED}
    UNION ALL
    SELECT 'mediation-' || case_id, 5, 'AgreementPerformed', case_id, center_id, {after}, jsonb_build_object(
      {base}, 'performed_at', {_ts(after)})
    FROM mediated WHERE outcome < {_AGREEMENT} AND aftermath < {_PERFORMED}
    UNION ALL
    SELECT 'mediation-' || case_id, 5, 'AgreementDefaulted', case_id, center_id, {after}, jsonb_build_object(
      {base}, 'performance_due', {_date(after)}, 'defaulted_at', {_ts(after)}, 'reported', true)
    FROM mediated WHERE outcome < {_AGREEMENT} AND aftermath >= {_PERFORMED} AND aftermath < {_DEFAULTED}
    UNION ALL
    SELECT 'mediation-' || case_id, 5, 'ReviewRequested', case_id, center_id, {review}, jsonb_build_object(
      {base}, 'requested_at', {_ts(review)}, 'agreement', {agreement})
    FROM mediated WHERE outcome < {_AGREEMENT} AND aftermath >= {_DEFAULTED}
    """
    )


def _referrals_sql(cte):
    """Referral streams for the cases that leave mediation for arbitration, and review requests."""
    return (
        cte
        + f""",
    referred AS (
      SELECT *, received_at + interval '1 day' AS opened_at, 'not_accepted' AS reason, 'referral' AS kind
        FROM cases WHERE decision >= {_ACCEPTED} AND decision < {_NOT_ACCEPTED}
      UNION ALL
      SELECT *, received_at + interval '8 days', 'mediation_failed', 'referral'
        FROM cases WHERE decision < {_ACCEPTED} AND outcome >= {_AGREEMENT} AND outcome < {_FAILED}
      UNION ALL
      SELECT *, received_at + interval '15 days', 'mediation_expired', 'referral'
        FROM cases WHERE decision < {_ACCEPTED} AND outcome >= {_FAILED} AND outcome < {_EXPIRED}
      UNION ALL
      SELECT *, received_at + interval '30 days', 'agreement_defaulted', 'referral'
        FROM cases WHERE decision < {_ACCEPTED} AND outcome < {_AGREEMENT}
        AND aftermath >= {_PERFORMED} AND aftermath < {_DEFAULTED}
      UNION ALL
      SELECT *, received_at + interval '10 days', NULL, 'review_request'
        FROM cases WHERE decision < {_ACCEPTED} AND outcome < {_AGREEMENT} AND aftermath >= {_DEFAULTED}
    )
    SELECT 'referral-' || referral_id AS stream_id, 1 AS stream_version, 'ReferralOpened' AS event_type,
      case_id, center_id, opened_at AS occurred_at, jsonb_strip_nulls(jsonb_build_object(
        'referral_id', referral_id, 'case_id', case_id, 'center_id', center_id, 'type', kind,
        'reason', reason, 'opened_at', {_ts("opened_at")})) AS data
    FROM referred
    UNION ALL
    SELECT 'referral-' || referral_id, 2, 'ReferralSent', case_id, center_id,
      opened_at + interval '1 second', jsonb_build_object(
        'referral_id', referral_id, 'case_id', case_id, 'center_id', center_id, 'type', kind,
        'send_number', 1, 'sent_at', {_ts("opened_at + interval '1 second'")},
        'next_resend_at', {_ts("opened_at + interval '1 hour'")})
    FROM referred
    UNION ALL
    SELECT 'referral-' || referral_id, 3, 'ReferralDocketed', case_id, center_id,
      opened_at + interval '2 days', jsonb_build_object(
        'referral_id', referral_id, 'case_id', case_id, 'center_id', center_id,
        'arbitration_case_no', 'ARB-' || g, 'docketed_at', {_ts("opened_at + interval '2 days'")})
    FROM referred WHERE kind = 'referral'
    UNION ALL
    SELECT 'referral-' || referral_id, 3, 'ReviewDecided', case_id, center_id,
      opened_at + interval '5 days', jsonb_build_object(
        'referral_id', referral_id, 'case_id', case_id, 'center_id', center_id, 'decision', 'confirmed',
        'document_no', 'DOC-' || g, 'decided_at', {_ts("opened_at + interval '5 days'")})
    FROM referred WHERE kind = 'review_request'
    """
    )


def _mediators_sql(seed):
    """Two certified mediators per center (the ids the case lifecycles assign)."""
    centers = load_centers()
    rows = []
    for index, center in enumerate(centers):
        for k in range(2):
            rows.append(
                f"SELECT md5('{seed}:mediator:{index}:{k}')::uuid::text AS mediator_id, '{center.center_id}' AS center_id"
            )
    return (
        f"SELECT 'mediator-' || mediator_id AS stream_id, 1 AS stream_version, 'MediatorRegistered' AS event_type,"
        f" NULL::text AS case_id, center_id, timestamptz '2020-01-01' AS occurred_at, jsonb_build_object("
        f"'mediator_id', mediator_id, 'center_id', center_id, 'name', '调解员', 'certificate_no', 'TJ-' || mediator_id,"
        f" 'certificate_expires', '2099-12-31', 'full_time', true) AS data FROM ({' UNION ALL '.join(rows)}) m"
    )


def _insert(url, seed, select_sql):
    """One bulk INSERT, with the table's secondary indexes dropped before and built after
    (sorting once is far cheaper than millions of random B-tree inserts)."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL work_mem = '256MB'")
            cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'events'::regclass AND contype = 'u'"
            )
            constraints = cur.fetchall()
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = 'events' AND indexname NOT IN"
                " (SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass)"
            )
            indexes = cur.fetchall()
            for name, _ in constraints:
                cur.execute(f'ALTER TABLE events DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                cur.execute(f'DROP INDEX "{name}"')
            # No parameters: the SQL is ours, and `%` stays a modulo.
            cur.execute(
                _INSERT.format(seed=seed) + select_sql + ") AS h ORDER BY occurred_at, stream_id, stream_version"
            )
            inserted = cur.rowcount
            for name, definition in constraints:
                cur.execute(f'ALTER TABLE events ADD CONSTRAINT "{name}" {definition}')
            for _, definition in indexes:
                cur.execute(definition)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE events")
        return inserted
    finally:
        conn.close()


def fill(urls, cases, seed="bench", first=1, start="2024-01-01", days=1000):
    """Writes `cases` lifecycles into the stores of `urls` ({'intake': url, 'mediation': ...,
    'arbitration_link': ...}, any subset); returns the events written per store.

    Use another `seed` (or a disjoint `first`) for a second fill of the same stores; the
    mediators the lifecycles assign are written with the first (`first == 1`).
    """
    if not seed.isidentifier():
        raise ValueError("seed: letters, digits and _ only (it is written into the SQL)")
    last = first + cases - 1
    cte = _cases_cte(seed, first, last, start, days)
    written = {}
    if "intake" in urls:
        written["intake"] = _insert(urls["intake"], seed, _intake_sql(cte))
    if "mediation" in urls:
        sql = _mediation_sql(cte)
        if first == 1:
            sql = f"{sql} UNION ALL {_mediators_sql(seed)}"
        written["mediation"] = _insert(urls["mediation"], seed, sql)
    if "arbitration_link" in urls:
        written["arbitration_link"] = _insert(urls["arbitration_link"], seed, _referrals_sql(cte))
    return written


def events_per_case():
    """Roughly how many events one lifecycle writes across the three stores (for sizing)."""
    return 7.1
