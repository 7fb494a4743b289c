"""Cost of NinjaOne tool calls through Gaby's host, next to the bare vendor HTTP calls they make.

Against the local NinjaOne stand-in (sandbox/ninjaone.py), in the same run. Floors: the same requests sent with
``httpx`` on a kept-alive connection and a token already in hand. Measured through ``Host.call_tool`` (thread hop,
pooled MCP session to the in-tree server subprocess, its HTTP calls and JSON shaping):

* ``list_services`` — the device check (``GET /v2/device/{id}``) and ``GET .../windows-services``;
* ``device_health`` — the device, the device-health query, volumes, alerts and services (five requests);
* ``run_allowed_script`` — a script the stand-in finishes after ``script_seconds``: its floor is that runtime plus
  the bare requests; the rest is the poll interval (GABY_NINJA_POLL_S) and the host;
* the first call of a fresh server: subprocess start, MCP handshake, token, first request.

    .venv/bin/python bench/ninjaone_connector.py [--calls 100] [--scripts 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from apps.connectors.calls import ServerSpec
from apps.connectors.host import Host
from bench.first_party_connectors import percentiles
from bench.first_party_connectors import timed as timed_after_warmup
from sandbox.ninjaone import DEMO_SEED, NinjaOneSandbox

ROOT = Path(__file__).resolve().parent.parent
SECRET = DEMO_SEED["clients"]["gaby-rmm"]


def timed(calls: int, work: Callable[[], object], *, warm: bool = True) -> list[float]:
    """``first_party_connectors.timed``, optionally without its warm-up call (to time a server's first call)."""
    if warm:
        return timed_after_warmup(calls, work)
    started = time.perf_counter()
    work()
    return [(time.perf_counter() - started) * 1000]


def spec(label: str, base_url: str, poll_s: float) -> ServerSpec:
    env = {
        "GABY_NINJA_URL": base_url,
        "GABY_NINJA_CLIENT_ID": "gaby-rmm",
        "GABY_NINJA_CLIENT_SECRET": SECRET,
        "GABY_NINJA_ORGANIZATIONS": "1",
        "GABY_NINJA_ALLOWED_SCRIPTS": "Network Info,Collect Network Info",
        "GABY_NINJA_POLL_S": str(poll_s),
        "GABY_OUTBOUND_ALLOW": "127.0.0.1/32",
    }
    return ServerSpec(
        label=label,
        transport="stdio",
        command=sys.executable,
        args=("-m", "apps.connectors.servers.ninjaone"),
        env=tuple(sorted(env.items())),
        cwd=str(ROOT),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--scripts", type=int, default=10)
    parser.add_argument("--poll-s", type=float, default=0.5)
    options = parser.parse_args()
    host = Host()
    with NinjaOneSandbox({**DEMO_SEED, "script_seconds": 0.3}) as ninja:
        http = httpx.Client(base_url=ninja.base_url)
        token = http.post(
            "/ws/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "gaby-rmm", "client_secret": SECRET},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def get(path: str, **params: str | int) -> object:
            return http.get(path, headers=auth, params=params or None).json()

        starts = []
        for number in range(5):
            fresh = spec(f"bench/ninjaone-start-{number}", ninja.base_url, options.poll_s)
            starts += timed(1, partial(host.call_tool, fresh, "list_organizations", {}, max_chars=100_000), warm=False)
        main_spec = spec("bench/ninjaone", ninja.base_url, options.poll_s)

        floor_services = timed(options.calls, lambda: (get("/v2/device/101"), get("/v2/device/101/windows-services")))
        host_services = timed(
            options.calls, lambda: host.call_tool(main_spec, "list_services", {"device_id": 101}, max_chars=100_000)
        )

        def health_floor() -> object:
            return (
                get("/v2/device/102"),
                get("/v2/queries/device-health", df="id = 102", pageSize=1),
                get("/v2/device/102/volumes"),
                get("/v2/device/102/alerts"),
                get("/v2/device/102/windows-services"),
            )

        floor_health = timed(options.calls, health_floor)
        host_health = timed(
            options.calls, lambda: host.call_tool(main_spec, "device_health", {"device_id": 102}, max_chars=100_000)
        )
        run = {"device_id": 102, "script": "Collect Network Info", "dry_run": False}
        host_scripts = timed(
            options.scripts, lambda: host.call_tool(main_spec, "run_allowed_script", run, max_chars=100_000)
        )
        host.shutdown()
    script_floor = ninja.script_seconds * 1000
    print(f"NinjaOne stand-in, {options.calls} calls each ({options.scripts} script runs), poll {options.poll_s}s")
    print(f"  server start + handshake + token + first call   {percentiles(starts)}   (5 fresh servers)")
    print(f"  floor: device + services over HTTP             {percentiles(floor_services)}")
    print(f"  list_services through Gaby's host              {percentiles(host_services)}")
    print(f"  floor: the 5 requests of device_health         {percentiles(floor_health)}")
    print(f"  device_health through Gaby's host              {percentiles(host_health)}")
    print(f"  floor: the script's own runtime                {script_floor:7.2f} ms")
    print(f"  run_allowed_script, polled to its output       {percentiles(host_scripts)}")


if __name__ == "__main__":
    main()
