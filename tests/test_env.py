"""The typed environment helpers fail loudly, naming the variable and the fix."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core import env


def test_bool_accepts_common_spellings_and_rejects_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in [("true", True), ("1", True), ("On", True), ("false", False), ("0", False), ("", False)]:
        monkeypatch.setenv("GABY_X", value)
        assert env.env_bool("GABY_X") is expected
    monkeypatch.setenv("GABY_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="GABY_X='maybe' is not a boolean: use true or false"):
        env.env_bool("GABY_X")


def test_int_bounds_and_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GABY_N", "12")
    assert env.env_int("GABY_N", 1, minimum=1, maximum=20) == 12
    monkeypatch.setenv("GABY_N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.env_int("GABY_N", 1, minimum=1)
    monkeypatch.setenv("GABY_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env.env_int("GABY_N", 1)


def test_file_variant_is_read_and_conflicts_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("GABY_SECRET", raising=False)
    monkeypatch.setenv("GABY_SECRET_FILE", str(secret))
    assert env.env_str("GABY_SECRET") == "s3cret"
    monkeypatch.setenv("GABY_SECRET", "inline")
    with pytest.raises(ImproperlyConfigured, match="either GABY_SECRET or GABY_SECRET_FILE"):
        env.env_str("GABY_SECRET")
    monkeypatch.delenv("GABY_SECRET")
    monkeypatch.setenv("GABY_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.env_str("GABY_SECRET")


def test_required_and_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GABY_REQ", raising=False)
    with pytest.raises(ImproperlyConfigured, match="GABY_REQ is required"):
        env.env_str("GABY_REQ", required=True)
    monkeypatch.setenv("GABY_MODE", "loud")
    with pytest.raises(ImproperlyConfigured, match="not one of: quiet, normal"):
        env.env_choice("GABY_MODE", ("quiet", "normal"), "normal")


def test_database_url_parsing() -> None:
    tcp = env.parse_database_url("DATABASE_URL", "postgres://gaby:p%40ss@db.internal:5433/gaby?sslmode=require")
    assert (tcp.user, tcp.password, tcp.host, tcp.port, tcp.name) == ("gaby", "p@ss", "db.internal", "5433", "gaby")
    assert tcp.options == {"sslmode": "require"}
    sock = env.parse_database_url("DATABASE_URL", "postgresql://postgres:@/gaby?host=/srv/pg")
    assert (sock.host, sock.name, sock.options) == ("/srv/pg", "gaby", {})
    with pytest.raises(ImproperlyConfigured, match="must start with postgres://"):
        env.parse_database_url("DATABASE_URL", "mysql://x/y")
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        env.parse_database_url("DATABASE_URL", "postgres://host:5432/")


def test_redis_urls() -> None:
    assert env.check_redis_url("REDIS_URL", "redis://r:6379/0") == "redis://r:6379/0"
    assert env.celery_broker_url("unix:///var/r.sock") == "redis+socket:///var/r.sock"
    assert env.celery_broker_url("redis://r:6379/1") == "redis://r:6379/1"
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must start with redis://"):
        env.check_redis_url("REDIS_URL", "http://r")


@pytest.mark.parametrize(
    "db",
    [
        {"NAME": "gaby", "USER": "gaby", "PASSWORD": "p@ss:w/rd", "HOST": "/var/run/pg", "PORT": "5433"},
        {"NAME": "shop db", "USER": "ro", "PASSWORD": "", "HOST": "db.internal", "PORT": ""},
        {"NAME": "gaby", "USER": "gaby", "PASSWORD": "x", "HOST": "", "PORT": "5432"},
    ],
)
def test_database_url_is_the_inverse_of_parsing_one(db: dict[str, str]) -> None:
    parsed = env.parse_database_url("DATABASE_URL", env.database_url(db))
    assert (parsed.name, parsed.user, parsed.password, parsed.port) == (
        db["NAME"],
        db["USER"],
        db["PASSWORD"],
        db["PORT"],
    )
    assert parsed.host == (db["HOST"] or "localhost")
    other = env.parse_database_url("DATABASE_URL", env.database_url(db, name="gaby_eval_shop"))
    assert (other.name, other.host) == ("gaby_eval_shop", parsed.host)
