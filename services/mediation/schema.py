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
]
