"""First-party MCP servers, written with the official SDK and run by Gaby's host like any other server.

Each package is a standalone stdio server (``python -m apps.connectors.servers.<name>``): it imports
no Django, reads its settings from the environment the host gives it, and declares for each tool
whether it reads or writes through the MCP annotations (readOnlyHint / destructiveHint).
"""
