"""docker/compose.yaml starts with one command: it passes the compose-spec schema, asks for no variable, and its
init step (docker/entrypoint.sh init-secrets, run here with the real sh and Python, no Docker) writes the secrets
once, keeps them, lets .env win, and refuses to mint a new master key for an install that had one."""

from __future__ import annotations

import base64
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from apps.agent.evals.corpus import CORPUS_DIR, HELDOUT_DIR
from apps.agent.evals.hostile import SERVER as HOSTILE_SERVER
from tests.test_docker_image import copied

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yaml"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
VENV_BIN = Path(sys.executable).parent
GABY_IMAGE_SERVICES = {"init", "migrate", "web", "worker", "beat", "mail-listener"}


def check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with the compose-spec schema it vendors (no network)."""
    return subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_compose_file_passes_the_compose_spec_schema() -> None:
    result = check_compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_broken_file(tmp_path: Path) -> None:
    broken = compose()
    broken["services"]["web"]["depends_on"] = {"migrate": {"condition": "when_it_feels_like_it"}}
    broken["services"]["worker"]["restart_policy"] = "always"
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = check_compose_schema(path)
    assert result.returncode != 0
    assert "when_it_feels_like_it" in result.stdout and "restart_policy" in result.stdout


def test_nothing_must_be_set_before_up() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert re.findall(r"\$\{[A-Za-z_]+:?\?", text) == []  # no ${VAR:?...}: compose would refuse to start


def test_every_gaby_process_waits_for_the_secrets_and_only_web_and_migrate_get_the_owner_role() -> None:
    services = compose()["services"]
    assert set(services) >= GABY_IMAGE_SERVICES
    assert services["init"]["command"] == ["init-secrets"] and services["init"]["user"] == "root"
    assert services["postgres"]["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    assert "/run/gaby/owner-keys/postgres.env" in services["postgres"]["entrypoint"][2]
    for name in GABY_IMAGE_SERVICES - {"init"}:
        service = services[name]
        files = service["environment"]["GABY_SECRETS_FILES"].split()
        mounts = [volume.split(":")[0] for volume in service["volumes"]]
        assert "/run/gaby/keys/app.env" in files and "keys" in mounts
        owner = name in ("web", "migrate")
        assert ("/run/gaby/owner-keys/owner.env" in files) is owner, name
        assert ("owner-keys" in mounts) is owner, name
        upstream = service["depends_on"]
        assert "migrate" in upstream if name != "migrate" else "postgres" in upstream
    assert services["mail-listener"]["command"][2:4] == ["gaby", "listen-email"]


def run_entrypoint(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "GABY_KEYS_DIR": str(tmp_path / "keys"),
        "GABY_OWNER_KEYS_DIR": str(tmp_path / "owner-keys"),
        "GABY_SECRETS_OWNER": subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip(),
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=base | (env or {}), capture_output=True, text=True, timeout=60
    )


def read_env(path: Path) -> dict[str, str]:
    """What ``sh`` sees after sourcing the file (as the postgres service does)."""
    script = f"set -a; . {shlex.quote(str(path))}; env -0"
    output = subprocess.run(["sh", "-c", script], env={}, capture_output=True, text=True, check=True).stdout
    return dict(item.split("=", 1) for item in output.split("\0") if "=" in item)


def test_init_secrets_generates_once_then_keeps_and_env_wins(tmp_path: Path) -> None:
    first = run_entrypoint(tmp_path, "init-secrets")
    assert first.returncode == 0, first.stderr
    assert "GABY_MASTER_KEY generated" in first.stdout
    app = read_env(tmp_path / "keys" / "app.env")
    postgres = read_env(tmp_path / "owner-keys" / "postgres.env")
    owner = read_env(tmp_path / "owner-keys" / "owner.env")
    assert len(app["SECRET_KEY"]) >= 50
    assert len(base64.b64decode(app["GABY_MASTER_KEY"], validate=True)) == 32
    assert app["DATABASE_URL"] == f"postgres://gaby_app:{postgres['GABY_DB_APP_PASSWORD']}@postgres:5432/gaby"
    assert owner["GABY_DB_OWNER_URL"] == f"postgres://gaby:{postgres['POSTGRES_PASSWORD']}@postgres:5432/gaby"
    assert oct((tmp_path / "keys" / "app.env").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "keys").stat().st_mode & 0o777) == "0o700"

    again = run_entrypoint(tmp_path, "init-secrets")
    assert again.returncode == 0 and "generated" not in again.stdout
    assert read_env(tmp_path / "keys" / "app.env") == app

    # A password set in .env wins, quoted for the shell and escaped in the URL.
    given = run_entrypoint(tmp_path, "init-secrets", env={"POSTGRES_PASSWORD": "it's a $ecret/#1"})
    assert "POSTGRES_PASSWORD from POSTGRES_PASSWORD" in given.stdout
    assert read_env(tmp_path / "owner-keys" / "postgres.env")["POSTGRES_PASSWORD"] == "it's a $ecret/#1"
    assert read_env(tmp_path / "owner-keys" / "owner.env")["GABY_DB_OWNER_URL"] == (
        "postgres://gaby:it%27s%20a%20%24ecret%2F%231@postgres:5432/gaby"
    )
    assert read_env(tmp_path / "keys" / "app.env")["GABY_MASTER_KEY"] == app["GABY_MASTER_KEY"]


def test_init_secrets_never_mints_a_new_master_key_for_an_existing_install(tmp_path: Path) -> None:
    assert run_entrypoint(tmp_path, "init-secrets").returncode == 0
    app_env = tmp_path / "keys" / "app.env"
    before = app_env.read_text()
    app_env.write_text("".join(line for line in before.splitlines(True) if not line.startswith("GABY_MASTER_KEY")))
    refused = run_entrypoint(tmp_path, "init-secrets")
    assert refused.returncode != 0
    assert "GABY_MASTER_KEY missing from the files written before" in refused.stderr
    assert "GABY_MASTER_KEY" not in app_env.read_text()  # nothing was changed


def test_processes_read_the_files_but_keep_what_the_environment_gives(tmp_path: Path) -> None:
    assert run_entrypoint(tmp_path, "init-secrets").returncode == 0
    files = f"{tmp_path / 'keys' / 'app.env'} {tmp_path / 'owner-keys' / 'owner.env'}"
    shown = run_entrypoint(tmp_path, "env", env={"GABY_SECRETS_FILES": files, "SECRET_KEY": "from-dotenv"})
    seen = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
    written = read_env(tmp_path / "keys" / "app.env")
    assert seen["SECRET_KEY"] == "from-dotenv"
    assert seen["GABY_MASTER_KEY"] == written["GABY_MASTER_KEY"]
    assert seen["GABY_DB_OWNER_URL"].startswith("postgres://gaby:")
    missing = run_entrypoint(tmp_path, "env", env={"GABY_SECRETS_FILES": str(tmp_path / "nope.env")})
    assert missing.returncode == 1 and "init service writes it on first start" in missing.stderr


@pytest.mark.parametrize("path", [CORPUS_DIR, HELDOUT_DIR, HOSTILE_SERVER, ROOT / "sandbox" / "keycloak.py"])
def test_the_image_holds_what_gaby_eval_reads(path: Path) -> None:
    """The corpus, the held-out split, the hostile MCP server and the vendor stand-ins are under copied paths."""
    assert path.exists()
    assert path.relative_to(ROOT).parts[0] in copied()


def test_web_and_worker_keep_their_counters_in_a_fresh_directory_and_the_worker_serves_its_own() -> None:
    services = compose()["services"]
    for name in ("web", "worker"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/run/gaby/metrics", name
        assert services[name]["tmpfs"] == ["/run/gaby/metrics"], name  # new at each container start: no stale file
    assert services["worker"]["environment"]["GABY_WORKER_METRICS_PORT"] == "9808"
    assert "127.0.0.1:9808:9808" in services["worker"]["ports"]
    assert "--concurrency $${GABY_WORKER_CONCURRENCY:-2}" in services["worker"]["command"][2]


def test_init_secrets_writes_a_metrics_token_and_gives_one_to_an_install_that_predates_it(tmp_path: Path) -> None:
    assert run_entrypoint(tmp_path, "init-secrets").returncode == 0
    app_env = tmp_path / "keys" / "app.env"
    token = read_env(app_env)["GABY_METRICS_TOKEN"]
    assert len(token) >= 40
    assert run_entrypoint(tmp_path, "init-secrets").returncode == 0
    assert read_env(app_env)["GABY_METRICS_TOKEN"] == token  # kept
    # An install whose files were written before the token existed gets one, and keeps every other secret.
    before = read_env(app_env)
    app_env.write_text("".join(line for line in app_env.read_text().splitlines(True) if "METRICS" not in line))
    upgraded = run_entrypoint(tmp_path, "init-secrets")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "GABY_METRICS_TOKEN generated" in upgraded.stdout
    after = read_env(app_env)
    assert after["GABY_METRICS_TOKEN"] != token
    assert {k: v for k, v in after.items() if k != "GABY_METRICS_TOKEN"} == {
        k: v for k, v in before.items() if k != "GABY_METRICS_TOKEN"
    }
