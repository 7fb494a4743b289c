"""CON-6: every connector Gaby ships or hosts passes the contract (apps/connectors/contract.py).

Targets: every first-party server the catalog names or that exists under apps/connectors/servers (found at
collection time, so a new server is checked the day it lands), an added MCP server from PyPI
(mcp-server-time) and the hello-world connector of docs/connectors/authoring.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from apps.connectors import catalog
from apps.connectors.calls import ServerSpec
from apps.connectors.contract import check_server
from apps.connectors.host import host
from apps.connectors.specs import first_party_spec
from tests.connectors.conftest import VENV_BIN, ContractTarget

FIRST_PARTY = catalog.first_party_servers()
HELLO = Path(settings.BASE_DIR) / "examples" / "hello_connector.py"


def _first_party(name: str, request: pytest.FixtureRequest) -> tuple[ContractTarget, bool]:
    """The server's contract_<name> fixture, or the bare package started with no settings."""
    try:
        return request.getfixturevalue(f"contract_{name}"), True
    except pytest.FixtureLookupError:
        spec = first_party_spec(name, {}, label=f"contract/{name}", connect_timeout=30.0, call_timeout=30.0)
        return ContractTarget(spec), False


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_first_party_server_passes_the_contract(name: str, request: pytest.FixtureRequest) -> None:
    target, configured = _first_party(name, request)
    report = check_server(target.spec, dry_run_samples=target.samples, host=host())
    assert report.passed, report.render()
    if configured:  # with its fixture's sample arguments, every write's dry run was actually called
        assert sorted(report.dry_runs_called) == report.writes, report.render()


def test_the_expected_first_party_servers_are_discovered() -> None:
    assert {"postgres", "code", "openapi"} <= set(FIRST_PARTY)
    for entry in catalog.entries():
        if entry.first_party and entry.server:
            assert entry.server in catalog.server_packages(), f"{entry.id} names a missing server package"


def test_an_added_mcp_server_passes_the_contract() -> None:
    spec = ServerSpec(label="contract/mcp-server-time", transport="stdio", command=str(VENV_BIN / "mcp-server-time"))
    report = check_server(spec, host=host())
    assert report.passed, report.render()
    assert report.reads == ["convert_time", "get_current_time"] and report.writes == []


def test_the_hello_world_connector_passes_the_contract(tmp_path: Path) -> None:
    assert len(HELLO.read_text().splitlines()) < 100
    board = tmp_path / "board.json"
    spec = ServerSpec(
        label="contract/hello",
        transport="stdio",
        command=sys.executable,
        args=(str(HELLO),),
        env=(("HELLO_BOARD", str(board)),),
    )
    report = check_server(spec, dry_run_samples={"set_status": {"service": "api", "status": "down"}}, host=host())
    assert report.passed, report.render()
    assert report.reads == ["get_status"] and report.dry_runs_called == ["set_status"]
    assert not board.exists()  # the dry run changed nothing


BAD_SERVER = """
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
server = MCPServer(name="careless")

@server.tool()
def undeclared(x: int) -> str:
    return str(x)

@server.tool(annotations=ToolAnnotations(read_only_hint=False))
def wipe(target: str) -> str:
    return "gone"

@server.tool(annotations=ToolAnnotations(read_only_hint=True, destructive_hint=True))
def confused() -> str:
    return "?"

server.run("stdio")
"""


def test_the_contract_names_what_a_careless_server_gets_wrong(tmp_path: Path) -> None:
    script = tmp_path / "careless.py"
    script.write_text(BAD_SERVER)
    spec = ServerSpec(label="contract/careless", transport="stdio", command=sys.executable, args=(str(script),))
    report = check_server(spec, host=host())
    failed = {finding.check: finding.detail for finding in report.findings if not finding.ok}
    assert set(failed) == {"declares read or write", "a dry run for every write"}
    assert "no readOnlyHint on: undeclared" in failed["declares read or write"]
    assert "read-only and destructive: confused" in failed["declares read or write"]
    assert "wipe: it writes but takes no boolean 'dry_run' argument" in failed["a dry run for every write"]


def test_a_server_that_does_not_start_fails_with_its_reason() -> None:
    spec = ServerSpec(label="contract/missing", transport="stdio", command="/nonexistent/mcp-server", connect_timeout=5)
    report = check_server(spec, host=host())
    assert not report.passed and "was not found on the Gaby host" in report.render()


def test_authors_run_the_contract_from_the_command_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "apps.connectors.contract",
            "--env",
            f"HELLO_BOARD={tmp_path / 'b.json'}",
            "--sample",
            'set_status={"service": "api", "status": "degraded"}',
            "--",
            sys.executable,
            str(HELLO),
        ],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and "[ok] dry run of set_status" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "apps.connectors.contract", "--", "/nonexistent/server"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and "FAIL" in bad.stdout
