"""A versioned prompt as the gateway records it (LLM-6): its name, version and the SHA-256 of its text.

Where prompts are kept and loaded from is the caller's business (the agent's: apps/agent/prompts.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    template: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.template.encode()).hexdigest()

    def render(self, **variables: object) -> str:
        try:
            return self.template.format(**variables)
        except KeyError as exc:
            raise ValueError(f"Prompt {self.name} v{self.version} needs the variable {exc.args[0]!r}.") from None
