"""bench/footprint.py's /proc readers on this test's own process tree: a child it starts is found below it, with
its memory, CPU time and role, and a process that ended reads as gone rather than as zero."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import _procs
from bench.footprint import role_of


def test_a_child_is_found_below_its_parent_with_its_memory_and_cpu() -> None:
    # The child allocates ~64 MB and burns a little CPU, so the figures read have something to show.
    code = (
        "import time\n"
        "block = bytearray(64 * 1024 * 1024)\n"
        "end = time.time() + 0.3\n"
        "while time.time() < end: pass\n"
        "time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while (_procs.cpu_seconds(child.pid) or 0) < 0.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in _procs.descendants(os.getpid())
        assert _procs.parent_of(child.pid) == os.getpid()
        rss = _procs.rss_kb(child.pid)
        assert rss is not None and rss > 64 * 1024
        pss = _procs.pss_kb(child.pid)
        assert pss is None or 0 < pss <= rss  # PSS never exceeds RSS
        assert (_procs.cpu_seconds(child.pid) or 0) >= 0.2
        assert _procs.command_line(child.pid)[:2] == [sys.executable, "-c"]
        sample = _procs.sample(child.pid, "probe")
        assert sample is not None and sample.role == "probe" and not sample.onnxruntime
        assert _procs.maps_library(os.getpid(), "libpython") or _procs.maps_library(os.getpid(), "python")
    finally:
        child.kill()
        child.wait()
    assert _procs.rss_kb(child.pid) is None and _procs.sample(child.pid, "probe") is None


def test_the_processes_of_gaby_run_are_told_apart_by_their_command_lines() -> None:
    python = sys.executable
    assert role_of([python, "-m", "gaby_site.launcher", "run"]) == "launcher"
    assert role_of([python, "-m", "gaby_site.serve", "--host", "127.0.0.1"]) == "web"
    assert role_of([python, "-m", "celery", "--quiet", "-A", "gaby_site", "worker", "--concurrency", "2"]) == "worker"
    assert role_of([python, "-m", "celery", "--quiet", "-A", "gaby_site", "beat"]) == "beat"
    assert role_of([python, "manage.py", "gaby", "listen-email", "--rescan", "30"]) == "mail-listener"
    assert role_of(["postgres: gaby gaby [local] idle"]) == "postgres"
    assert role_of(["/venv/lib/redis-server", "*:0"]) == "redis"
