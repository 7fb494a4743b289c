"""NinjaOne RMM as an MCP server: devices, health, alerts, Windows services and library scripts."""
