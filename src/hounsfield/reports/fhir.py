"""A report as an HL7 FHIR R4 DiagnosticReport (JSON), built and checked with fhir.resources."""

from __future__ import annotations

import base64
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.reports.models import FHIR_STATUS, Report, ReportStatus
from hounsfield.studies.models import Patient as DicomPatient
from hounsfield.studies.models import Study

DICOM_UID_SYSTEM = "urn:dicom:uid"
LOINC = "http://loinc.org"
RADIOLOGY = "http://terminology.hl7.org/CodeSystem/v2-0074"


def diagnostic_report(session: Session, report: Report) -> dict[str, Any]:
    """The report with references to its ImagingStudy and Patient, validated on the way."""
    study = session.scalar(
        select(Study).where(Study.study_instance_uid == report.study_instance_uid)
    )
    patient = session.get(DicomPatient, study.patient_pk) if study else None
    patient_ref = (
        f"Patient/{patient.patient_record_id}"
        if patient and patient.patient_record_id
        else f"Patient/{patient.id}"
        if patient
        else None
    )
    conclusion = "\n".join(p for p in (report.impression, report.recommendation) if p)
    text = "\n\n".join(
        [
            report.findings,
            report.impression,
            report.recommendation,
            *(a["text"] for a in report.addenda),
        ]
    ).strip()
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": str(report.id),
        "status": FHIR_STATUS[ReportStatus(report.status)],
        "category": [{"coding": [{"system": RADIOLOGY, "code": "RAD", "display": "Radiology"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}]
        },
        "imagingStudy": [
            {
                "reference": f"ImagingStudy/{report.study_instance_uid}",
                "identifier": {
                    "system": DICOM_UID_SYSTEM,
                    "value": f"urn:oid:{report.study_instance_uid}",
                },
            }
        ],
        "conclusion": conclusion or None,
        "presentedForm": [
            {"contentType": "text/plain; charset=utf-8", "language": "zh-CN", "data": _base64(text)}
        ]
        if text
        else None,
        "issued": (report.approved_at or report.updated_at).isoformat(),
    }
    if patient_ref:
        resource["subject"] = {"reference": patient_ref}
    clean = {k: v for k, v in resource.items() if v is not None}
    return DiagnosticReport.model_validate(clean).model_dump(mode="json", exclude_none=True)


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
