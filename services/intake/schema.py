"""Intake's own tables beside the event store: case-number counters and the case list read model."""

MIGRATIONS = [
    (
        "intake-0001-case-numbers",
        """
        -- One row per center and year, bumped in the registering transaction: a number is
        -- taken only if the registration commits, so numbers have no gaps or duplicates.
        CREATE TABLE intake_case_numbers (
            center_id   text NOT NULL,
            year        integer NOT NULL,
            last_number integer NOT NULL,
            PRIMARY KEY (center_id, year)
        );
        """,
    ),
    (
        "intake-0002-cases",
        """
        -- The case list, written in the same unit of work as the case's events.
        CREATE TABLE intake_cases (
            case_id           uuid PRIMARY KEY,
            case_number       text NOT NULL UNIQUE,
            center_id         text NOT NULL,
            status            text NOT NULL,
            recommendation_id text UNIQUE,
            version           integer NOT NULL,
            summary           jsonb NOT NULL,
            listed            bigserial NOT NULL,
            updated_at        timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX intake_cases_by_center ON intake_cases (center_id, status, listed);
        CREATE INDEX intake_cases_by_status ON intake_cases (status, listed);
        """,
    ),
    (
        "intake-0003-case-search",
        """
        -- Search by ID number or credit code (CONTRACTS §7): matched whole, through their
        -- SHA-256, so the case list holds no id number in clear.
        ALTER TABLE intake_cases ADD COLUMN party_keys text[] NOT NULL DEFAULT '{}';
        UPDATE intake_cases c SET party_keys = ARRAY(
            SELECT encode(sha256(convert_to(upper(k), 'UTF8')), 'hex')
            FROM events e, LATERAL (VALUES (e.data #>> '{applicant,id_number}'),
                                           (e.data #>> '{respondent,credit_code}')) AS keys (k)
            WHERE e.stream_id = 'case-' || c.case_id::text AND e.event_type = 'ApplicationReceived'
              AND k IS NOT NULL AND k <> ''
        );
        CREATE INDEX intake_cases_by_party ON intake_cases USING gin (party_keys);
        """,
    ),
    (
        "intake-0004-documents-issued",
        """
        -- The documents service's DocumentIssued events of each case, shown in the case's
        -- history beside intake's own events (they carry no personal data).
        CREATE TABLE intake_documents_issued (
            event_id     uuid PRIMARY KEY,
            case_id      uuid NOT NULL,
            occurred_at  timestamptz NOT NULL,
            envelope     jsonb NOT NULL
        );
        CREATE INDEX intake_documents_issued_by_case ON intake_documents_issued (case_id, occurred_at);
        """,
    ),
    (
        "intake-0005-looks",
        """
        -- Who looked at a case's personal data, when and through which route (CONTRACTS §9,
        -- PIPL Art. 51, 55): one row per case per response that showed it.
        CREATE TABLE intake_looks (
            look_id   bigserial PRIMARY KEY,
            case_id   uuid NOT NULL,
            looked_at timestamptz NOT NULL,
            actor     jsonb NOT NULL,
            route     text NOT NULL
        );
        CREATE INDEX intake_looks_by_case ON intake_looks (case_id, look_id);
        """,
    ),
    (
        "intake-0006-retention-progress",
        """
        -- How far the retention sweep has erased what is about no case (consultations' topics):
        -- each sweep takes what was recorded after `through`, up to its own cut-off.
        CREATE TABLE intake_retention_progress (
            what     text PRIMARY KEY,
            through  timestamptz NOT NULL
        );
        """,
    ),
    (
        "intake-0007-looks-by-account",
        """
        -- The looks one person took (GET /api/v1/looks?account=): by their login, newest first.
        CREATE INDEX intake_looks_by_account ON intake_looks ((actor->>'login'), looked_at DESC)
            WHERE actor ? 'login';
        """,
    ),
]
