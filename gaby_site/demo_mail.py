"""The demo mail server's settings, accounts and addresses, shared by the launcher, the seeding and the CLI.

``./gaby run`` starts a real IMAP server (pymap, Maildir on disk) and a real SMTP server (aiosmtpd) on
127.0.0.1 so the email source can be tried with no mail provider: each demo client has a support
mailbox (``support@<slug>.demo``); mail to one of those addresses lands in its IMAP inbox, and
every other recipient (the customers Gaby replies to) lands in one ``customers`` mailbox, which is
what a customer would see. Nothing is relayed to the internet. The server itself lives in
``gaby_site.demo_mail_server``; this module imports neither Django models nor the servers.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from apps.core.env import env_bool, env_int, raw

HOST = "127.0.0.1"
DEMO_DOMAIN = "demo"
CUSTOMERS = "customers"  # the login of the customer-side mailbox: every mail to a non-demo address
DEMO_SLUGS = ("hartwell", "dearborn")  # tenants.demo.DEMO_CLIENTS; kept here so the server needs no Django
# Any of these set means the user configured real mail: the demo server stays off.
REAL_MAIL_SETTINGS = ("GABY_EMAIL_HOST", "GABY_EMAIL_BACKEND")


def support_address(slug: str) -> str:
    return f"support@{slug}.{DEMO_DOMAIN}"


@dataclass(frozen=True)
class DemoMail:
    data_dir: Path
    imap_port: int
    smtp_port: int
    host: str = HOST

    @classmethod
    def from_env(cls, data_dir: Path) -> DemoMail:
        return cls(
            data_dir=data_dir,
            imap_port=env_int("GABY_DEMO_MAIL_IMAP_PORT", 1143, minimum=1, maximum=65535),
            smtp_port=env_int("GABY_DEMO_MAIL_SMTP_PORT", 1025, minimum=1, maximum=65535),
        )

    @property
    def root(self) -> Path:
        return self.data_dir / "demo-mail"

    @property
    def maildir(self) -> Path:
        return self.root / "maildir"

    @property
    def accounts_file(self) -> Path:
        return self.root / "accounts.json"

    def accounts(self, slugs: Iterable[str] = DEMO_SLUGS) -> dict[str, str]:
        """Login -> password for every support mailbox and the customers mailbox; generated once, kept 0600."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.accounts_file
        known: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        wanted = [support_address(slug) for slug in slugs] + [CUSTOMERS]
        missing = [login for login in wanted if login not in known]
        if missing:
            known |= {login: secrets.token_urlsafe(12) for login in missing}
            path.write_text(json.dumps(known, indent=2), encoding="utf-8")
            path.chmod(0o600)
        return known

    def password(self, login: str) -> str:
        return self.accounts()[login]

    def source_config(self, slug: str, client_name: str) -> dict[str, object]:
        """The email source configuration of one demo client: its support mailbox, replies out through the demo SMTP."""
        address = support_address(slug)
        return {
            "imap_host": self.host,
            "imap_port": self.imap_port,
            "imap_security": "none",
            "imap_user": address,
            "imap_password": self.password(address),
            "mailbox": "INBOX",
            "smtp_host": self.host,
            "smtp_port": self.smtp_port,
            "smtp_security": "none",
            "from_address": f"{client_name} Support <{address}>",
        }

    def outbound_env(self) -> dict[str, str]:
        """Gaby's own outgoing mail (GABY_EMAIL_*) pointed at the demo SMTP server."""
        return {
            "GABY_EMAIL_BACKEND": "smtp",
            "GABY_EMAIL_HOST": self.host,
            "GABY_EMAIL_PORT": str(self.smtp_port),
            "GABY_EMAIL_TLS": "false",
        }


def wanted() -> tuple[bool, str]:
    """Whether ``./gaby run`` starts the demo mail server, and if not, why (for the banner)."""
    if not env_bool("GABY_DEMO_MAIL", default=True):
        return False, "GABY_DEMO_MAIL=0"
    given = [name for name in REAL_MAIL_SETTINGS if raw(name)]
    if given:
        return False, f"{given[0]} is set (real mail settings)"
    return True, ""
