"""Pid files of the processes ``./gaby run`` starts, so ``./gaby stop`` can end them from another terminal.

One JSON file per process under ``<data dir>/run/``: its pid and the time it started (psutil), so a pid the system
has since given to another program is never signalled. ``stop_all`` asks the launcher to stop first (it ends its
children and the embedded services it started, as on Ctrl-C), then ends whatever a launcher that was killed left
behind: web, worker, the demo mail server, the vendor stand-ins.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import psutil

RUN_DIR = "run"
LAUNCHER = "launcher"


def _path(data_dir: Path, name: str) -> Path:
    return data_dir / RUN_DIR / f"{name}.pid"


def record(data_dir: Path, name: str, pid: int) -> None:
    folder = data_dir / RUN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(psutil.Error):  # gone already: nothing to stop later
        started = psutil.Process(pid).create_time()
        _path(data_dir, name).write_text(json.dumps({"pid": pid, "started": started}), encoding="utf-8")


def forget(data_dir: Path, name: str, pid: int | None = None) -> None:
    """Remove the pid file; with ``pid``, only if it is still that process's (a later run may have its own)."""
    path = _path(data_dir, name)
    if pid is not None:
        try:
            if int(json.loads(path.read_text(encoding="utf-8"))["pid"]) != pid:
                return
        except (OSError, ValueError, KeyError, TypeError):
            return
    path.unlink(missing_ok=True)


def running(data_dir: Path, name: str) -> psutil.Process | None:
    """The recorded process if it is still the one that was recorded."""
    path = _path(data_dir, name)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        process = psutil.Process(int(recorded["pid"]))
        if abs(process.create_time() - float(recorded["started"])) < 0.01 and process.is_running():
            return process
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        pass
    return None


def recorded(data_dir: Path) -> list[str]:
    return sorted(path.stem for path in (data_dir / RUN_DIR).glob("*.pid"))


def stop_all(data_dir: Path, *, timeout: float = 60.0) -> list[str]:
    """End the launcher (and so everything it started), then any recorded process still running; the names."""
    stopped = []
    launcher = running(data_dir, LAUNCHER)
    if launcher is not None:
        launcher.terminate()
        try:
            launcher.wait(timeout)
        except psutil.TimeoutExpired:
            launcher.kill()  # its children are ended below, by their own pid files
        stopped.append(LAUNCHER)
    left = {name: process for name in recorded(data_dir) if (process := running(data_dir, name)) is not None}
    for process in left.values():
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _gone, alive = psutil.wait_procs(list(left.values()), timeout=10)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    for name in recorded(data_dir):
        forget(data_dir, name)
    return stopped + sorted(left)
