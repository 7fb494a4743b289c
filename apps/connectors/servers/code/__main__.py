from apps.connectors.servers.code.server import main

main()
