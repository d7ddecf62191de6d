"""The documents service's tables beside its event store: the case files and the documents issued."""

MIGRATIONS = [
    (
        "documents-0001-case-files",
        """
        -- The case file: every consumed event of a case, kept as it came (insert-only, one
        -- row per event), folded when a document is issued or the case file is read.
        CREATE TABLE documents_case_events (
            case_id         text NOT NULL,
            event_id        uuid NOT NULL,
            center_id       text NOT NULL,
            source          text NOT NULL,
            event_type      text NOT NULL,
            stream_version  integer NOT NULL,
            occurred_at     timestamptz NOT NULL,
            data            jsonb NOT NULL,
            PRIMARY KEY (case_id, event_id)
        );

        -- One row per center, year and kind, bumped in the issuing transaction: a number is
        -- taken only if the document is issued, so a register has no gaps or duplicates.
        CREATE TABLE documents_numbers (
            center_id    text NOT NULL,
            year         integer NOT NULL,
            kind         text NOT NULL,
            last_number  integer NOT NULL,
            PRIMARY KEY (center_id, year, kind)
        );

        -- The documents issued: what was printed (`content`, rendered again byte for byte on
        -- every download) and the SHA-256 of its PDF, as in the `DocumentIssued` event.
        CREATE TABLE documents_issued (
            document_id  uuid PRIMARY KEY,
            case_id      text NOT NULL,
            center_id    text NOT NULL,
            kind         text NOT NULL,
            number       text NOT NULL UNIQUE,
            issued_at    timestamptz NOT NULL,
            actor        jsonb NOT NULL,
            pdf_sha256   text NOT NULL,
            content      jsonb NOT NULL
        );
        CREATE INDEX documents_issued_by_case ON documents_issued (case_id, issued_at);
        """,
    ),
]
