#!/bin/sh
# Container entrypoint.
#   init-secrets   (compose's `init` service, as root) writes the install's secrets once into two volumes and
#                  keeps them: a value given in the environment (.env) wins, else the one already written, else
#                  a new random one. Nothing to set by hand for `docker compose up`.
#   migrate [bootstrap options]
#                  `gaby upgrade` (the public schema, then every client schema with progress, then each
#                  connector's tools) and `gaby bootstrap` (portal + first admin). Compose's `migrate` service
#                  and the Helm chart's pre-install/pre-upgrade Job run it.
#   anything else  runs as given.
# GABY_SECRETS_FILES (compose): space-separated files of NAME='value' lines that init-secrets wrote; each name the
# environment leaves empty is exported from them. Migrations run as the owner role when GABY_DB_OWNER_URL is set.
set -eu

KEYS_DIR="${GABY_KEYS_DIR:-/run/gaby/keys}"               # SECRET_KEY, GABY_MASTER_KEY, DATABASE_URL, GABY_METRICS_TOKEN
OWNER_DIR="${GABY_OWNER_KEYS_DIR:-/run/gaby/owner-keys}"   # GABY_DB_OWNER_URL; PostgreSQL's passwords

if [ "${1:-}" = "init-secrets" ]; then
    exec python - "$KEYS_DIR" "$OWNER_DIR" <<'PY'
import base64, os, pwd, secrets, shlex, sys
from pathlib import Path
from urllib.parse import quote

keys_dir, owner_dir = (Path(arg) for arg in sys.argv[1:3])
files = {"app": keys_dir / "app.env", "owner": owner_dir / "owner.env", "postgres": owner_dir / "postgres.env"}


def written(path):
    """NAME='value' lines back into a dict (the format written below)."""
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and name and not name.startswith("#"):
            found[name] = shlex.split(value)[0] if value else ""
    return found


old = {}
for path in files.values():
    old.update(written(path))


def keep(name, *given_names, new):
    """What the environment gives, else what was written before, else a new value (and say which)."""
    for given in given_names:
        if os.environ.get(given):
            return os.environ[given], f"from {given}"
    if old.get(name):
        return old[name], "kept"
    return new(), "generated"


values, origin = {}, {}
for name, given, new in (
    ("SECRET_KEY", ("GABY_SECRET_KEY", "SECRET_KEY"), lambda: secrets.token_urlsafe(64)),
    ("GABY_MASTER_KEY", ("GABY_MASTER_KEY",), lambda: base64.b64encode(os.urandom(32)).decode()),
    ("POSTGRES_PASSWORD", ("POSTGRES_PASSWORD",), lambda: secrets.token_urlsafe(32)),
    ("GABY_DB_APP_PASSWORD", ("GABY_DB_APP_PASSWORD",), lambda: secrets.token_urlsafe(32)),
    # The bearer token Prometheus sends to /metrics and the worker's metrics port (docs/operations/metrics.md).
    ("GABY_METRICS_TOKEN", ("GABY_METRICS_TOKEN",), lambda: secrets.token_urlsafe(32)),
):
    values[name], origin[name] = keep(name, *given, new=new)
MUST_BE_KEPT = ("SECRET_KEY", "GABY_MASTER_KEY", "POSTGRES_PASSWORD", "GABY_DB_APP_PASSWORD")
if old and any(origin[name] == "generated" for name in MUST_BE_KEPT):
    # A new master key could not open the stored secrets, a new database password would not match the volume.
    # (A metrics token is new on an install that predates it: nothing depends on the old one.)
    lost = ", ".join(name for name in MUST_BE_KEPT if origin[name] == "generated")
    sys.exit(f"init-secrets: {lost} missing from the files written before ({keys_dir}, {owner_dir}): restore them "
             "from your backup, or give the values in .env. Nothing was changed.")
values["DATABASE_URL"] = f"postgres://gaby_app:{quote(values['GABY_DB_APP_PASSWORD'], safe='')}@postgres:5432/gaby"
values["GABY_DB_OWNER_URL"] = f"postgres://gaby:{quote(values['POSTGRES_PASSWORD'], safe='')}@postgres:5432/gaby"
contents = {
    "app": ("SECRET_KEY", "GABY_MASTER_KEY", "DATABASE_URL", "GABY_METRICS_TOKEN"),
    "owner": ("GABY_DB_OWNER_URL",),
    "postgres": ("POSTGRES_PASSWORD", "GABY_DB_APP_PASSWORD"),
}
gaby = pwd.getpwnam(os.environ.get("GABY_SECRETS_OWNER", "gaby"))  # the image's user reads them
for key, path in files.items():
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chown(path.parent, gaby.pw_uid, gaby.pw_gid)
    path.parent.chmod(0o700)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("# Written by gaby-entrypoint init-secrets; kept across restarts. Back it up with the database.\n")
        handle.writelines(f"{name}={shlex.quote(values[name])}\n" for name in contents[key])
    os.chown(temporary, gaby.pw_uid, gaby.pw_gid)
    temporary.replace(path)
print("Secrets ready: " + ", ".join(f"{name} {how}" for name, how in origin.items()) + f" (in {keys_dir}, {owner_dir}).")
PY
fi

for file in ${GABY_SECRETS_FILES:-}; do
    if [ ! -r "$file" ]; then
        echo "gaby-entrypoint: $file is missing or unreadable; compose's init service writes it on first start." >&2
        exit 1
    fi
    # NAME='value' lines (shell-quoted by init-secrets); a name the environment already gives keeps its value.
    for name in $(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$file"); do
        eval "given=\${$name:-}"
        if [ -z "$given" ]; then
            eval "$(grep "^$name=" "$file")"
            export "${name?}"
        fi
    done
done

if [ "${1:-}" = "migrate" ]; then
    shift
    python manage.py gaby upgrade
    exec python manage.py gaby bootstrap "$@"
fi

exec "$@"
