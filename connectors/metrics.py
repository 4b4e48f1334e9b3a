"""Prometheus metrics of the service: one registry per app so tests can run several apps."""
from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "concierge_webhook_requests", "Webhook requests by platform and outcome",
            ["platform", "outcome"], registry=r,
        )
        self.turns = Counter("concierge_turns", "Turns processed by action", ["channel", "action"], registry=r)
        self.escalations = Counter("concierge_escalations", "Escalations by reason", ["reason"], registry=r)
        self.sends = Counter("concierge_sends", "Outbound sends by channel and outcome", ["channel", "outcome"], registry=r)
        self.turn_latency = Histogram(
            "concierge_turn_seconds", "Engine turn latency", buckets=LATENCY_BUCKETS, registry=r,
        )
        self.send_latency = Histogram(
            "concierge_send_seconds", "Outbound send latency", ["channel"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.queue_depth = Gauge("concierge_queue_depth", "Messages waiting or in flight in the intake queue", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
