"""Outbound webhooks on ticket events (SRC-6): endpoints per client, an event outbox, signed deliveries."""
