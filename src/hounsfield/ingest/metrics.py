"""Prometheus counters of the ingest edge: every instance offered, by route and outcome."""

from __future__ import annotations

from prometheus_client import Counter

INSTANCES = Counter(
    "hounsfield_ingest_instances_total",
    "Instances offered to the archive, by route and outcome (stored, duplicate, refused, ...)",
    ["route", "status"],
)
BYTES = Counter(
    "hounsfield_ingest_bytes_total", "Bytes of the instances stored, by route", ["route"]
)


def route_of(origin: str) -> str:
    """The route without its peer (`dimse:CT_SCANNER` → `dimse`): a bounded label set."""
    return origin.partition(":")[0]
