from apps.connectors.servers.postgres.server import main

main()
