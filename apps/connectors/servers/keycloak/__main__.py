from apps.connectors.servers.keycloak.server import main

main()
