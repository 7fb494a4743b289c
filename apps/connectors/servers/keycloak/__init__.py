"""Keycloak as an MCP server: users, sessions and credential status; resets, logouts, enable/disable."""
