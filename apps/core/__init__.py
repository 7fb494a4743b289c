"""The bottom layer (DESIGN.md §3): what every app uses. Modules here import no Django at import time, so the
first-party MCP servers (standalone stdio processes, apps/connectors/servers) can use them too."""
