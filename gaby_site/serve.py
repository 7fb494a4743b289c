"""Serve Gaby over ASGI (HTTP + websockets) with uvicorn, logging through Gaby's structured logging.

``python -m gaby_site.serve --host 0.0.0.0 --port 8000``. Django is set up first so uvicorn's own
log lines (errors, start-up) go out as the same JSON lines as everything else (OBS-3).
"""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("GABY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GABY_PORT", "8000")))
    parser.add_argument("--proxy-headers", action="store_true", help="Trust X-Forwarded-* from the proxy in front.")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("GABY_WEB_WORKERS", "1")),
        help="Web processes sharing the port (one event loop, so about one core, each).",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    import django
    import uvicorn

    django.setup()
    uvicorn.run(
        "gaby_site.asgi:application",
        host=args.host,
        port=args.port,
        log_config=None,  # keep the logging Django configured
        access_log=False,  # RequestContextMiddleware logs each request with its id and client
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips="*" if args.proxy_headers else None,
        lifespan="off",
        # Chat frames are a few words each: compressing them costs more CPU per frame than it saves on the wire,
        # and each compressed socket holds its own zlib state.
        ws_per_message_deflate=False,
        # Each process runs one event loop: past a few hundred busy widget sockets one process is CPU-bound.
        # Processes share the port; sockets of one conversation meet through the Redis channel layer.
        workers=max(1, args.workers),
    )


if __name__ == "__main__":
    main()
