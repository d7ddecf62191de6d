#!/bin/bash
# First start of PostgreSQL: one login role and one database per service, each database
# owned by its service's role and closed to every other role.
#
# Run by the postgres image from /docker-entrypoint-initdb.d on an empty data directory
# only; `tiaojie setup` then applies the migrations as each service's own role. The
# passwords come from .env (INTAKE_DB_PASSWORD, ...).
set -euo pipefail

# `keys` is the key store of personal data (docs/PRIVACY.md): a role of its own.
for service in intake mediation arbitration_link metrics console documents keys; do
    variable="${service^^}_DB_PASSWORD"
    password="${!variable:?$variable must be set (see .env.example)}"
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        --set=role="$service" --set=database="tiaojie_$service" --set=password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT ALL ON DATABASE :"database" TO :"role";
SQL
    echo "database tiaojie_$service ready for role $service"
done
