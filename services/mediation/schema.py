"""The mediation service's read-model tables (applied by `tiaojie setup` after the common tables)."""

MIGRATIONS = [
    (
        "mediation-0001-read-models",
        """
        CREATE TABLE mediators (
            mediator_id          uuid PRIMARY KEY,
            center_id            text NOT NULL,
            name                 text NOT NULL,
            certificate_no       text,
            certificate_expires  date,
            certificate_expired  boolean NOT NULL DEFAULT false,
            full_time            boolean NOT NULL,
            registered_at        timestamptz NOT NULL
        );
        CREATE INDEX mediators_center ON mediators (center_id);
        CREATE INDEX mediators_certificate_due ON mediators (certificate_expires) WHERE NOT certificate_expired;

        CREATE TABLE mediations (
            case_id          text PRIMARY KEY,
            case_number      text,
            center_id        text NOT NULL,
            status           text NOT NULL,
            deadline         timestamptz NOT NULL,
            performance_due  date,
            mediator_id      uuid,
            version          integer NOT NULL,
            updated_at       timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX mediations_open_by_deadline ON mediations (deadline) WHERE status = 'mediating';
        CREATE INDEX mediations_performing_by_due ON mediations (performance_due) WHERE status = 'agreement';
        CREATE INDEX mediations_center_status ON mediations (center_id, status);

        CREATE TABLE early_withdrawals (
            case_id       text PRIMARY KEY,
            withdrawn_at  timestamptz NOT NULL
        );
        """,
    ),
    (
        # Complaints by state, filled from the complaints filed before the table existed.
        "mediation-0002-complaints",
        """
        CREATE TABLE complaints (
            complaint_id  uuid PRIMARY KEY,
            center_id     text NOT NULL,
            case_id       text,
            status        text NOT NULL,
            filed_at      timestamptz NOT NULL,
            answered_at   timestamptz,
            answered_by   jsonb,
            version       integer NOT NULL
        );
        CREATE INDEX complaints_center_status ON complaints (center_id, status);
        CREATE INDEX complaints_open_by_filing ON complaints (filed_at) WHERE status = 'open';

        INSERT INTO complaints (complaint_id, center_id, case_id, status, filed_at, version)
        SELECT (data->>'complaint_id')::uuid, COALESCE(data->>'center_id', center_id), data->>'case_id', 'open',
               COALESCE((data->>'filed_at')::timestamptz, occurred_at), stream_version
        FROM events WHERE event_type = 'ComplaintFiled'
        ON CONFLICT (complaint_id) DO NOTHING;
        """,
    ),
    (
        # An agreement the institute confirmed (`confirmed`) awaits performance as well: the
        # default sweep finds both by their due date.
        "mediation-0003-confirmed-awaits-performance",
        """
        DROP INDEX IF EXISTS mediations_performing_by_due;
        CREATE INDEX mediations_performing_by_due ON mediations (performance_due)
            WHERE status IN ('agreement', 'confirmed');
        """,
    ),
    (
        # A mediation whose agreement the institute confirmed before `confirmed` existed
        # still reads `agreement` in the read model (its stream folds to `confirmed`): the
        # case list by status and the console's lists follow the stream from here on.
        "mediation-0004-confirmed-rows",
        """
        UPDATE mediations m SET status = 'confirmed', updated_at = now()
        WHERE m.status = 'agreement' AND EXISTS (
            SELECT 1 FROM events e
            WHERE e.event_type = 'ReviewOutcomeRecorded' AND e.case_id = m.case_id
              AND e.data->>'decision' = 'confirmed'
        );
        """,
    ),
]
