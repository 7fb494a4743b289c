"""What ``./gaby run`` does once the venv is ready (``test|manage|bench|stop|reset``: gaby_site/launcher_tools.py).

``run`` starts the demo's Microsoft Graph and NinjaOne stand-ins (unless ``GABY_DEMO_STANDINS=0``) while it
starts the embedded services (unless ``DATABASE_URL`` / ``REDIS_URL`` are set) and migrates every schema as the
database owner, seeds the demo MSP (its clients connected to the stand-ins), starts the ASGI server, a Celery
worker, beat, the IMAP IDLE listener and (unless ``GABY_DEMO_MAIL=0`` or real mail settings are given) the demo
mail server, all connecting as the application role, waits until the web answers, prints the URLs and logins,
and supervises those processes until Ctrl-C or ``./gaby stop`` (SIGTERM), when it stops them and the services it
started. Each process it starts has a pid file (gaby_site/pidfiles.py) so ``./gaby stop`` finds them. This and
launcher_tools are the only modules that start embedded servers: settings only read URLs.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import redirect_stdout
from dataclasses import replace
from typing import TYPE_CHECKING

from apps.observability import multiproc
from gaby_site import pidfiles
from gaby_site.demo_standins import BANNER_TITLE, GRAPH, NINJAONE, PORT_ENV, SWITCH, DemoStandIns, is_configured
from gaby_site.demo_standins import wanted as standins_wanted
from gaby_site.embedded import ROOT, Services, say
from gaby_site.embedded import data_dir as _data_dir

if TYPE_CHECKING:
    from gaby_site.demo_mail import DemoMail

PYTHON = sys.executable


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_for_http(url: str, timeout: float, procs: list[subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http:// URL)
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def wait_for_port(host: str, port: int, timeout: float, procs: list[subprocess.Popen[bytes]]) -> bool:
    """Whether something listens on ``host:port`` within ``timeout``; False at once if one of ``procs`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            return False
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def demo_mail() -> tuple[DemoMail | None, str]:
    """The demo mail server ``run`` starts, or None and why not (GABY_DEMO_MAIL=0, real mail settings)."""
    from gaby_site.demo_mail import DemoMail, wanted

    use, why_not = wanted()
    return (DemoMail.from_env(_data_dir()) if use else None), why_not


def demo_standins() -> tuple[DemoStandIns | None, str]:
    """The Microsoft 365 and NinjaOne stand-ins ``run`` starts, or None and why not (GABY_DEMO_STANDINS=0, an
    outbound-URL policy that refuses loopback)."""
    use, why_not = standins_wanted()
    return (DemoStandIns.from_env(_data_dir()) if use else None), why_not


def place_standins(standins: DemoStandIns) -> DemoStandIns | str:
    """The stand-ins on free ports: a configured port must be free (else what to do, as text); a default one that
    is taken gives way to a port the system picks (the seeding repoints the demo's connectors)."""
    ports = standins.ports()
    for name, port in ports.items():
        if _port_free(standins.host, port):
            continue
        if is_configured(name):
            return (
                f"Port {port} on {standins.host} is taken, and the demo's {name} stand-in needs it. Set "
                f"{PORT_ENV[name]} to a free port, or {SWITCH}=0 to run without the stand-ins."
            )
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((standins.host, 0))
            ports[name] = probe.getsockname()[1]
    return replace(standins, graph_port=ports[GRAPH], ninjaone_port=ports[NINJAONE])


def standin_commands(standins: DemoStandIns) -> dict[str, list[str]]:
    """The stand-ins' processes, by name (supervised like the others)."""
    return {name: standins.command(name, PYTHON) for name in standins.ports()}


def _worker_concurrency() -> int:
    """Celery pool children (GABY_WORKER_CONCURRENCY, 2): each one that embeds holds the local model, ~150-300 MB
    (docs/operations/sizing.md)."""
    value = os.environ.get("GABY_WORKER_CONCURRENCY", "2").strip()
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise SystemExit(f"GABY_WORKER_CONCURRENCY={value!r}: give a whole number of worker processes from 1 to 64.")
    return int(value)


def process_commands(host: str, port: int, mail: DemoMail | None) -> dict[str, list[str]]:
    """The processes ``run`` supervises, by name."""
    beat_schedule = str(_data_dir() / "celerybeat-schedule")
    concurrency = _worker_concurrency()
    commands: dict[str, list[str]] = {}
    if mail is not None:
        commands["mail"] = [
            PYTHON,
            "-m",
            "gaby_site.demo_mail_server",
            "--data-dir",
            str(mail.data_dir),
            "--imap-port",
            str(mail.imap_port),
            "--smtp-port",
            str(mail.smtp_port),
        ]
    commands |= {
        "web": [PYTHON, "-m", "gaby_site.serve", "--host", host, "--port", str(port)],
        "worker": [
            PYTHON,
            "-m",
            "celery",
            "--quiet",
            "-A",
            "gaby_site",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--hostname",
            "gaby@%h",
        ],
        "beat": [
            PYTHON,
            "-m",
            "celery",
            "--quiet",
            "-A",
            "gaby_site",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            beat_schedule,
        ],
        # IMAP IDLE: new mail is pulled the moment it lands; beat's regular polls stay the fallback.
        "mail-listener": [PYTHON, "manage.py", "gaby", "listen-email", "--rescan", "30"],
    }
    return commands


# Only the web process creates client schemas (onboarding); the others never need the owner's role.
NEEDS_OWNER_ROLE = frozenset({"web"})


def process_env(name: str) -> dict[str, str]:
    env = dict(os.environ)
    if name not in NEEDS_OWNER_ROLE:
        env.pop("GABY_DB_OWNER_URL", None)
    return env


def _prepare_database(*, demo_mail: bool = False, demo_standins: bool = False) -> str:
    """Migrate the public schema and every client schema, then bootstrap; return what bootstrap printed.

    In a process of its own (``prepare``): Django, Celery's task modules and litellm stay loaded in a process once
    imported (about 270 MB measured by bench/footprint.py), and the launcher itself only supervises.
    """
    flags = [*(["--demo-mail"] if demo_mail else []), *(["--demo-standins"] if demo_standins else [])]
    command = [PYTHON, "-m", "gaby_site.launcher", "prepare", *flags]
    # Progress goes to the terminal (stderr, passed through); the banner comes back on stdout.
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise SystemExit(f"Preparing the database failed (exit {done.returncode}); see the output above.")
    return done.stdout.decode("utf-8", errors="replace")


def prepare(args: list[str]) -> int:
    """``_prepare_database`` run by ``run`` in a child process: progress on stderr, the banner on stdout."""
    flags = [arg for arg in args if arg in {"--demo-mail", "--demo-standins"}]
    with redirect_stdout(sys.stderr):
        banner = _prepare_in_this_process(flags)
    sys.stdout.write(banner)
    return 0


def _prepare_in_this_process(flags: list[str]) -> str:
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from django.conf import settings

    say("Migrating the public schema and every client schema")
    call_command("migrate_schemas", interactive=False, verbosity=0, database=settings.DB_OWNER_ALIAS)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        call_command("gaby", "bootstrap", "--demo", *flags, stdout=buffer)
    connections.close_all()
    return buffer.getvalue()


def connect_command(demo_mail: bool) -> list[str]:
    """Connect the demo clients to the stand-ins (tenants/demo_msp_cli.py); its stdout is the banner's MSP part."""
    return [PYTHON, "manage.py", "gaby", "demo-standins", "connect", *(["--demo-mail"] if demo_mail else [])]


def _finish(proc: subprocess.Popen[bytes] | None) -> str | None:
    """What a finished helper process printed; None when it failed."""
    if proc is None:
        return ""
    out, _ = proc.communicate(timeout=180)
    return out.decode("utf-8", errors="replace") if proc.returncode == 0 else None


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (./gaby stop) before supervision begins: clean up as on Ctrl-C


def run() -> int:
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    os.environ.setdefault("GABY_LOG_FORMAT", "json")
    host = os.environ.get("GABY_HOST", "127.0.0.1")
    port = int(os.environ.get("GABY_PORT", "8000"))
    other = pidfiles.running(_data_dir(), pidfiles.LAUNCHER)
    if other is not None:  # stop_all below would end it: only a killed run's leftovers are cleared
        print(
            f"Gaby is already running from {_data_dir()} (pid {other.pid}). Stop it with ./gaby stop first.",
            file=sys.stderr,
        )
        return 1
    if not _port_free(host, port):
        print(
            f"Port {port} on {host} is taken (is Gaby already running?). Stop that process or set GABY_PORT.",
            file=sys.stderr,
        )
        return 1
    mail, why_no_mail = demo_mail()
    if mail is not None:
        taken = [p for p in (mail.imap_port, mail.smtp_port) if not _port_free(mail.host, p)]
        if taken:
            print(
                f"Port {taken[0]} on {mail.host} is taken, and the demo mail server needs it. Set "
                "GABY_DEMO_MAIL_IMAP_PORT / GABY_DEMO_MAIL_SMTP_PORT, or GABY_DEMO_MAIL=0 to run without it.",
                file=sys.stderr,
            )
            return 1
        mail.accounts()  # generate the mailbox passwords before the server and the seeding read them
        os.environ.update(mail.outbound_env())  # Gaby's own outgoing mail goes to the demo SMTP server too
    pidfiles.stop_all(_data_dir())  # what a killed run of this data directory left behind (it holds the ports)
    standins, why_no_standins = demo_standins()
    if standins is not None:
        placed = place_standins(standins)
        if isinstance(placed, str):
            print(placed, file=sys.stderr)
            return 1
        standins = placed
        os.environ.update(standins.env())  # the seeding and the workers read the ports chosen here
    started_at = time.monotonic()
    services = Services(_data_dir())
    procs: list[subprocess.Popen[bytes]] = []
    names: list[str] = []
    msp: subprocess.Popen[bytes] | None = None

    def start(commands: dict[str, list[str]]) -> None:
        for name, command in commands.items():
            procs.append(subprocess.Popen(command, cwd=ROOT, env=process_env(name)))
            names.append(name)
            pidfiles.record(_data_dir(), name, procs[-1].pid)

    signal.signal(signal.SIGTERM, _interrupt)
    pidfiles.record(_data_dir(), pidfiles.LAUNCHER, os.getpid())
    try:
        # The stand-ins need no database: they start while PostgreSQL starts and the schemas migrate.
        start(standin_commands(standins) if standins is not None else {})
        services.up(app_role=True)
        # Every process's Prometheus counters go to one directory, summed by /metrics (docs/operations/metrics.md).
        multiproc.prepare(_data_dir() / "metrics")
        banner = _prepare_database(demo_mail=mail is not None, demo_standins=standins is not None)
        commands = process_commands(host, port, mail)
        connect = standins is not None and BANNER_TITLE not in banner
        connecting = " and connecting the demo clients to the stand-ins" if connect else ""
        say(f"Starting {', '.join(commands)}{connecting}")
        start(commands)
        if connect:  # the connection tests start the connectors' MCP servers: beside the web and worker start
            msp = subprocess.Popen(
                connect_command(mail is not None), cwd=ROOT, stdout=subprocess.PIPE, env=process_env("demo-standins")
            )
        # Ready means what /ready means: database, Redis and a live worker, not just a web process.
        if not _wait_for_http(f"http://{host}:{port}/ready", 90, procs):
            print(f"Gaby did not become ready; see the output above and http://{host}:{port}/ready.", file=sys.stderr)
            return 1
        msp_banner = _finish(msp)
        if msp_banner is None:
            print("Connecting the demo clients to the stand-ins failed; see the output above.", file=sys.stderr)
            return 1
        if mail is not None and not all(
            wait_for_port(mail.host, p, 30, procs) for p in (mail.imap_port, mail.smtp_port)
        ):
            print("The demo mail server did not start; see the output above.", file=sys.stderr)
            return 1
        print()
        print(banner.rstrip())
        if msp_banner:
            print(msp_banner.rstrip())
        if mail is None:
            print(f"Demo mail server off ({why_no_mail}).")
        if standins is None:
            print(f"Demo Microsoft 365 and NinjaOne stand-ins off ({why_no_standins}).")
        print("Sign in at the MSP portal or at a client's own URL above.")
        print(f"Up in {time.monotonic() - started_at:.1f} s. Press Ctrl-C to stop.", flush=True)
        return _supervise(procs, names)
    except KeyboardInterrupt:
        return 0
    finally:
        _terminate([*procs, *([msp] if msp is not None else [])])
        services.down()
        for name, proc in zip(names, procs, strict=True):
            pidfiles.forget(_data_dir(), name, proc.pid)
        pidfiles.forget(_data_dir(), pidfiles.LAUNCHER, os.getpid())


def _supervise(procs: list[subprocess.Popen[bytes]], names: list[str]) -> int:
    stop = {"requested": False}

    def request_stop(signum: int, _frame: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while not stop["requested"]:
        for name, proc in zip(names, procs, strict=True):
            code = proc.poll()
            if code is not None:
                print(f"Gaby's {name} process exited with code {code}; stopping the rest.", file=sys.stderr)
                return code or 1
        time.sleep(0.5)
    print()
    say("Stopping")
    return 0


def _terminate(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str]) -> int:
    from gaby_site.launcher_tools import bench, manage, reset, stop, test

    sys.path.insert(0, str(ROOT))
    command, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    if command == "manage":
        return manage(rest)
    if command == "bench":
        return bench(rest)
    if command == "prepare":
        return prepare(rest)
    if command == "stop":
        return stop()
    if command == "reset":
        return reset(rest)
    print(f"Unknown launcher command {command!r}.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
