"""Prometheus metrics of the AI runs, per model version (served on /metrics)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Histogram

from hounsfield.ai.schemas import Manifest

RUNS = Counter("hounsfield_ai_runs_total", "AI runs finished", ["model", "version", "status"])
LATENCY = Histogram(
    "hounsfield_ai_inference_seconds", "AI run latency (preprocessing and inference)",
    ["model", "version"], buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)  # fmt: skip
FINDINGS = Counter("hounsfield_ai_findings_total", "AI findings by label (drift)",
                   ["model", "version", "label"])  # fmt: skip
REVIEWS = Counter(
    "hounsfield_ai_reviews_total", "AI finding reviews", ["model", "version", "decision"]
)


def observe(
    manifest: Manifest, status: str, latency_ms: float | None, labels: Sequence[str]
) -> None:
    RUNS.labels(manifest.name, manifest.version, status).inc()
    if latency_ms is not None:
        LATENCY.labels(manifest.name, manifest.version).observe(latency_ms / 1000.0)
    for label in labels:
        FINDINGS.labels(manifest.name, manifest.version, label).inc()
