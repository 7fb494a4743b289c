"""After an upgrade: does each enabled connector of a client still list the tools its playbooks and rules name?

A server upgraded along with Gaby (or on its own) may rename or drop a tool; a playbook step naming it would then
escalate on every ticket, and a safety rule naming it would silently guard nothing. Each enabled connector's tools
are listed live (``sync_tools``, which also refreshes the registry the gate reads) and compared with what the
client's active playbooks (shipped and its own) and its safety rules name. A connector that cannot be reached is
reported with its error and the check moves on: an upgrade is not the moment to fail on a vendor's outage.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass, field

from apps.agent.context import resolve_connector
from apps.agent.playbooks.library import catalog
from apps.connectors.models import Connector, Status
from apps.connectors.services import sync_tools
from apps.safety.models import SafetyRule

GLOB = set("*?[")


@dataclass(frozen=True)
class Named:
    """A tool (or a tool-name pattern, for rules) and who names it."""

    tool: str
    by: str

    @property
    def is_pattern(self) -> bool:
        return bool(GLOB & set(self.tool))

    def found_in(self, listed: set[str]) -> bool:
        if self.is_pattern:
            return any(fnmatch.fnmatchcase(name, self.tool) for name in listed)
        return self.tool in listed

    def __str__(self) -> str:
        what = "no tool matches" if self.is_pattern else "not listed"
        return f"{self.tool} ({what}; named by {self.by})"


@dataclass
class ConnectorReport:
    name: str
    listed: int = 0
    error: str = ""  # set when the connector could not be reached
    checked: int = 0  # names checked against its list
    missing: list[Named] = field(default_factory=list)

    def line(self) -> str:
        if self.error:
            return f"{self.name}: unreachable, tools not checked ({self.error})"
        if self.missing:
            return f"{self.name}: {len(self.missing)} of {self.checked} named tools missing: " + "; ".join(
                str(named) for named in self.missing
            )
        if not self.checked:
            return f"{self.name}: {self.listed} tools listed; no playbook or rule names one"
        return f"{self.name}: {self.listed} tools listed, the {self.checked} named by playbooks and rules all present"


@dataclass
class ClientToolReport:
    connectors: list[ConnectorReport]
    # Rules for every connector whose tool no reachable connector lists.
    unmatched_rules: list[Named] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(len(report.missing) for report in self.connectors) + len(self.unmatched_rules)

    @property
    def unreachable(self) -> int:
        return sum(1 for report in self.connectors if report.error)


def _named_by_connector() -> tuple[dict[str, list[Named]], list[Named]]:
    """Per connector id, what the client's active playbooks and connector rules name; and rules for any connector."""
    named: dict[str, list[Named]] = defaultdict(list)
    for playbook in catalog().active:
        for step in playbook.steps:
            target = resolve_connector(step.connector)
            if target is not None:  # a playbook for a system this client has not connected does not apply
                named[str(target.pk)].append(Named(step.tool, f"playbook {playbook.name} step {step.id}"))
    anywhere = []
    for rule in SafetyRule.objects.all():
        if rule.tool_pattern.strip() in ("", "*"):
            continue  # matches whatever is listed: nothing to check
        entry = Named(rule.tool_pattern, f"{rule.effect} rule {str(rule)!r}")
        if rule.connector_id is None:
            anywhere.append(entry)
        else:
            named[str(rule.connector_id)].append(entry)
    return named, anywhere


def check_client_tools() -> ClientToolReport:
    """Run inside the client's schema (``tenant_context``)."""
    named, anywhere = _named_by_connector()
    reports = []
    every_listed: set[str] = set()
    enabled = Connector.objects.filter(enabled=True).exclude(status=Status.DISABLED).order_by("name")
    for connector in enabled:
        report = ConnectorReport(connector.name)
        try:
            listed = {tool.name for tool in sync_tools(connector=connector)}
        except Exception as exc:  # unreachable, bad credentials, a server that crashed: reported, never fatal
            report.error = f"{exc.__class__.__name__}: {exc}"[:300]
            reports.append(report)
            continue
        every_listed |= listed
        report.listed = len(listed)
        wanted = list(dict.fromkeys(named.get(str(connector.pk), [])))
        report.checked = len(wanted)
        report.missing = [entry for entry in wanted if not entry.found_in(listed)]
        reports.append(report)
    reachable = any(not report.error for report in reports)
    unmatched = [entry for entry in anywhere if not entry.found_in(every_listed)] if reachable else []
    return ClientToolReport(reports, unmatched)
