"""Lets the metrics role read the other services' event stores, and nothing else of theirs.

The metrics service projects every store and reports how far it trails them
(`tiaojie_projection_lag_seconds`), so it reads the `events` table of intake, mediation
and arbitration_link. Run by the `setup` container after `tiaojie setup` has created the
tables, as each database's owner (the `<SERVICE>_DATABASE_URL` of the environment); the
role that gets the reads is the one in `METRICS_DATABASE_URL`. Safe to run again.
"""

import os
import sys
from urllib.parse import unquote, urlsplit

import psycopg2
from psycopg2 import sql

SOURCES = ("intake", "mediation", "arbitration_link")


def grant_reads(env):
    reader = unquote(urlsplit(env["METRICS_DATABASE_URL"]).username or "")
    if not reader:
        raise ValueError("METRICS_DATABASE_URL names no role")
    for source in SOURCES:
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
    return 0


if __name__ == "__main__":
    sys.exit(grant_reads(os.environ))
