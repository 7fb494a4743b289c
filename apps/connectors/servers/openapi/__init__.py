"""Any REST API with an OpenAPI 3 document as an MCP server: one tool per operation, writes dry-run first."""
