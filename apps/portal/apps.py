from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The MSP portal over every client: one attention queue and a card per client (MSP-3, OBS-4).

    Its one table (``AttentionMark``, public schema) remembers who acknowledged or snoozed an item; the items
    themselves are read where they live, in each client's schema.
    """

    name = "apps.portal"
    label = "portal"
    verbose_name = "MSP portal"
