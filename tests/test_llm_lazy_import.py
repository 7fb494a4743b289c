"""litellm is imported at the first model call, not by the processes that never make one (apps/llm/sdk.py).

Each check runs in a fresh interpreter: in the test process some earlier test has long since imported litellm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("litellm", "openai", "tiktoken")


def _loaded_after(code: str) -> dict[str, bool]:
    """Which of the LLM SDK's modules a fresh interpreter holds after Django's setup and ``code``."""
    script = (
        "import json, sys, django\n"
        "django.setup()\n"
        f"{code}\n"
        f"print(json.dumps({{name: name in sys.modules for name in {HEAVY!r}}}))\n"
    )
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "gaby_site.settings_test", "GABY_ENV": "test"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# What each kind of process loads before its first request or task.
STARTS = {
    # Every URLconf and the ASGI application with its websocket routes (the chat's answering, which can call a
    # model, among them).
    "web": "import gaby_site.urls_public, gaby_site.urls_tenant\n"
    "from gaby_site.asgi import application\n"
    "from django.urls import get_resolver\n"
    "get_resolver('gaby_site.urls_tenant').url_patterns\n",
    # What beat and a worker import at start-up: every app's tasks, the agent's engine included.
    "beat": "from gaby_site.celery import app\napp.loader.import_default_modules()\n",
    # The `gaby` command the IMAP listener runs as.
    "mail listener": "from tenants.management.commands.gaby import Command\nfrom apps.tickets import cli\n",
}


@pytest.mark.parametrize("process", list(STARTS))
def test_a_process_that_never_calls_a_model_starts_without_the_llm_sdk(process: str) -> None:
    assert _loaded_after(STARTS[process]) == dict.fromkeys(HEAVY, False)


def test_the_first_call_imports_it_once_configured_for_gaby() -> None:
    loaded = _loaded_after(
        "from apps.llm.sdk import litellm, transient_errors\n"
        "sdk = litellm()\n"
        "assert sdk is litellm() is sys.modules['litellm']\n"
        "assert sdk.telemetry is False and sdk.suppress_debug_info and sdk.disable_streaming_logging\n"
        "assert sdk.exceptions.RateLimitError in transient_errors()\n"
    )
    assert loaded == {"litellm": True, "openai": True, "tiktoken": True}
