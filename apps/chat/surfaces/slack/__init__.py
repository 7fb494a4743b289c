"""Gaby as a Slack app (SRC-4): Bolt verifies and routes events, ``outbound`` posts in threads through slack-sdk."""
