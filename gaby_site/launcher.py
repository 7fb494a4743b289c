"""What ``./gaby run|test|manage|bench|stop|reset`` do once the venv is ready.

``run`` starts the embedded services (unless ``DATABASE_URL`` / ``REDIS_URL`` are set), migrates every
schema as the database owner, seeds the demo MSP, starts the ASGI server, a Celery worker, beat, the
IMAP IDLE listener and (unless ``GABY_DEMO_MAIL=0`` or real mail settings are given) the demo mail
server, all connecting as the application role, waits until the web answers, prints the URLs and
logins, and supervises those processes until Ctrl-C, when it stops them and the services it started.
``test`` runs the project's checks and the whole suite; ``manage`` and ``bench`` run one command
with the services up. This is the only module that starts embedded servers: settings only read URLs.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING

from apps.observability import multiproc
from gaby_site.embedded import Services, say

if TYPE_CHECKING:
    from gaby_site.demo_mail import DemoMail

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _data_dir() -> Path:
    value = os.environ.get("GABY_DATA_DIR")
    return Path(value).expanduser().resolve() if value else ROOT / "var"


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


def _prepare_database(*, demo_mail: bool = False) -> str:
    """Migrate the public schema and every client schema, then bootstrap; return what bootstrap printed.

    In a process of its own (``prepare``): Django, Celery's task modules and litellm stay loaded in a process once
    imported (about 270 MB measured by bench/footprint.py), and the launcher itself only supervises.
    """
    command = [PYTHON, "-m", "gaby_site.launcher", "prepare", *(["--demo-mail"] if demo_mail else [])]
    # Progress goes to the terminal (stderr, passed through); the banner comes back on stdout.
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise SystemExit(f"Preparing the database failed (exit {done.returncode}); see the output above.")
    return done.stdout.decode("utf-8", errors="replace")


def prepare(args: list[str]) -> int:
    """``_prepare_database`` run by ``run`` in a child process: progress on stderr, the banner on stdout."""
    with redirect_stdout(sys.stderr):
        banner = _prepare_in_this_process(demo_mail="--demo-mail" in args)
    sys.stdout.write(banner)
    return 0


def _prepare_in_this_process(*, demo_mail: bool) -> str:
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from django.conf import settings

    say("Migrating the public schema and every client schema")
    call_command("migrate_schemas", interactive=False, verbosity=0, database=settings.DB_OWNER_ALIAS)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        call_command("gaby", "bootstrap", "--demo", *(["--demo-mail"] if demo_mail else []), stdout=buffer)
    connections.close_all()
    return buffer.getvalue()


def run() -> int:
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    os.environ.setdefault("GABY_LOG_FORMAT", "json")
    host = os.environ.get("GABY_HOST", "127.0.0.1")
    port = int(os.environ.get("GABY_PORT", "8000"))
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
    started_at = time.monotonic()
    services = Services(_data_dir())
    procs: list[subprocess.Popen[bytes]] = []
    try:
        services.up(app_role=True)
        # Every process's Prometheus counters go to one directory, summed by /metrics (docs/operations/metrics.md).
        multiproc.prepare(_data_dir() / "metrics")
        banner = _prepare_database(demo_mail=mail is not None)
        commands = process_commands(host, port, mail)
        say(f"Starting {', '.join(commands)}")
        names = list(commands)
        for name, command in commands.items():
            procs.append(subprocess.Popen(command, cwd=ROOT, env=process_env(name)))
        # Ready means what /ready means: database, Redis and a live worker, not just a web process.
        if not _wait_for_http(f"http://{host}:{port}/ready", 90, procs):
            print(f"Gaby did not become ready; see the output above and http://{host}:{port}/ready.", file=sys.stderr)
            return 1
        if mail is not None and not all(
            wait_for_port(mail.host, p, 30, procs) for p in (mail.imap_port, mail.smtp_port)
        ):
            print("The demo mail server did not start; see the output above.", file=sys.stderr)
            return 1
        print()
        print(banner.rstrip())
        if mail is None:
            print(f"Demo mail server off ({why_no_mail}).")
        print("Sign in at the MSP portal or at a client's own URL above.")
        print(f"Up in {time.monotonic() - started_at:.1f} s. Press Ctrl-C to stop.", flush=True)
        return _supervise(procs, names)
    except KeyboardInterrupt:
        return 0
    finally:
        _terminate(procs)
        services.down()


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


def test(args: list[str]) -> int:
    os.environ["GABY_ENV"] = "test"
    os.environ["DJANGO_SETTINGS_MODULE"] = "gaby_site.settings_test"
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's end-of-life banner, not a docs problem
    services = Services(_data_dir())
    try:
        services.up()
        bin_dir = Path(PYTHON).parent
        steps = [
            ("ruff lint", [str(bin_dir / "ruff"), "check", "."]),
            ("ruff format", [str(bin_dir / "ruff"), "format", "--check", "."]),
            ("mypy", [str(bin_dir / "mypy")]),
            ("import layers", [str(bin_dir / "lint-imports")]),
            ("django check", [PYTHON, "manage.py", "check", "--fail-level", "WARNING"]),
            ("migrations up to date", [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"]),
            (
                "docs build",
                [str(bin_dir / "mkdocs"), "build", "--strict", "--quiet", "--site-dir", str(_data_dir() / "site")],
            ),
            ("pytest", [PYTHON, "-m", "pytest", *args]),
        ]
        if args:  # a focused run (./gaby test tests/test_x.py -k name) skips the whole-tree checks
            steps = steps[-1:]
        for label, command in steps:
            say(label)
            code = subprocess.call(command, cwd=ROOT)
            if code != 0:
                print(f"FAILED: {label} (exit {code})", file=sys.stderr)
                return code
        say("All checks passed")
        return 0
    finally:
        services.down()


def with_services(command: list[str]) -> int:
    """Run ``command`` with the embedded services up (as the owner), stopping those it started."""
    services = Services(_data_dir())
    try:
        services.up()
        return subprocess.call(command, cwd=ROOT)
    finally:
        services.down()


def manage(args: list[str]) -> int:
    os.environ.setdefault("GABY_ENV", "development")
    return with_services([PYTHON, "manage.py", *args])


def bench(args: list[str]) -> int:
    os.environ.setdefault("GABY_ENV", "development")
    scripts = sorted(path.stem for path in (ROOT / "bench").glob("[a-z]*.py"))
    if not args or args[0] not in scripts:
        print(f"Name a benchmark: ./gaby bench <{'|'.join(scripts)}> [options].", file=sys.stderr)
        return 2
    return with_services([PYTHON, str(ROOT / "bench" / f"{args[0]}.py"), *args[1:]])


def stop() -> int:
    from gaby_site import embedded

    data_dir = _data_dir()
    stopped = [
        name for name, fn in (("PostgreSQL", embedded.stop_postgres), ("Redis", embedded.stop_redis)) if fn(data_dir)
    ]
    say(f"Stopped: {', '.join(stopped)}" if stopped else "Nothing was running")
    return 0


def reset(args: list[str]) -> int:
    from gaby_site import embedded

    data_dir = _data_dir()
    if "--yes" not in args:
        if not sys.stdin.isatty():
            print("Refusing to wipe without confirmation: run `./gaby reset --yes`.", file=sys.stderr)
            return 2
        answer = input(f"Delete every client's data under {data_dir}? Type 'reset' to confirm: ")
        if answer.strip() != "reset":
            print("Nothing deleted.")
            return 1
    embedded.wipe(data_dir)
    shutil.rmtree(data_dir / "demo-mail", ignore_errors=True)  # its mailboxes belong to the wiped demo
    for name in ("secret_key", "demo-password", "celerybeat-schedule"):
        (data_dir / name).unlink(missing_ok=True)
    say(f"Wiped {data_dir}; the next `./gaby run` starts fresh and mints a new admin")
    return 0


def main(argv: list[str]) -> int:
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
