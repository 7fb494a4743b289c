"""NinjaOne RMM as an MCP server: devices, health, alerts, Windows services and library scripts."""

from apps.connectors.servers.ninjaone.server import main

main()
