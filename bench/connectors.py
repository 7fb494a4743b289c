"""Cost of Gaby's MCP host per tool call, next to the bare SDK on the same server in the same run.

Floor: one ``mcp.Client`` session to ``mcp-server-time`` calling ``get_current_time`` in a loop (the
official SDK alone). Measured: the same call through ``Host.call_tool`` (thread hop to the host loop,
pooled session, semaphore, timeout, result rendering and cap). Then calls per second with 20 concurrent
investigations in one worker: 20 threads calling through the host's one pooled session, next to its floor,
20 asyncio tasks sharing one bare SDK session (the most the server and the SDK give on this machine).
No database: this isolates the host; ``services.execute_tool_call`` adds one indexed query for the tool row.

    .venv/bin/python bench/connectors.py [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from apps.connectors.calls import ServerSpec
from apps.connectors.host import Host

SERVER = str(Path(sys.executable).parent / "mcp-server-time")
ARGS = {"timezone": "UTC"}


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {p50:6.2f} ms   p95 {p95:6.2f} ms"


async def bare_sdk(calls: int) -> list[float]:
    from mcp import Client, StdioServerParameters

    samples = []
    async with Client(StdioServerParameters(command=SERVER), cache=None) as client:
        await client.call_tool("get_current_time", ARGS)  # warm
        for _ in range(calls):
            started = time.perf_counter()
            await client.call_tool("get_current_time", ARGS)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def bare_sdk_concurrent(calls: int, workers: int = 20) -> float:
    """Floor for the concurrent figure: ``workers`` tasks sharing one bare SDK session, calls per second."""
    from mcp import Client, StdioServerParameters

    async with Client(StdioServerParameters(command=SERVER), cache=None) as client:
        await client.call_tool("get_current_time", ARGS)  # warm
        remaining = iter(range(calls))

        async def worker() -> None:
            for _ in remaining:
                await client.call_tool("get_current_time", ARGS)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return calls / (time.perf_counter() - started)


def through_host(host: Host, spec: ServerSpec, calls: int) -> list[float]:
    host.call_tool(spec, "get_current_time", ARGS, max_chars=100_000)  # warm: starts the server
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        host.call_tool(spec, "get_current_time", ARGS, max_chars=100_000)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def concurrent(host: Host, spec: ServerSpec, calls: int, workers: int = 20) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: host.call_tool(spec, "get_current_time", ARGS, max_chars=100_000), range(calls)))
    return calls / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    calls = parser.parse_args().calls
    floor = asyncio.run(bare_sdk(calls))
    concurrent_floor = asyncio.run(bare_sdk_concurrent(calls * 2))
    host = Host()
    spec = ServerSpec(label="bench/time", transport="stdio", command=SERVER, max_concurrency=20)
    measured = through_host(host, spec, calls)
    print(f"bare SDK   (floor)  {percentiles(floor)}   over {calls} sequential calls")
    print(
        f"Gaby host           {percentiles(measured)}   overhead p50 "
        f"{statistics.median(measured) - statistics.median(floor):+.2f} ms"
    )
    print(f"20 concurrent investigations, bare SDK (floor)  {concurrent_floor:6.0f} calls/s   one session, 20 tasks")
    print(
        f"20 concurrent investigations, Gaby host        {concurrent(host, spec, calls * 2):6.0f} calls/s   "
        "20 threads, one pooled session"
    )
    host.shutdown()


if __name__ == "__main__":
    main()
