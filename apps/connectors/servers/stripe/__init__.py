"""Stripe as an MCP server: customers, subscriptions, invoices, charges; refunds and invoice actions."""
