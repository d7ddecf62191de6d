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
]
