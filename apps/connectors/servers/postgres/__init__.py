"""PostgreSQL as an MCP server: read-only by default, parsed statements, limited writes with dry runs."""
