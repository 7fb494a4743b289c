"""How long ``./gaby run`` takes to be ready on an existing install, next to a floor from the same run.

Floor: a bare uvicorn serving a one-line ASGI app, until its first response. Measured: the launcher
(the same code ``./gaby run`` executes after the venv is ready) until ``/ready`` answers 200, i.e.
database, Redis and a Celery worker all up, after migrations check every schema and the demo is seeded.
Each is measured twice; the launcher is stopped with SIGINT between runs, as Ctrl-C would.

    .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import ROOT, free_port, start_uvicorn, wait_http


async def hello(scope: dict[str, object], receive: object, send: object) -> None:
    """The floor's whole application."""
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


def floor() -> float:
    port = free_port()
    started = time.monotonic()
    server = start_uvicorn("bench.startup:hello", port, dict(os.environ))
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        return time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=10)


def launcher() -> float:
    port = free_port()
    env = dict(os.environ, GABY_PORT=str(port))
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gaby_site.launcher", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/ready", timeout=120)
        return time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def main() -> None:
    floors = [floor(), floor()]
    runs = [launcher(), launcher()]
    print("time to first useful answer (seconds)")
    print(f"  floor: bare uvicorn + hello app        {floors[0]:6.2f}  {floors[1]:6.2f}")
    print(f"  ./gaby run (launcher) until /ready 200  {runs[0]:6.2f}  {runs[1]:6.2f}   target: second run < 30 s")


if __name__ == "__main__":
    main()
