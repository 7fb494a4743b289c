"""Cost of a Keycloak or Stripe tool call through Gaby's host, next to the bare vendor HTTP call it makes.

Both against the local stand-ins (sandbox/), in the same run. Floor: the HTTP request the connector sends
(``httpx`` on a kept-alive connection: Keycloak ``GET /admin/realms/acme/users/{id}`` with a token, Stripe
``GET /v1/customers/{id}``). Measured: the tool (``get_user``, ``get_customer``) through ``Host.call_tool``
— thread hop, pooled MCP session to the in-tree server subprocess, its HTTP call and JSON shaping.

    .venv/bin/python bench/first_party_connectors.py [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from apps.connectors.calls import ServerSpec
from apps.connectors.host import Host
from sandbox.keycloak import KeycloakSandbox
from sandbox.stripe import StripeSandbox

ROOT = Path(__file__).resolve().parent.parent


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):6.2f} ms   p95 {ordered[int(len(ordered) * 0.95) - 1]:6.2f} ms"


def timed(calls: int, work: Callable[[], object]) -> list[float]:
    work()  # warm: starts the server, fetches the token
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def spec(label: str, module: str, env: dict[str, str]) -> ServerSpec:
    return ServerSpec(
        label=label,
        transport="stdio",
        command=sys.executable,
        args=("-m", f"apps.connectors.servers.{module}"),
        env=tuple(sorted(env.items())),
        cwd=str(ROOT),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    calls = parser.parse_args().calls
    host = Host()
    with KeycloakSandbox() as kc, StripeSandbox() as stripe:
        jane = kc.user("jane.doe")["id"]
        http = httpx.Client()
        token = http.post(
            f"{kc.base_url}/realms/acme/protocol/openid-connect/token",
            data={"grant_type": "client_credentials", "client_id": "gaby-support", "client_secret": "demo-secret"},
        ).json()["access_token"]
        kc.token_lifespan = 3600
        floor_kc = timed(
            calls,
            lambda: http.get(
                f"{kc.base_url}/admin/realms/acme/users/{jane}", headers={"Authorization": f"Bearer {token}"}
            ).json(),
        )
        kc_spec = spec(
            "bench/keycloak",
            "keycloak",
            {
                "GABY_KC_URL": kc.base_url,
                "GABY_KC_REALM": "acme",
                "GABY_KC_CLIENT_ID": "gaby-support",
                "GABY_KC_CLIENT_SECRET": "demo-secret",
            },
        )
        host_kc = timed(calls, lambda: host.call_tool(kc_spec, "get_user", {"user_id": jane}, max_chars=100_000))
        key = {"Authorization": "Bearer sk_test_gaby_demo"}
        floor_st = timed(calls, lambda: http.get(f"{stripe.base_url}/v1/customers/cus_Acme01", headers=key).json())
        st_spec = spec(
            "bench/stripe",
            "stripe",
            {"GABY_STRIPE_API_KEY": "sk_test_gaby_demo", "GABY_STRIPE_API_BASE": stripe.base_url},
        )
        host_st = timed(
            calls, lambda: host.call_tool(st_spec, "get_customer", {"customer_id": "cus_Acme01"}, max_chars=100_000)
        )
        host.shutdown()
    print(f"{calls} calls each, local stand-ins")
    print(f"  Keycloak floor: GET user over HTTP      {percentiles(floor_kc)}")
    print(f"  Keycloak get_user through Gaby's host   {percentiles(host_kc)}")
    print(f"  Stripe floor:   GET customer over HTTP  {percentiles(floor_st)}")
    print(f"  Stripe get_customer through Gaby's host {percentiles(host_st)}")


if __name__ == "__main__":
    main()
