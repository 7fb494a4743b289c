from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    """Prometheus metrics, OpenTelemetry traces and the MSP's /status page (OBS-1, OBS-2, OBS-4).

    It has no models: it listens to the other apps' rows and audit events, and reads them at scrape time.
    """

    name = "apps.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from apps.observability import heartbeat, recorders, tracing, worker_port

        recorders.connect()
        heartbeat.connect()
        worker_port.connect()
        tracing.configure_from_settings()
