"""The connector contract (CON-6): what every MCP server Gaby hosts must do, checked through Gaby's own host.

1. **lists its tools** — ``tools/list`` answers with at least one tool;
2. **valid schemas** — each tool's input schema is a JSON Schema for an object;
3. **declares read or write** — each tool sets ``readOnlyHint`` explicitly (true: reads; false: writes), and
   a read is not also marked destructive (Gaby treats an undeclared tool as a write, fail safe);
4. **answers a health check** — the session answers the host's health ping, twice;
5. **a dry run for every write** — each write tool takes a boolean ``dry_run`` argument (the convention
   apps/safety uses: with ``dry_run: true`` the tool shows what it would do and changes nothing); given
   sample arguments, the dry run is called and must succeed.

Authors run it against their own server, no Django needed, from the project root::

    python -m apps.connectors.contract -- python examples/hello_connector.py
    python -m apps.connectors.contract --url https://mcp.example.com/mcp
    python -m apps.connectors.contract --sample 'greet_team={"message": "hi"}' -- ./my-server

It exits 1 when a check fails. tests/connectors/test_contract.py runs it on every first-party server.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from apps.connectors.calls import ConnectorError, ServerSpec, ToolInfo
from apps.connectors.host import Host


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


@dataclass
class ContractReport:
    server: str
    tools: list[ToolInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    dry_runs_called: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(finding.ok for finding in self.findings)

    @property
    def writes(self) -> list[str]:
        return sorted(tool.name for tool in self.tools if tool.read_only_hint is False)

    @property
    def reads(self) -> list[str]:
        return sorted(tool.name for tool in self.tools if tool.read_only_hint is True)

    def add(self, check: str, ok: bool, detail: str) -> None:
        self.findings.append(Finding(check, ok, detail))

    def render(self) -> str:
        lines = [f"Contract for {self.server}: {'PASS' if self.passed else 'FAIL'}"]
        lines += [f"  [{'ok' if f.ok else 'FAIL'}] {f.check}: {f.detail}" for f in self.findings]
        return "\n".join(lines)


def _schema_problem(schema: dict[str, Any]) -> str:
    if schema.get("type") != "object":
        return "its input schema must have type 'object'"
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"its input schema is not valid JSON Schema: {exc.message}"
    return ""


def _dry_run_problem(tool: ToolInfo) -> str:
    properties = tool.input_schema.get("properties") or {}
    dry_run = properties.get("dry_run") if isinstance(properties, dict) else None
    if not isinstance(dry_run, dict) or dry_run.get("type") != "boolean":
        return "it writes but takes no boolean 'dry_run' argument"
    return ""


def check_server(
    spec: ServerSpec, *, dry_run_samples: dict[str, dict[str, Any]] | None = None, host: Host | None = None
) -> ContractReport:
    """Run every check against the server ``spec`` describes; the report says which passed and why not."""
    own_host = host is None
    runner = host or Host(restart_backoff_base=0.0)
    report = ContractReport(server=spec.label)
    try:
        _run_checks(runner, spec, report, dry_run_samples or {})
    finally:
        if own_host:
            runner.shutdown()
        else:
            runner.close(spec)
    return report


def _run_checks(host: Host, spec: ServerSpec, report: ContractReport, samples: dict[str, dict[str, Any]]) -> None:
    try:
        report.tools = host.list_tools(spec)
    except ConnectorError as exc:
        report.add("lists its tools", False, str(exc))
        return
    report.add("lists its tools", bool(report.tools), f"{len(report.tools)} tool(s)" if report.tools else "none")
    bad_schemas = [f"{t.name}: {problem}" for t in report.tools if (problem := _schema_problem(t.input_schema))]
    report.add("valid input schemas", not bad_schemas, "; ".join(bad_schemas) or "all object schemas")
    undeclared = [t.name for t in report.tools if t.read_only_hint is None]
    contradictory = [t.name for t in report.tools if t.read_only_hint is True and t.destructive_hint is True]
    detail = f"{len(report.reads)} read, {len(report.writes)} write"
    if undeclared:
        detail = f"no readOnlyHint on: {', '.join(undeclared)} (set it true for reads, false for writes)"
    if contradictory:
        detail += f"; marked read-only and destructive: {', '.join(contradictory)}"
    report.add("declares read or write", not undeclared and not contradictory, detail)
    try:
        elapsed = [host.ping(spec) for _ in range(2)]
        report.add("answers a health check", True, f"{max(elapsed):.0f} ms")
    except ConnectorError as exc:
        report.add("answers a health check", False, str(exc))
    writes = [t for t in report.tools if t.read_only_hint is False]
    missing = [f"{t.name}: {problem}" for t in writes if (problem := _dry_run_problem(t))]
    report.add("a dry run for every write", not missing, "; ".join(missing) or f"{len(writes)} write tool(s)")
    for tool in writes:
        if tool.name not in samples or _dry_run_problem(tool):
            continue
        arguments = {**samples[tool.name], "dry_run": True}
        try:
            outcome = host.call_tool(spec, tool.name, arguments, max_chars=4000)
        except ConnectorError as exc:
            report.add(f"dry run of {tool.name}", False, str(exc))
            continue
        report.dry_runs_called.append(tool.name)
        report.add(f"dry run of {tool.name}", not outcome.is_error, outcome.text[:300].replace("\n", " "))


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m apps.connectors.contract", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="A streamable-HTTP MCP endpoint instead of a command.")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the server; repeatable.")
    parser.add_argument("--sample", action="append", default=[], help='tool={"json": "arguments"} for a dry run.')
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the command that starts your server (stdio)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = _parse_args(sys.argv[1:] if argv is None else argv)
    command = [part for part in options.command if part != "--"] if options.command else []
    samples = {}
    for sample in options.sample:
        name, _, raw = sample.partition("=")
        samples[name] = json.loads(raw or "{}")
    common: dict[str, Any] = {"connect_timeout": options.timeout, "call_timeout": options.timeout}
    if options.url:
        spec = ServerSpec(label=options.url, transport="http", url=options.url, **common)
    elif command:
        env = dict(pair.partition("=")[::2] for pair in options.env)
        executable = shutil.which(command[0]) or command[0]
        spec = ServerSpec(
            label=" ".join(command),
            transport="stdio",
            command=executable,
            args=tuple(command[1:]),
            env=tuple(sorted(env.items())),
            **common,
        )
    else:
        print("Give --url, or -- followed by the command that starts your server.", file=sys.stderr)
        return 2
    report = check_server(spec, dry_run_samples=samples)
    print(report.render())
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
