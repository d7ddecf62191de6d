"""Lets a role read other services' event stores, and nothing else of theirs.

The metrics service projects every store and reports how far it trails them
(`tiaojie_projection_lag_seconds`), so it reads the `events` table of intake, mediation
and arbitration_link. Intake's retention timer reads when mediation closed a case, so the
intake role reads mediation's `events` (docs/PRIVACY.md). Run by the `setup` container after
`tiaojie setup` has created the tables, as each database's owner (the `<SERVICE>_DATABASE_URL`
of the environment); the role that gets the reads is the one in the reader's
`<SERVICE>_DATABASE_URL`. Safe to run again.
"""

import os
import sys
from urllib.parse import unquote, urlsplit

import psycopg2
from psycopg2 import sql

SOURCES = ("intake", "mediation", "arbitration_link")
# Which service's role reads which stores' events.
READERS = {"metrics": SOURCES, "intake": ("mediation",)}


def grant_reads(env):
    for reader, sources in READERS.items():
        _grant(env, reader, sources)
    return 0


def _grant(env, service, sources):
    reader = unquote(urlsplit(env[f"{service.upper()}_DATABASE_URL"]).username or "")
    if not reader:
        raise ValueError(f"{service.upper()}_DATABASE_URL names no role")
    for source in sources:
        conn = psycopg2.connect(env[f"{source.upper()}_DATABASE_URL"])
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT current_database()")
                [database] = cur.fetchone()
                cur.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(database), sql.Identifier(reader)
                    )
                )
                cur.execute(sql.SQL("GRANT SELECT ON TABLE events TO {}").format(sql.Identifier(reader)))
        finally:
            conn.close()
        print(f"{reader} may read the events of {source}")


if __name__ == "__main__":
    sys.exit(grant_reads(os.environ))
