"""Local stand-ins for the vendors Gaby's first-party connectors talk to (Keycloak, Stripe, NinjaOne).

Each is a small, stateful HTTP server that follows the vendor's documented payloads — its pagination,
error bodies, 401 on an expired token, 429 with Retry-After, 5xx — seeded from a fixture dict and
started in a thread. Tests, playbook tests, evals and the demo use them the same way::

    from sandbox.stripe import StripeSandbox, DEMO_SEED
    with StripeSandbox(DEMO_SEED) as stripe:       # or: base_url = stripe.start(); ...; stripe.stop()
        stripe.base_url                           # point the connector here
        stripe.fail_next(429, headers={"Retry-After": "1"})
        stripe.refunds                            # what the connector did, to assert on

Nothing here imports Django: the stand-ins can run beside any process (``python -m sandbox.stripe``).
"""
