"""What ``./gaby test|manage|bench|stop|reset`` do once the venv is ready (``run`` is gaby_site/launcher.py).

``test`` runs the project's checks and the whole suite; ``manage`` and ``bench`` run one command with the
services up; ``stop`` ends a running demo and the embedded services; ``reset`` wipes the data directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from gaby_site.embedded import ROOT, Services, say
from gaby_site.embedded import data_dir as _data_dir

PYTHON = sys.executable


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
    """Stop a running ``./gaby run`` of this data directory (as Ctrl-C would), whatever it left running if it was
    killed (its web, worker, demo mail server, vendor stand-ins), and the embedded services."""
    from gaby_site import embedded, pidfiles

    data_dir = _data_dir()
    processes = pidfiles.stop_all(data_dir)
    services = [
        name for name, fn in (("PostgreSQL", embedded.stop_postgres), ("Redis", embedded.stop_redis)) if fn(data_dir)
    ]
    stopped = [*(f"./gaby run ({name})" if name == pidfiles.LAUNCHER else name for name in processes), *services]
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
    shutil.rmtree(data_dir / "demo-standins", ignore_errors=True)  # the CA the demo's connectors trusted
    for name in ("secret_key", "demo-password", "celerybeat-schedule"):
        (data_dir / name).unlink(missing_ok=True)
    say(f"Wiped {data_dir}; the next `./gaby run` starts fresh and mints a new admin")
    return 0
