"""What ``./gaby run`` supervises: web, worker, beat, the IMAP IDLE listener, and the demo mail server unless
GABY_DEMO_MAIL=0 or real mail settings are given (the server itself: tests/tickets/test_demo_mail.py)."""

from __future__ import annotations

import pytest

from gaby_site import launcher


@pytest.fixture(autouse=True)
def _no_mail_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GABY_DEMO_MAIL",
        "GABY_EMAIL_HOST",
        "GABY_EMAIL_BACKEND",
        "GABY_DEMO_MAIL_IMAP_PORT",
        "GABY_DEMO_MAIL_SMTP_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_run_starts_the_demo_mail_server_and_the_idle_listener_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GABY_DEMO_MAIL_IMAP_PORT", "2143")
    mail, why_not = launcher.demo_mail()
    assert mail is not None and why_not == ""
    commands = launcher.process_commands("127.0.0.1", 8000, mail)
    assert list(commands) == ["mail", "web", "worker", "beat", "mail-listener"]
    assert commands["mail"][1:3] == ["-m", "gaby_site.demo_mail_server"]
    assert commands["mail"][-4:] == ["--imap-port", "2143", "--smtp-port", "1025"]
    assert commands["mail-listener"][-4:] == ["gaby", "listen-email", "--rescan", "30"]
    # Gaby's own outgoing mail goes to the demo SMTP server too.
    assert mail.outbound_env() == {
        "GABY_EMAIL_BACKEND": "smtp",
        "GABY_EMAIL_HOST": "127.0.0.1",
        "GABY_EMAIL_PORT": "1025",
        "GABY_EMAIL_TLS": "false",
    }


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("GABY_DEMO_MAIL", "0", "GABY_DEMO_MAIL=0"),
        ("GABY_EMAIL_HOST", "smtp.example.com", "GABY_EMAIL_HOST is set (real mail settings)"),
        ("GABY_EMAIL_BACKEND", "console", "GABY_EMAIL_BACKEND is set (real mail settings)"),
    ],
)
def test_the_demo_mail_server_stays_off_when_asked_or_when_real_mail_is_configured(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(name, value)
    mail, why_not = launcher.demo_mail()
    assert mail is None and why_not == reason
    commands = launcher.process_commands("127.0.0.1", 8000, mail)
    assert list(commands) == ["web", "worker", "beat", "mail-listener"]  # the listener serves real mailboxes too


def test_only_the_web_process_receives_the_database_owners_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GABY_DB_OWNER_URL", "postgresql://postgres:@/gaby?host=/srv/pg")
    commands = launcher.process_commands("127.0.0.1", 8000, None)
    owners = {name for name in commands if "GABY_DB_OWNER_URL" in launcher.process_env(name)}
    assert owners == {"web"}
    monkeypatch.setenv("DATABASE_URL", "postgresql://gaby_app@/gaby?host=/srv/pg")
    assert launcher.process_env("worker")["DATABASE_URL"] == "postgresql://gaby_app@/gaby?host=/srv/pg"
