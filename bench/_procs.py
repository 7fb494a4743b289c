"""Reading a Linux process tree from /proc: who descends from whom, what each holds (RSS, PSS) and burns (CPU).

Used by bench/footprint.py; kept apart so its test can run it on the test's own process tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None  # the process ended, or is not ours to read


def _kb_field(text: str | None, name: str) -> int | None:
    for line in (text or "").splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return None


def rss_kb(pid: int) -> int | None:
    """Resident set size in kB (VmRSS), None if the process is gone."""
    return _kb_field(_read(PROC / str(pid) / "status"), "VmRSS")


def pss_kb(pid: int) -> int | None:
    """Proportional set size in kB: shared pages divided among the processes sharing them (None where the kernel
    has no smaps_rollup or the process is gone). Summing PSS over processes does not count shared pages twice."""
    return _kb_field(_read(PROC / str(pid) / "smaps_rollup"), "Pss")


def _stat_fields(pid: int) -> list[str] | None:
    text = _read(PROC / str(pid) / "stat")
    if text is None:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used so far, in seconds."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15 of stat


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def command_line(pid: int) -> list[str]:
    text = _read(PROC / str(pid) / "cmdline")
    return [part for part in (text or "").split("\0") if part]


def maps_library(pid: int, name: str) -> bool:
    """Whether ``name`` (e.g. ``onnxruntime``) is mapped into the process: it imported that library."""
    return name in (_read(PROC / str(pid) / "maps") or "")


def children_by_parent() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent is not None:
                tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]] | None = None) -> list[int]:
    """Every process below ``pid`` (not ``pid`` itself), parents before their children."""
    tree = children_by_parent() if tree is None else tree
    found: list[int] = []
    pending = list(tree.get(pid, []))
    while pending:
        child = pending.pop(0)
        found.append(child)
        pending.extend(tree.get(child, []))
    return found


@dataclass
class Sample:
    pid: int
    role: str
    rss_kb: int
    pss_kb: int | None
    cpu_s: float
    onnxruntime: bool


def sample(pid: int, role: str) -> Sample | None:
    rss, cpu = rss_kb(pid), cpu_seconds(pid)
    if rss is None or cpu is None:
        return None
    return Sample(pid, role, rss, pss_kb(pid), cpu, maps_library(pid, "onnxruntime"))
