"""PostgreSQL, Redis (cache and channel layer) and Celery beat's schedule, built from what ``settings.py`` read."""

from __future__ import annotations

from typing import Any

from apps.core.env import parse_database_url


def database(name: str, url: str, *, conn_max_age: int) -> dict[str, Any]:
    """The ``DATABASES`` entry for the URL in the variable ``name`` (django-tenants' PostgreSQL backend)."""
    parsed = parse_database_url(name, url)
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": parsed.name,
        "USER": parsed.user,
        "PASSWORD": parsed.password,
        "HOST": parsed.host,
        "PORT": parsed.port,
        "OPTIONS": parsed.options,
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": f"test_{parsed.name}"},
    }


def caches(redis_url: str, prefix: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }


def channel_layers(redis_url: str, prefix: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "apps.core.channel_layer.RedisChannelLayer",  # survives a late inbox read (see there)
            # The pool has room for a thousand sockets' group joins and sends at once (redis-py 8 caps it at 100).
            # Every socket of one web process shares one Redis inbox, and its capacity is what a full inbox holds
            # before group sends are *silently dropped*: sized for a thousand sockets, not channels_redis' 100.
            "CONFIG": {
                "hosts": [{"address": redis_url, "max_connections": 1000}],
                "prefix": f"{prefix}:asgi",
                "capacity": 20_000,
            },
        }
    }


def beat_schedule(*, connector_health_interval: int) -> dict[str, dict[str, Any]]:
    """Every periodic job of every app, in one place. Each fans out from the public schema to every client."""
    return {
        # Ping every enabled connector (CON-5); status changes are recorded on the connector.
        "connectors-health": {"task": "connectors.check_all_clients", "schedule": float(connector_health_interval)},
        # One poll per due ticket source of every client; each source's own interval governs.
        "tickets-poll-due-sources": {"task": "tickets.poll_due_sources", "schedule": 15.0},
        # Queue scheduled knowledge syncs and expire old KB candidates.
        "knowledge-housekeeping": {"task": "knowledge.housekeeping", "schedule": 60.0},
        # Approvals nobody decided in time expire and never run.
        "safety-expire-approvals": {"task": "safety.expire_approvals", "schedule": 60.0},
        # Chats whose visitor left stop showing "Gaby is answering" (GABY_CHAT_IDLE_CLOSE_MINUTES).
        "chat-close-idle": {"task": "chat.close_idle_conversations", "schedule": 300.0},
        # Re-queue outbound webhook deliveries whose task was lost (broker down at commit, worker gone).
        "tickets-webhook-sweep": {"task": "tickets.sweep_webhooks", "schedule": 300.0},
        # Re-send help-desk pushes whose task was lost; pushes a worker never confirmed show as failed (Retry).
        "tickets-push-sweep": {"task": "tickets.sweep_pushes", "schedule": 300.0},
        # Investigations whose worker stopped (no heartbeat) or that no worker picked up fail with a reason.
        "agent-fail-stuck-investigations": {"task": "agent.fail_stuck_investigations", "schedule": 60.0},
        "agent-nightly-summaries": {"task": "agent.send_nightly_summaries", "schedule": 900.0},
        # Proves beat, the broker and a worker all move (the /status page and gaby_celery_beat_age_seconds).
        "observability-beat-heartbeat": {"task": "observability.beat_heartbeat", "schedule": 30.0},
        # The portal's attention queue, read from every client's schema into one table (apps/portal/snapshot.py).
        "portal-refresh-attention": {"task": "portal.refresh_attention", "schedule": 15.0},
        # Time records whose write-back task was lost (or whose worker died mid-write) are written again, once.
        "billing-time-sweep": {"task": "billing.sweep_time", "schedule": 120.0},
    }
