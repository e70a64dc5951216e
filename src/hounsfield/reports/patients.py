"""What reports plug into the patient domain: their entries in a patient's timeline.

Reports belong to studies, so a patient merge moves them with the studies (no merge hook).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.auth import scope
from hounsfield.patients.hooks import TimelineEntry, register_timeline_provider
from hounsfield.reports.models import Report, ReportStatus
from hounsfield.reports.service import STATUS_ZH
from hounsfield.studies.models import Patient as DicomPatient
from hounsfield.studies.models import Study


def _timeline(session: Session, patient_id: int) -> Sequence[TimelineEntry]:
    rows = session.scalars(
        select(Report)
        .join(Study, Study.study_instance_uid == Report.study_instance_uid)
        .join(DicomPatient, DicomPatient.id == Study.patient_pk)
        .where(
            DicomPatient.patient_record_id == patient_id,
            Report.status != ReportStatus.cancelled.value,
            Study.deleted_at.is_(None),
            scope.visible(),  # A6: a record spans departments; its reports follow the studies
        )
    )
    return [
        TimelineEntry(
            kind="report",
            at=r.approved_at or r.updated_at,
            title=f"报告（{STATUS_ZH[ReportStatus(r.status)]}）",
            ref=str(r.id),
        )
        for r in rows
    ]


register_timeline_provider("reports", _timeline)
