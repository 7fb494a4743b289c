from apps.connectors.servers.openapi.server import main

main()
