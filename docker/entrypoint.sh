#!/bin/sh
# Container entrypoint. `migrate [bootstrap options]` migrates every schema and bootstraps the
# install (portal + first admin, whose password is printed once); anything else runs as given.
set -eu

if [ "${1:-}" = "migrate" ]; then
    shift
    # As the owner role when one is configured (GABY_DB_OWNER_URL): it grants the application role after each schema.
    database=default
    [ -n "${GABY_DB_OWNER_URL:-}" ] && database=owner
    python manage.py migrate_schemas --shared --noinput --database "$database"
    python manage.py migrate_schemas --noinput --database "$database"
    exec python manage.py gaby bootstrap "$@"
fi

exec "$@"
