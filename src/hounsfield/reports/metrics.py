"""Report turnaround (study arrival → report final), per modality and priority, on /metrics.

Observed when an approval commits (a rolled-back one counts nothing): a Histogram, which
prometheus_client's multiprocess mode sums over every process (monitoring/multiproc.py).
Both labels take a bounded set of values: a modality outside MODALITIES is "other".
"""

from __future__ import annotations

from prometheus_client import Histogram
from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.db import after_commit, utcnow
from hounsfield.orders.models import PRIORITY_RANK
from hounsfield.reports.models import Report
from hounsfield.studies.models import Study

TURNAROUND = Histogram(
    "hounsfield_report_turnaround_seconds",
    "Time from a study's arrival to its report's approval (final), by modality and priority",
    ["modality", "priority"],
    # 5 min … 1 week: the reading room's range, STAT (minutes) to a backlog (days).
    buckets=(300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800),
)

MODALITIES = frozenset(
    {"CT", "MR", "CR", "DX", "MG", "US", "NM", "PT", "XA", "RF", "ES", "OT", "IO", "PX", "RG"}
)
NON_IMAGE = frozenset({"SR", "SEG", "PR", "KO", "RTSTRUCT", "DOC", "REG"})
PRIORITY_OF_RANK = {rank: priority.value for priority, rank in PRIORITY_RANK.items()}


def modality_label(modalities_in_study: str) -> str:
    """The study's first image modality (`CT\\SR` → CT), bounded to MODALITIES."""
    for value in modalities_in_study.split("\\"):
        modality = value.strip().upper()
        if modality and modality not in NON_IMAGE:
            return modality if modality in MODALITIES else "other"
    return "other"


def observe_turnaround(session: Session, report: Report) -> None:
    """Count the report's turnaround once the approval's transaction commits."""
    row = session.execute(
        select(Study.received_at, Study.modalities_in_study, Study.priority_rank).where(
            Study.study_instance_uid == report.study_instance_uid
        )
    ).first()
    if row is None:
        return
    received_at, modalities, rank = row
    seconds = max(0.0, ((report.approved_at or utcnow()) - received_at).total_seconds())
    labels = (modality_label(modalities or ""), PRIORITY_OF_RANK.get(rank, "routine"))
    after_commit(session, lambda: TURNAROUND.labels(*labels).observe(seconds))
