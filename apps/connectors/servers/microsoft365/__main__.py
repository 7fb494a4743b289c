"""Microsoft 365 as an MCP server: users, sign-in state, MFA, licences, groups and Intune devices."""

from apps.connectors.servers.microsoft365.server import main

main()
