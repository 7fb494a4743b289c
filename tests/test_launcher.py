"""What ``./gaby run`` supervises: web, worker, beat, the IMAP IDLE listener, the demo mail server unless
GABY_DEMO_MAIL=0 or real mail settings are given (the server itself: tests/tickets/test_demo_mail.py), and the
demo's Microsoft Graph and NinjaOne stand-ins unless GABY_DEMO_STANDINS=0 (what they serve: tests/test_demo.py);
and how ``./gaby stop`` ends what a run started."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import psutil
import pytest

from gaby_site import launcher, launcher_tools, pidfiles
from gaby_site.demo_standins import DemoStandIns


@pytest.fixture(autouse=True)
def _no_mail_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GABY_DEMO_MAIL",
        "GABY_EMAIL_HOST",
        "GABY_EMAIL_BACKEND",
        "GABY_DEMO_MAIL_IMAP_PORT",
        "GABY_DEMO_MAIL_SMTP_PORT",
        "GABY_DEMO_STANDINS",
        "GABY_DEMO_GRAPH_PORT",
        "GABY_DEMO_NINJAONE_PORT",
        "GABY_OUTBOUND_ALLOW",
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


def test_run_starts_the_microsoft_graph_and_ninjaone_stand_ins_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GABY_ENV", "development")
    monkeypatch.setenv("GABY_DEMO_NINJAONE_PORT", "2190")
    standins, why_not = launcher.demo_standins()
    assert standins is not None and why_not == ""
    assert (standins.graph_url, standins.ninjaone_url) == ("https://127.0.0.1:8443", "http://127.0.0.1:2190")
    commands = launcher.standin_commands(standins)
    assert list(commands) == ["msgraph", "ninjaone"]
    assert commands["msgraph"][1:6] == ["-m", "gaby_site.demo_standins_server", "msgraph", "--port", "8443"]
    assert commands["ninjaone"][-4:] == ["--port", "2190", "--data-dir", str(standins.data_dir)]
    # The seeding and the workers (other processes) read the ports the launcher settled on.
    assert standins.env() == {"GABY_DEMO_GRAPH_PORT": "8443", "GABY_DEMO_NINJAONE_PORT": "2190"}
    # The demo clients are connected to them while the web and the worker start, as the application role.
    assert launcher.connect_command(True)[-4:] == ["gaby", "demo-standins", "connect", "--demo-mail"]
    monkeypatch.setenv("GABY_DB_OWNER_URL", "postgresql://postgres:@/gaby?host=/srv/pg")
    assert "GABY_DB_OWNER_URL" not in launcher.process_env("demo-standins")


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"GABY_ENV": "development", "GABY_DEMO_STANDINS": "0"}, "GABY_DEMO_STANDINS=0"),
        # Production's outbound-URL policy refuses loopback: the demo never loosens it by itself.
        ({"GABY_ENV": "production"}, "the outbound-URL policy refuses loopback addresses in production"),
    ],
)
def test_the_stand_ins_stay_off_when_asked_or_when_the_outbound_policy_refuses_loopback(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], reason: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    standins, why_not = launcher.demo_standins()
    assert standins is None and why_not.startswith(reason)
    monkeypatch.setenv("GABY_OUTBOUND_ALLOW", "127.0.0.1")  # an operator's explicit allow-list entry
    assert (launcher.demo_standins()[0] is not None) == (env.get("GABY_DEMO_STANDINS") != "0")


def test_a_taken_default_port_gives_way_but_a_configured_one_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        standins = DemoStandIns(tmp_path, graph_port=port, ninjaone_port=port)
        placed = launcher.place_standins(standins)
        assert isinstance(placed, DemoStandIns) and port not in placed.ports().values()
        assert placed.graph_port != placed.ninjaone_port
        monkeypatch.setenv("GABY_DEMO_GRAPH_PORT", str(port))
        refused = launcher.place_standins(standins)
        assert isinstance(refused, str) and f"Port {port} on 127.0.0.1 is taken" in refused
        assert "GABY_DEMO_GRAPH_PORT" in refused and "GABY_DEMO_STANDINS=0" in refused


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def running_standins(tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """The stand-ins as ``run`` starts them: its commands, its pid files."""
    standins = DemoStandIns(tmp_path, graph_port=_free_port(), ninjaone_port=_free_port())
    procs = []
    for name, command in launcher.standin_commands(standins).items():
        procs.append(subprocess.Popen(command, cwd=launcher.ROOT))
        pidfiles.record(tmp_path, name, procs[-1].pid)
    assert standins.wait_until_answering(30) == []
    return procs


def test_the_stand_ins_stop_with_the_launcher(running_standins: list[subprocess.Popen[bytes]]) -> None:
    launcher._terminate(running_standins)  # what run does on Ctrl-C, on SIGTERM and when a process dies
    assert [proc.returncode for proc in running_standins] == [0, 0]  # they stopped cleanly, not killed


def test_gaby_stop_ends_what_a_killed_run_left_behind(
    running_standins: list[subprocess.Popen[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GABY_DATA_DIR", str(tmp_path))
    reused = subprocess.Popen(["sleep", "30"])  # a pid file whose process is not the one recorded is left alone
    (tmp_path / "run" / "web.pid").write_text(f'{{"pid": {reused.pid}, "started": 1.0}}', encoding="utf-8")
    try:
        assert launcher_tools.stop() == 0
        assert [proc.wait(timeout=15) for proc in running_standins] == [0, 0]
        assert reused.poll() is None and pidfiles.recorded(tmp_path) == []
    finally:
        reused.kill()
        reused.wait()
    assert not any(psutil.pid_exists(proc.pid) for proc in running_standins)


def test_a_second_run_on_the_same_data_directory_refuses_instead_of_stopping_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GABY_DATA_DIR", str(tmp_path))
    pidfiles.record(tmp_path, pidfiles.LAUNCHER, os.getpid())  # a live launcher: this test's own process
    assert launcher.run() == 1
    assert "already running" in capsys.readouterr().err
    assert pidfiles.running(tmp_path, pidfiles.LAUNCHER) is not None  # and it was left alone
