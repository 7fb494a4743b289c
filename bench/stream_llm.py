"""A scripted OpenAI-compatible model for load benchmarks: every streamed completion waits a fixed time, then
streams a fixed answer word by word, in the wire format of the tests' model (tests/llm_server.py). Asynchronous
(aiohttp) rather than that threaded server, and run in its own process so its work does not share the benchmark
client's interpreter; thousands of streams at once cost it almost nothing.

    .venv/bin/python bench/stream_llm.py --port 8765 --first-token-ms 300 --answer "text"
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.llm_server import Reply, stream_events


def make_app(first_token_seconds: float, answer: str) -> web.Application:
    reply = Reply(answer, usage=(20, len(answer.split(" "))))

    async def completions(request: web.Request) -> web.StreamResponse:
        await request.read()
        await asyncio.sleep(first_token_seconds)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in stream_events({"model": "bench"}, reply):
            await response.write(event)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first-token-ms", type=float, default=300)
    parser.add_argument("--answer", required=True)
    args = parser.parse_args()
    app = make_app(args.first_token_ms / 1000, args.answer)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, backlog=4096, access_log=None)


if __name__ == "__main__":
    main()
