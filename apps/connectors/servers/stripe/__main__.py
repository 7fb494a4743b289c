from apps.connectors.servers.stripe.server import main

main()
