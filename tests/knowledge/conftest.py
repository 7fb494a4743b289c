"""Knowledge fixtures: small real corpora on disk, synced with the real local MiniLM provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

RUNBOOKS = {
    "vpn.md": """# VPN runbook

## Reset a user's VPN password

1. Open the OpenVPN admin portal.
2. Find the user and choose *Reset credentials*.
3. Send the new profile through the secure channel.

## Tunnel drops every hour

The tunnel drops when the DHCP lease renews. Raise the lease time on the firewall to 24 hours.
""",
    "printers/paper-jam.md": """# Printer paper jam

Open tray 2, remove the crumpled sheet and close the tray. If the jam light stays on, power-cycle the printer.
""",
    "email.txt": """Mailbox full

When Outlook says the mailbox is full, archive items older than one year with AutoArchive.
""",
    "onboarding.html": """<html><head><title>New hire onboarding</title></head><body>
<nav>Home | About</nav>
<h1>New hire onboarding</h1><p>Create the account in Active Directory.</p>
<h2>Laptop</h2><ul><li>Enrol the laptop in Intune.</li><li>Install the VPN profile.</li></ul>
<script>var tracking = 1;</script></body></html>
""",
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def runbooks(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "runbooks", RUNBOOKS)


@pytest.fixture(scope="session")
def provider() -> Any:
    from apps.knowledge.embeddings import provider_for

    return provider_for("local")
