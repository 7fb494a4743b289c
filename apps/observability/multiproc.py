"""The directory where every Gaby process writes its Prometheus counters (``PROMETHEUS_MULTIPROC_DIR``).

prometheus-client's multiprocess mode keeps one memory-mapped file per process there, and a scrape sums them, so
the figures add up across uvicorn workers and Celery pool children. The directory must be emptied before the
processes start: files left by an earlier run would be summed in again. Kept free of Django: the launcher calls it
before any process is set up.
"""

from __future__ import annotations

import os
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare(default: Path) -> Path:
    """Use ``PROMETHEUS_MULTIPROC_DIR`` (else ``default``, exported for the processes started next), emptied of the
    files of an earlier run."""
    directory = Path(os.environ.get(VARIABLE) or default)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[VARIABLE] = str(directory)
    return directory
