"""Cost of the Microsoft 365 connector: server start and tool-call latency, each next to a floor measured in the run.

Against the Graph stand-in (sandbox/msgraph.py, HTTPS). Start: a fresh host lists the server's tools (subprocess,
imports of msgraph-sdk and azure-identity, the connection probe: a token and GET /domains), next to the Keycloak
server's start on the same host (a first-party server with no SDK). Calls: ``find_user`` (one Graph GET) and
``sign_in_state`` (three Graph GETs, two of them concurrent) through ``Host.call_tool``, next to the floor — the one
HTTP request ``find_user`` sends, with ``httpx`` on a kept-alive TLS connection and a token already in hand.

    .venv/bin/python bench/microsoft365.py [--calls 100] [--starts 3]
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from apps.connectors.calls import ServerSpec
from apps.connectors.host import Host
from bench.first_party_connectors import percentiles, timed
from sandbox.keycloak import KeycloakSandbox
from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEMO_CLIENT_ID, HARTWELL

ROOT = Path(__file__).resolve().parent.parent
ALLOW = {"GABY_OUTBOUND_ALLOW": "127.0.0.0/8"}  # the stand-ins listen on loopback


def spec(label: str, module: str, env: dict[str, str]) -> ServerSpec:
    return ServerSpec(
        label=label,
        transport="stdio",
        command=sys.executable,
        args=("-m", f"apps.connectors.servers.{module}"),
        env=tuple(sorted({**env, **ALLOW}.items())),
        cwd=str(ROOT),
        connect_timeout=60.0,
        call_timeout=60.0,
    )


def cold_starts(starts: int, server: ServerSpec) -> list[float]:
    samples = []
    for _ in range(starts):
        host = Host()
        started = time.perf_counter()
        host.list_tools(server)
        samples.append((time.perf_counter() - started) * 1000)
        host.shutdown()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--starts", type=int, default=3)
    options = parser.parse_args()
    os.environ.update(ALLOW)
    with GraphSandbox() as graph, KeycloakSandbox() as kc:
        secret = graph.tenant(HARTWELL).apps[DEMO_CLIENT_ID].secret
        m365 = spec(
            "bench/microsoft365",
            "microsoft365",
            {
                "GABY_M365_TENANT_ID": HARTWELL,
                "GABY_M365_CLIENT_ID": DEMO_CLIENT_ID,
                "GABY_M365_CLIENT_SECRET": secret,
                "GABY_M365_AUTHORITY": graph.base_url,
                "GABY_M365_GRAPH_URL": graph.base_url,
                "GABY_M365_CA_FILE": graph.ca_file,
            },
        )
        keycloak = spec(
            "bench/keycloak",
            "keycloak",
            {
                "GABY_KC_URL": kc.base_url,
                "GABY_KC_REALM": "acme",
                "GABY_KC_CLIENT_ID": "gaby-support",
                "GABY_KC_CLIENT_SECRET": "demo-secret",
            },
        )
        start_kc = cold_starts(options.starts, keycloak)
        start_m365 = cold_starts(options.starts, m365)

        http = httpx.Client(verify=ssl.create_default_context(cafile=graph.ca_file))
        token = http.post(
            f"{graph.base_url}/{HARTWELL}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": secret,
                "scope": f"{graph.base_url}/.default",
            },
        ).json()["access_token"]
        query = {
            "$filter": "userPrincipalName eq 'jane.doe@hartwelllaw.com' or mail eq 'jane.doe@hartwelllaw.com'",
            "$select": "id,displayName,userPrincipalName,mail,accountEnabled,jobTitle,usageLocation",
            "$top": "10",
        }
        headers = {"Authorization": f"Bearer {token}"}
        floor = timed(options.calls, lambda: http.get(f"{graph.graph_url}/users", params=query, headers=headers).json())
        host = Host()
        find = timed(
            options.calls,
            lambda: host.call_tool(m365, "find_user", {"query": "jane.doe@hartwelllaw.com"}, max_chars=100_000),
        )
        state = timed(
            options.calls,
            lambda: host.call_tool(m365, "sign_in_state", {"user": "jane.doe@hartwelllaw.com"}, max_chars=100_000),
        )
        host.shutdown()
    print(f"server start (fresh host lists the tools), {options.starts} starts each")
    print(f"  floor: Keycloak server (no SDK)               {percentiles(start_kc)}")
    print(f"  Microsoft 365 server (SDK, token, /domains)   {percentiles(start_m365)}")
    print(f"tool calls against the Graph stand-in (HTTPS), {options.calls} calls each")
    print(f"  floor: GET /v1.0/users?$filter over httpx     {percentiles(floor)}")
    print(f"  find_user through Gaby's host                 {percentiles(find)}")
    print(f"  sign_in_state through Gaby's host (3 GETs)    {percentiles(state)}")


if __name__ == "__main__":
    main()
