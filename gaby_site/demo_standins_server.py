"""One demo stand-in, serving the MSP demo's world until SIGTERM or Ctrl-C: what ``./gaby run`` supervises.

``python -m gaby_site.demo_standins_server msgraph --port 8443 --data-dir var`` serves Microsoft Graph and the
identity platform's token endpoint over HTTPS (its CA kept in ``<data dir>/demo-standins/msgraph-ca``);
``… ninjaone --port 8190 …`` serves NinjaOne's API v2. The world is ``sandbox/msp_demo.py``'s.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from gaby_site.demo_standins import GRAPH, HOST, NINJAONE, DemoStandIns
from sandbox.base import Sandbox


def build(name: str, standins: DemoStandIns) -> Sandbox:
    from sandbox import msp_demo

    if name == GRAPH:
        from sandbox.msgraph import GraphSandbox

        return GraphSandbox(msp_demo.graph_seed(), ca_dir=str(standins.ca_dir))
    from sandbox.ninjaone import NinjaOneSandbox

    return NinjaOneSandbox(msp_demo.ninjaone_seed())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="A vendor stand-in of Gaby's MSP demo, on 127.0.0.1.")
    parser.add_argument("name", choices=(GRAPH, NINJAONE))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    options = parser.parse_args(argv)
    ports = {GRAPH: 0, NINJAONE: 0} | {options.name: options.port}
    standins = DemoStandIns(options.data_dir, graph_port=ports[GRAPH], ninjaone_port=ports[NINJAONE])
    standins.root.mkdir(parents=True, exist_ok=True)
    sandbox = build(options.name, standins)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"Demo stand-in {options.name}: {sandbox.start(HOST, options.port)}", flush=True)
    stop.wait()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
