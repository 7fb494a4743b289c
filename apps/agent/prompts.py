"""Versioned prompts (LLM-6): ``apps/agent/prompts/<name>/v<N>.md``, never edited once shipped.

A change to a prompt is a new file ``v<N+1>.md``; every recorded LLM call names the prompt, its version
and the SHA-256 of its text, so any answer can be traced to the exact instructions that produced it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from apps.llm.prompts import Prompt

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
_VERSION_FILE = re.compile(r"^v(\d+)\.md$")


class PromptNotFound(LookupError):
    pass


def versions(name: str) -> list[int]:
    folder = PROMPTS_DIR / name
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_FILE.match(p.name)))


@cache
def load_prompt(name: str, version: int | None = None) -> Prompt:
    """The given version, or the newest one."""
    available = versions(name)
    if not available:
        raise PromptNotFound(f"No prompt named {name!r} under {PROMPTS_DIR}.")
    chosen = available[-1] if version is None else version
    if chosen not in available:
        raise PromptNotFound(f"Prompt {name!r} has versions {available}, not {chosen}.")
    return Prompt(name, chosen, (PROMPTS_DIR / name / f"v{chosen}.md").read_text(encoding="utf-8"))
