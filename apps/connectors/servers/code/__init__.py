"""A git repository as an MCP server: search, read at a line range, history, blame, symbols (FND-5)."""
