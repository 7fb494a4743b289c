#!/bin/sh
# Container entrypoint. `migrate [bootstrap options]` migrates every schema and bootstraps the
# install (portal + first admin, whose password is printed once); anything else runs as given.
set -eu

if [ "${1:-}" = "migrate" ]; then
    shift
    python manage.py migrate_schemas --shared --noinput
    python manage.py migrate_schemas --noinput
    exec python manage.py gaby bootstrap "$@"
fi

exec "$@"
