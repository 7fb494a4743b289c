"""The production profile refuses unsafe configuration and passes Django's deployment checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from apps.core.env import database_url

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GABY_", "SECRET_KEY", "DJANGO_SETTINGS"))}
    base.update(DATABASE_URL=_database_url(), REDIS_URL=settings.REDIS_URL, DJANGO_SETTINGS_MODULE="gaby_site.settings")
    base.update(env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return database_url(db, name=db["NAME"].removeprefix("test_"))


def test_production_requires_a_secret_key() -> None:
    result = _run(["manage.py", "check"], GABY_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY is required in production" in result.stderr


def test_production_refuses_a_short_secret_key() -> None:
    result = _run(["manage.py", "check"], GABY_ENV="production", SECRET_KEY="short")
    assert "SECRET_KEY is too short" in result.stderr


def test_production_profile_passes_check_deploy() -> None:
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        GABY_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        GABY_BASE_DOMAIN="gaby.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_bad_value_names_the_variable() -> None:
    result = _run(["manage.py", "check"], GABY_ENV="development", GABY_PORT="eighty")
    assert result.returncode != 0
    assert "GABY_PORT='eighty' is not a whole number" in result.stderr


def test_debug_is_off_unless_asked() -> None:
    assert settings.DEBUG is False


def test_cookie_domain_spans_subdomains_only_where_browsers_allow_it() -> None:
    show = ["manage.py", "shell", "-c", "from django.conf import settings; print(settings.SESSION_COOKIE_DOMAIN)"]
    dotted = _run(show, GABY_ENV="development", GABY_BASE_DOMAIN="gaby.example.com")
    assert dotted.stdout.split()[-1] == "gaby.example.com"
    single_label = _run(show, GABY_ENV="development", GABY_BASE_DOMAIN="localhost")
    assert single_label.stdout.split()[-1] == "None"


def test_settings_start_nothing_and_say_which_url_is_missing() -> None:
    result = _run(["manage.py", "check"], GABY_ENV="development", DATABASE_URL="")
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr and "./gaby" in result.stderr


def test_the_owner_url_must_name_the_same_database() -> None:
    other = database_url(settings.DATABASES["default"], name="elsewhere")
    result = _run(["manage.py", "check"], GABY_ENV="development", GABY_DB_OWNER_URL=other)
    assert result.returncode != 0
    assert "GABY_DB_OWNER_URL must name the same database as DATABASE_URL" in result.stderr
