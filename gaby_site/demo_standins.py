"""The vendor stand-ins ``./gaby run`` starts for the MSP demo: Microsoft Graph (Entra ID, Intune) and NinjaOne.

The demo clients' Microsoft 365 and NinjaOne connectors talk to these two local servers
(``gaby_site.demo_standins_server``, serving the world of ``sandbox/msp_demo.py``) exactly as they would talk to
Microsoft and NinjaOne: the real msgraph-sdk over HTTPS (with a CA kept under the data directory, so the stored
connectors keep trusting it across runs) and NinjaOne's REST API over HTTP, both on 127.0.0.1. Their state lives
in memory: each start serves the seeded world again (a stopped print spooler, a laptop that has not synced).

Shared by the launcher (ports, commands, pid files), the seeding (URLs, CA file) and ``./gaby stop``; this module
imports no Django.
"""

from __future__ import annotations

import ipaddress
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from apps.core.env import env_bool, env_int, env_list, raw
from apps.core.outbound import ENV_NAME as OUTBOUND_ALLOW_ENV
from apps.core.outbound import allow_list_setting, parse_allow_list

HOST = "127.0.0.1"
GRAPH = "msgraph"
NINJAONE = "ninjaone"
SWITCH = "GABY_DEMO_STANDINS"
PORT_ENV = {GRAPH: "GABY_DEMO_GRAPH_PORT", NINJAONE: "GABY_DEMO_NINJAONE_PORT"}
# The ports the stand-ins' own command lines default to (python -m sandbox.msgraph / sandbox.ninjaone).
DEFAULT_PORTS = {GRAPH: 8443, NINJAONE: 8190}
SERVER_MODULE = "gaby_site.demo_standins_server"
# How the banner's part about the stand-ins starts: the launcher connects the clients only when bootstrap's banner
# lacks it (bootstrap prints it itself once they are connected: every run after the first).
BANNER_TITLE = "Demo Microsoft 365 and NinjaOne"


@dataclass(frozen=True)
class DemoStandIns:
    data_dir: Path
    graph_port: int
    ninjaone_port: int
    host: str = HOST

    @classmethod
    def from_env(cls, data_dir: Path) -> DemoStandIns:
        """The configured ports, else the defaults (the launcher exports the ports it chose to its children)."""
        return cls(data_dir=data_dir, graph_port=configured_port(GRAPH), ninjaone_port=configured_port(NINJAONE))

    @property
    def root(self) -> Path:
        return self.data_dir / "demo-standins"

    @property
    def ca_dir(self) -> Path:
        """Where the Graph stand-in keeps its CA: made once, so a stored connector's CA file stays valid."""
        return self.root / "msgraph-ca"

    @property
    def ca_file(self) -> Path:
        return self.ca_dir / "ca.pem"

    @property
    def graph_url(self) -> str:
        return f"https://{self.host}:{self.graph_port}"

    @property
    def ninjaone_url(self) -> str:
        return f"http://{self.host}:{self.ninjaone_port}"

    def ports(self) -> dict[str, int]:
        return {GRAPH: self.graph_port, NINJAONE: self.ninjaone_port}

    def env(self) -> dict[str, str]:
        """The chosen ports, for the processes that seed and use the connectors."""
        return {PORT_ENV[name]: str(port) for name, port in self.ports().items()}

    def command(self, name: str, python: str) -> list[str]:
        return [
            python,
            "-m",
            SERVER_MODULE,
            name,
            "--port",
            str(self.ports()[name]),
            "--data-dir",
            str(self.data_dir),
        ]

    def answers(self, name: str) -> bool:
        """Whether the stand-in answers HTTP (over TLS with its CA, for Graph): any status will do."""
        url = f"{self.graph_url if name == GRAPH else self.ninjaone_url}/"
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file)) if name == GRAPH else None
            with urllib.request.urlopen(url, timeout=2, context=context):  # noqa: S310 (our own 127.0.0.1 URL)
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:  # not listening yet, or its CA not written yet
            return False

    def wait_until_answering(self, timeout: float) -> list[str]:
        """The stand-ins still silent after ``timeout`` seconds (none: both answer)."""
        deadline = time.monotonic() + timeout
        silent = list(self.ports())
        while silent:
            silent = [name for name in silent if not self.answers(name)]
            if not silent or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        return silent


def configured_port(name: str) -> int:
    return env_int(PORT_ENV[name], DEFAULT_PORTS[name], minimum=1, maximum=65535)


def is_configured(name: str) -> bool:
    return bool(raw(PORT_ENV[name]))


def loopback_allowed() -> bool:
    """Whether Gaby's outbound-URL policy, as the settings will build it, lets connectors reach 127.0.0.1."""
    entries = allow_list_setting(env_list(OUTBOUND_ALLOW_ENV), loopback=raw("GABY_ENV") != "production")
    return parse_allow_list(entries).allows_address(ipaddress.ip_address(HOST))


def wanted() -> tuple[bool, str]:
    """Whether ``./gaby run`` starts the stand-ins and connects the demo clients to them; if not, why (banner)."""
    if not env_bool(SWITCH, default=True):
        return False, f"{SWITCH}=0"
    if not loopback_allowed():
        return False, (
            "the outbound-URL policy refuses loopback addresses in production; "
            f"{OUTBOUND_ALLOW_ENV}=127.0.0.1 lets the demo's connectors reach them"
        )
    return True, ""
