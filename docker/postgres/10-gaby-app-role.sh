#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d): creates the
# role Gaby's web, worker and beat connect as. It owns nothing; the `migrate` job (the owner, POSTGRES_USER)
# grants it rows after every migration but only SELECT and INSERT on the audit table (tenants/db_privileges.py).
# An existing volume skips this script: create the role by hand (docs/operations/production.md).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$GABY_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE gaby_app LOGIN PASSWORD :'app_password';
SQL
