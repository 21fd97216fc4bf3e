"""`GET /metrics` in the Prometheus text format: the bus, the outbox and the last reconcile, read when scraped,
and the HTTP admission control, counted as it happens.

No labels carry a case, a unit or a person: only the service's name.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics"]


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        gauge = lambda name, text: Gauge(name, text, ["service"], registry=self.registry).labels(service)  # noqa: E731
        self.bus_up = gauge("hub_bus_up", "1 when connected, the broker answers and every consumer group has joined")
        self.outbox_pending = gauge("hub_outbox_pending", "Outbox rows waiting to be published")
        self.outbox_parked = gauge("hub_outbox_parked", "Outbox rows the broker refused for good (hub outbox parked)")
        self.republished = gauge("hub_outbox_republished", "Rows sent again to a new broker incarnation since the process started")
        self.reconcile_time = gauge("hub_reconcile_last_run_timestamp_seconds", "When hub reconcile last ran (0: never)")
        self.reconcile_drifted = gauge("hub_reconcile_drifted_cases", "Cases whose state differed between services at the last run")
        self.reconcile_repaired = gauge("hub_reconcile_repaired_facts", "Facts sent again by the last run")
        self.reconcile_rebuild = gauge("hub_reconcile_needs_rebuild_facts", "Facts the last run could not send again (a view to rebuild)")
        self.http_in_flight = gauge("hub_http_in_flight_requests", "HTTP requests being served under the admission limit")
        self.http_queued = gauge("hub_http_queued_requests", "HTTP requests waiting for a place under the admission limit")
        shed = Counter("hub_http_shed_requests", "HTTP requests answered 503 without being served: the queue was full, "
                       "no place came free within HUB_HTTP_QUEUE_SECONDS, or the write they waited for could not start "
                       "within it", ["service", "reason"], registry=self.registry)
        self.http_shed = {reason: shed.labels(service, reason) for reason in ("queue_full", "queue_timeout", "write_wait")}

    def render(self) -> bytes:
        return generate_latest(self.registry)
