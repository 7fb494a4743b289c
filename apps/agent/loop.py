"""The LLM decider: read → retrieve → classify → plan and call tools → verdict. Small and owned on purpose.

Each model call goes through ``LLMGateway`` (routing, redaction, untrusted labels, budget hard stop, every
call recorded against the investigation's budget key). The planner sees the ticket, the passages and every
tool result so far as numbered evidence (``TICKET``, ``K1``…, ``T1``…) and calls tools through the context,
so each call passes the safety gate and becomes a timeline step. The verdict is a JSON object whose
citations are checked against the evidence actually shown: unknown ids are dropped, and an
``auto_resolved`` with nothing valid cited becomes ``needs_l2``. A tool call with malformed arguments is
recorded and explained back to the model instead of crashing the run. A call the safety gate stopped (denied,
held for approval, rejected, expired, only previewed) of anything but a read is never a fix: a model that claims
``auto_resolved`` after one — e.g. one that obeyed an injected instruction — gets ``needs_l2``, the stopped calls
named in the reason. A call to a tool a connector does not offer goes to the gate too (denied and audited).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from apps.agent.context import RunContext
from apps.agent.contracts import Citation, Depth, Finding, StepKind, Verdict
from apps.agent.prompts import load_prompt
from apps.connectors.models import ConnectorTool
from apps.core.redaction import Vault
from apps.llm.budget import Budget, NoModelConfigured, Untrusted
from apps.llm.gateway import LLMGateway
from apps.llm.models import Workflow
from apps.llm.steps import LLMResult
from tenants.models import Client

TOOL_CALLS = {Depth.QUICK: 2, Depth.STANDARD: 6, Depth.DEEP: 12}  # SRE-3: how far each depth may go
MAX_TOOLS = 64
MAX_EVIDENCE_CHARS = 4000
_FUNCTION_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_ID_MARKER = re.compile(r"\s?\[(?:K|T)\d+\]|\s?\[TICKET\]")
ESCALATE_VERDICTS = {Verdict.NEEDS_TECH, Verdict.NEEDS_L2}
# ActionStatus values of a call that did not run; one of a write (or of an unknown tool) means nothing was fixed.
STOPPED_BY_GATE = {"denied", "awaiting_approval", "rejected", "expired", "dry_run"}


@dataclass
class Evidence:
    id: str
    source: str
    text: str
    citation: Citation


@dataclass
class ToolSpec:
    connector: str
    tool: str
    schema: dict[str, Any]
    access: str = "unknown"  # the tool's classification (read / write / ...); unknown for a tool not offered
    row: ConnectorTool | None = None  # as loaded for the model's tool list (with its connector): not read again


@dataclass
class _State:
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    category: str = ""
    infra_hint: bool | None = None
    stopped: list[str] = field(default_factory=list)  # "connector.tool (status)" of calls the gate stopped


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's answer (fenced in ``` or not); None when there is none."""
    start = text.find("{")
    while start != -1:
        depth = 0
        for index in range(start, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    try:
                        value = json.loads(text[start : index + 1])
                    except ValueError:
                        break
                    return value if isinstance(value, dict) else None
        start = text.find("{", start + 1)
    return None


def tool_specs() -> tuple[list[dict[str, Any]], dict[str, ToolSpec]]:
    """The OpenAI-style function list of every enabled tool, named ``<connector>__<tool>``; the map also holds
    ``<connector>__`` → an empty spec per connector, so a call to a tool it does not offer still reaches the gate."""
    functions: list[dict[str, Any]] = []
    by_name: dict[str, ToolSpec] = {}
    tools = (
        ConnectorTool.objects.filter(enabled=True, present=True, connector__enabled=True)
        .exclude(connector__status="disabled")
        .select_related("connector")
        .order_by("connector__name", "name")[:MAX_TOOLS]
    )
    for tool in tools:
        name = _FUNCTION_NAME.sub("_", f"{tool.connector.name}__{tool.name}")[:64]
        schema = tool.input_schema if isinstance(tool.input_schema, dict) and tool.input_schema else {}
        schema = {"type": "object", "properties": {}, **schema}
        description = f"[{tool.connector.name}, {tool.access}] {tool.description or tool.title or tool.name}"
        functions.append(
            {"type": "function", "function": {"name": name, "description": description[:1000], "parameters": schema}}
        )
        by_name[name] = ToolSpec(tool.connector.name, tool.name, schema, tool.access, row=tool)
        by_name.setdefault(_FUNCTION_NAME.sub("_", f"{tool.connector.name}__"), ToolSpec(tool.connector.name, "", {}))
    return functions, by_name


class LLMDecider:
    def __init__(self, context: RunContext, *, client: Client, budget: Budget, gateway: LLMGateway | None = None):
        self.context = context
        self.client = client
        self.budget = budget
        self.gateway = gateway or LLMGateway(client)
        self.vault = Vault()  # one vault per investigation: placeholders stay consistent across calls
        self.state = _State()

    def investigate(self) -> Finding:
        ticket = self.context.ticket
        ticket_citation = Citation(kind="ticket", ref=ticket.id, label=f"Ticket: {ticket.title[:120]}")
        self.context.seen[ticket.id] = ticket_citation
        self.context.record_step(
            StepKind.READ, system="ticket", title="Read the ticket", detail=ticket.title, citations=(ticket_citation,)
        )
        sender = f"From: {ticket.contact_name} <{ticket.contact_email}>\n" if ticket.contact_email else ""
        self.state.evidence.append(Evidence("TICKET", "ticket", sender + ticket.full_text, ticket_citation))
        for number, passage in enumerate(self.context.search_knowledge(ticket.text, limit=5), start=1):
            self.state.evidence.append(Evidence(f"K{number}", "knowledge", passage.text, passage.citation))
        self._classify()
        self._plan()
        return self._verdict()

    # --- the steps ----------------------------------------------------------------------------
    def _untrusted(self) -> list[Untrusted]:
        return [
            Untrusted(f"{item.source} id={item.id}", item.text[:MAX_EVIDENCE_CHARS]) for item in self.state.evidence
        ]

    def _ask(
        self,
        workflow: str,
        prompt: str,
        variables: dict[str, Any],
        instruction: str,
        *,
        tools: list[dict[str, Any]] | None = None,
        ticket_only: bool = False,
    ) -> LLMResult:
        untrusted = self._untrusted()[:1] if ticket_only else self._untrusted()
        return self.gateway.complete(
            workflow=workflow,
            prompt=load_prompt(prompt),
            variables={"client_name": self.client.name, **variables},
            untrusted=untrusted,
            instruction=instruction,
            tools=tools,
            budget=self.budget,
            vault=self.vault,
        )

    def _classify(self) -> None:
        try:
            result = self._ask(Workflow.CLASSIFY, "classify", {}, "Classify this ticket.", ticket_only=True)
        except NoModelConfigured:
            return  # classification is optional: the cheap route may be left unset
        parsed = parse_json_object(result.text) or {}
        self.state.category = str(parsed.get("category") or "")[:100]
        infra = parsed.get("is_infra")
        self.state.infra_hint = infra if isinstance(infra, bool) else None
        title = f"Classified: {self.state.category or 'unclear'}" + (
            f" ({parsed['priority']})" if parsed.get("priority") else ""
        )
        self.context.record_step(
            StepKind.READ, system="gaby", title=title, data=parsed or {"raw": result.text[:500]}, llm_call=result.call
        )

    def _plan(self) -> None:
        functions, by_name = tool_specs()
        if not functions:
            return
        left = TOOL_CALLS[self.context.depth]
        made = 0
        while left > 0:
            instruction = "Call the next tool you need, or answer DONE."
            if self.state.notes:
                instruction = "\n".join(self.state.notes) + "\n\n" + instruction
                self.state.notes.clear()
            try:
                result = self._ask(
                    Workflow.PLAN,
                    "plan",
                    {"depth": self.context.depth.value, "remaining": left},
                    instruction,
                    tools=functions,
                )
            except NoModelConfigured:
                self.context.record_step(StepKind.READ, system="gaby", title="No planning model: no tools used")
                return
            if not result.tool_calls:
                return
            for call in result.tool_calls:
                if left <= 0:
                    break
                left -= 1
                made += 1
                self._tool_call(call, by_name, result)
        self.context.record_step(
            StepKind.READ,
            system="gaby",
            title=f"Step limit reached: {made} tool calls ({self.context.depth.value} depth)",
        )

    def _tool_call(self, call: dict[str, Any], by_name: dict[str, ToolSpec], result: LLMResult) -> None:
        name, raw = str(call.get("name") or ""), call.get("arguments") or "{}"
        spec = by_name.get(name) if not name.endswith("__") else None
        prefix, _, asked = name.partition("__")
        connector = by_name.get(f"{prefix}__") if asked else None
        if spec is None and connector is not None:
            # A tool this connector does not offer (made up, or named by an injected instruction): the gate
            # denies it and audits the attempt, like every other call.
            spec = ToolSpec(connector.connector, asked[:200], {})
        if spec is None:
            self.state.notes.append(f"There is no tool named {name!r}; use one of the tools you were given.")
            self.context.record_step(
                StepKind.QUERY,
                system="gaby",
                title=f"Unknown tool {name[:100]}",
                data={"arguments": str(raw)[:2000]},
                llm_call=result.call,
            )
            return
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
            if not isinstance(arguments, dict):
                raise ValueError(f"expected a JSON object, got {type(arguments).__name__}")
        except ValueError as exc:
            self.state.notes.append(
                f"Your call to {name} was not made: its arguments are not a valid JSON object "
                f"({exc}). Call it again with arguments matching its schema."
            )
            self.context.record_step(
                StepKind.QUERY,
                system=spec.connector,
                title=f"Malformed arguments for {spec.tool}",
                detail=str(exc)[:500],
                data={"arguments": str(raw)[:2000]},
                llm_call=result.call,
            )
            return
        arguments = _restored(arguments, self.vault)
        outcome = self.context.call_tool(
            spec.connector,
            spec.tool,
            arguments,
            purpose=f"Investigation step: {spec.tool}",
            llm_call=result.call,
            loaded=spec.row,
        )
        if not outcome.executed and outcome.status in STOPPED_BY_GATE and spec.access != "read":
            self.state.stopped.append(f"{spec.connector}.{spec.tool} ({outcome.status.replace('_', ' ')})")
        number = sum(1 for item in self.state.evidence if item.source.startswith("tool")) + 1
        self.state.evidence.append(
            Evidence(f"T{number}", f"tool:{spec.connector}.{spec.tool}", outcome.text, outcome.citation)
        )

    def _verdict(self) -> Finding:
        instruction = "Give your verdict as one JSON object."
        result = self._ask(Workflow.VERDICT, "verdict", {"tone": self.context.tone.value}, instruction)
        parsed = parse_json_object(result.text)
        if parsed is None:
            retry = instruction + " Your previous answer was not a JSON object; answer with the JSON object only."
            result = self._ask(Workflow.VERDICT, "verdict", {"tone": self.context.tone.value}, retry)
            parsed = parse_json_object(result.text)
        if parsed is None:
            reason = "The model's verdict could not be read as JSON twice; a person should take this ticket."
            self.context.record_step(
                StepKind.VERIFY,
                system="gaby",
                title="Verdict unreadable",
                data={"raw": result.text[:2000]},
                llm_call=result.call,
            )
            return Finding(verdict=Verdict.NEEDS_L2, summary=reason, escalation_reason=reason, decided_by="llm")
        return self._finding(parsed, result)

    def _finding(self, parsed: dict[str, Any], result: LLMResult) -> Finding:
        by_id = {item.id: item.citation for item in self.state.evidence}
        cited, rejected = _cited(parsed.get("citations"), by_id)
        infra_cited, _ = _cited(parsed.get("infra_evidence"), by_id)
        try:
            verdict = Verdict(str(parsed.get("verdict")))
        except ValueError:
            verdict = Verdict.NEEDS_L2
        if verdict is Verdict.FAILED:
            verdict = Verdict.NEEDS_L2  # failing is the engine's call, not the model's
        reason = self.vault.restore(str(parsed.get("escalation_reason") or ""))
        substantive = [c for c in cited if c.kind != "ticket"]
        if verdict is Verdict.AUTO_RESOLVED and not substantive:
            verdict = Verdict.NEEDS_L2
            reason = "The model called it resolved without citing a knowledge passage or tool result it was shown."
        if verdict is Verdict.AUTO_RESOLVED and self.state.stopped:
            verdict = Verdict.NEEDS_L2
            reason = (
                f"The model called it resolved, but the safety gate stopped {len(self.state.stopped)} of its "
                f"calls: {', '.join(self.state.stopped[:5])}. A person should review this ticket."
            )
        try:
            confidence = max(0.0, min(1.0, float(parsed.get("confidence") or 0)))
        except (TypeError, ValueError):
            confidence = 0.0
        is_infra = parsed.get("is_infra")
        is_infra = is_infra if isinstance(is_infra, bool) else self.state.infra_hint
        self.context.record_step(
            StepKind.VERIFY,
            system="gaby",
            title=f"Checked citations: {len(cited)} valid, {len(rejected)} rejected",
            data={"verdict_asked": parsed.get("verdict"), "verdict": verdict.value, "rejected": rejected},
            citations=tuple(cited),
            llm_call=result.call,
        )
        reply = _ID_MARKER.sub("", self.vault.restore(str(parsed.get("reply") or ""))).strip()
        return Finding(
            verdict=verdict,
            summary=self.vault.restore(str(parsed.get("summary") or "")).strip(),
            reply=reply,
            citations=cited,
            confidence=confidence,
            is_infra=is_infra,
            infra_evidence=infra_cited,
            escalation_reason=reason if verdict in ESCALATE_VERDICTS or verdict is Verdict.NEEDS_CLIENT else "",
            decided_by="llm",
        )


def _restored(value: Any, vault: Vault) -> Any:
    """Arguments with personal-data placeholders put back: the tool needs the real email, not [EMAIL_1]."""
    if isinstance(value, str):
        return vault.restore(value)
    if isinstance(value, list):
        return [_restored(item, vault) for item in value]
    if isinstance(value, dict):
        return {key: _restored(item, vault) for key, item in value.items()}
    return value


def _cited(value: Any, by_id: dict[str, Citation]) -> tuple[list[Citation], list[str]]:
    """The citations behind ids the model gave (``K1``, ``[T2]``...), and the ids that match nothing shown."""
    ids = value if isinstance(value, list) else []
    cited: list[Citation] = []
    rejected: list[str] = []
    for raw in ids:
        key = str(raw).strip().strip("[]").upper()
        citation = by_id.get(key)
        if citation is None:
            rejected.append(str(raw)[:50])
        elif citation not in cited:
            cited.append(citation)
    return cited, rejected
