from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "apps.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from apps.tickets import inbox
        from apps.tickets.selectors import TicketRows

        inbox.register(TicketRows())
