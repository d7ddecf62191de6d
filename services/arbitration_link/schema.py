"""arbitration_link's own tables, beside its event store: case files and the referral read model."""

MIGRATIONS = [
    (
        "arbitration_link-0001-case-files-referrals",
        """
        CREATE TABLE case_files (
            case_id    text PRIMARY KEY,
            center_id  text,
            document   jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE referrals (
            referral_id         uuid PRIMARY KEY,
            case_id             text NOT NULL,
            center_id           text NOT NULL,
            type                text NOT NULL CHECK (type IN ('referral', 'review_request')),
            reason              text,
            status              text NOT NULL
                                CHECK (status IN ('pending', 'docketed', 'declined', 'confirmed', 'refused')),
            sends               integer NOT NULL DEFAULT 0,
            opened_at           timestamptz NOT NULL,
            last_sent_at        timestamptz,
            next_resend_at      timestamptz,
            answered_at         timestamptz,
            arbitration_case_no text,
            document_no         text
        );
        CREATE INDEX referrals_case_id ON referrals (case_id);
        CREATE INDEX referrals_unanswered ON referrals (next_resend_at) WHERE status = 'pending';
        """,
    ),
]
