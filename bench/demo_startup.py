"""How long ``./gaby run`` takes to be ready with the MSP demo's stand-ins, next to the same start without them.

For each mode, on a throw-away data directory and free ports: starts ``python -m gaby_site.launcher run`` exactly
as ``./gaby run`` does, reads the launcher's own "Up in N s" (from its start to /ready 200 and the banner), then
starts it again on the same data directory (the seed finds everything made: what every later run costs), then
stops it with ``./gaby stop`` and checks that nothing it started is left: the launcher, its processes (the
stand-ins included, by their pid files) and the ports they held.

Floor, measured in the same run: ``GABY_DEMO_STANDINS=0`` (the demo as it was before the stand-ins).

    .venv/bin/python bench/demo_startup.py [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import ROOT, free_port

UP = re.compile(r"Up in ([0-9.]+) s")
TIMEOUT_S = 240


def _env(data_dir: Path, standins: bool) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "GABY_DB_OWNER_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    return env | {
        "GABY_DATA_DIR": str(data_dir),
        "GABY_PORT": str(free_port()),
        "GABY_DEMO_MAIL_IMAP_PORT": str(free_port()),
        "GABY_DEMO_MAIL_SMTP_PORT": str(free_port()),
        "GABY_DEMO_GRAPH_PORT": str(free_port()),
        "GABY_DEMO_NINJAONE_PORT": str(free_port()),
        "GABY_DEMO_STANDINS": "1" if standins else "0",
        "GABY_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "gaby_site.settings",
    }


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], float]:
    """The launcher, once it printed "Up in N s"; N."""
    with log.open("wb") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "gaby_site.launcher", "run"], cwd=ROOT, env=env, stdout=out)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        found = UP.search(log.read_text(errors="replace"))
        if found:
            return launcher, float(found.group(1))
        if launcher.poll() is not None:
            break
        time.sleep(0.5)
    launcher.kill()
    raise SystemExit(f"./gaby run did not come up; see {log}.")


def stop(env: dict[str, str], launcher: subprocess.Popen[bytes]) -> list[str]:
    """``./gaby stop``; what is left running afterwards (empty: everything stopped)."""
    subprocess.run(
        [sys.executable, "-m", "gaby_site.launcher", "stop"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    left = [] if launcher.poll() is not None else ["launcher"]
    ports = {name: int(env[name]) for name in ("GABY_PORT", "GABY_DEMO_GRAPH_PORT", "GABY_DEMO_NINJAONE_PORT")}
    left += [f"{name}={port}" for name, port in ports.items() if _listening(port)]
    run_dir = Path(env["GABY_DATA_DIR"]) / "run"
    left += [f"pid file {path.name}" for path in run_dir.glob("*.pid")] if run_dir.exists() else []
    return left


def measure(standins: bool, root: Path) -> dict[str, object]:
    data_dir = root / ("with-standins" if standins else "without")
    env = _env(data_dir, standins)
    first, first_s = start(env, root / f"{data_dir.name}-1.log")
    left_first = stop(env, first)
    again, again_s = start(env, root / f"{data_dir.name}-2.log")
    left_again = stop(env, again)
    return {"fresh_s": first_s, "again_s": again_s, "left": left_first + left_again}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="Keep the data directories and logs.")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gaby-startup-"))
    try:
        floor = measure(False, root)
        msp = measure(True, root)
    finally:
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"./gaby run until ready (the launcher's own 'Up in'), load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"  {'':<34} {'fresh data dir':>14} {'second run':>11}")
    print(f"  {'floor: GABY_DEMO_STANDINS=0':<34} {floor['fresh_s']:>12.1f} s {floor['again_s']:>9.1f} s")
    print(f"  {'with the Graph + NinjaOne stand-ins':<34} {msp['fresh_s']:>12.1f} s {msp['again_s']:>9.1f} s")
    print(
        f"  difference{'':<24} {msp['fresh_s'] - floor['fresh_s']:>+12.1f} s "  # type: ignore[operator]
        f"{msp['again_s'] - floor['again_s']:>+9.1f} s"  # type: ignore[operator]
    )
    left = [*floor["left"], *msp["left"]]  # type: ignore[misc]
    print("./gaby stop left nothing running." if not left else f"./gaby stop LEFT RUNNING: {', '.join(left)}")
    if options.keep:
        print(f"Data directories and logs kept in {root}")
    return 0 if not left else 1


if __name__ == "__main__":
    sys.exit(main())
