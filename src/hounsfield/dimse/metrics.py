"""Prometheus counters of the DICOM listener."""

from __future__ import annotations

from prometheus_client import Counter

ASSOCIATIONS = Counter(
    "hounsfield_dicom_associations_total",
    "DICOM associations requested of the listener, by outcome (accepted, refused)",
    ["outcome"],
)
