"""Report exports: the printable PDF (Chinese text in the Noto CJK fonts, labels by language,
every value escaped, the electronic signature block, an audited read)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from pypdf import PdfReader
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.ingest.service import ingest
from hounsfield.worker import shutdown_local_pool
from tests.ai.helpers import dciodvfy_errors
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import parse_multipart
from tests.reports.conftest import new_report

FINDINGS = "右肺上叶见磨玻璃结节，约6mm，边界清楚。<b>不是标签</b>"


@pytest.fixture
def chinese_study() -> str:
    """A CT of 王小明 (male, born 1970-03-02, studied 2024-01-15: 53 years old)."""
    uid = str(generate_uid())
    dataset = make_dataset(
        StudyInstanceUID=uid, AccessionNumber="ACC-PDF-1", Modality="CT",
        PatientName="Wang^Xiaoming=王^小明=", PatientID="MRN0042", PatientSex="M",
        PatientBirthDate="19700302",
    )  # fmt: skip
    assert ingest(to_bytes(dataset), origin="test").status == "stored"
    return uid


def signed_report(
    client: TestClient, doctors: list[Any], study_uid: str, key_images: tuple[str, ...] = ()
) -> dict[str, Any]:
    (_, as_wang), (_, as_li) = doctors
    report = new_report(client, as_wang, study_uid)
    saved = client.patch(
        f"/api/reports/{report['id']}",
        json={"version": report["version"], "findings": FINDINGS, "impression": "考虑炎性结节。",
              "key_images": [{"sop_instance_uid": uid, "frame": 1} for uid in key_images]},
        headers=as_wang,
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert client.post(f"/api/reports/{report['id']}/submit", headers=as_wang).status_code == 200
    approved = client.post(f"/api/reports/{report['id']}/approve", headers=as_li)
    assert approved.status_code == 200, approved.text
    return approved.json()


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_in_chinese_with_patient_sections_addenda_and_signature(
    client: TestClient, doctors: list[Any], chinese_study: str
) -> None:
    (_, as_wang), (_, as_li) = doctors
    report = signed_report(client, doctors, chinese_study)
    amended = client.post(
        f"/api/reports/{report['id']}/amend",
        json={"kind": "addendum", "reason": "补充", "addendum": "建议3个月后复查胸部CT。"},
        headers=as_li,
    )
    assert amended.status_code == 200, amended.text

    response = client.get(f"/api/reports/{report['id']}/pdf", headers=as_wang)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    compact = "".join(text.split())  # pypdf breaks lines where the page wraps them
    assert "王小明" in compact
    assert "右肺上叶见磨玻璃结节，约6mm，边界清楚。<b>不是标签</b>" in compact  # escaped, shown
    assert "考虑炎性结节。" in compact
    assert "建议3个月后复查胸部CT。" in compact
    for label in ("影像诊断报告", "检查所见", "诊断意见", "补充报告", "电子签名", "李主任"):
        assert label in compact, label
    for fact in ("MRN0042", "ACC-PDF-1", "2024-01-15", "CT", "男", "53岁"):
        assert fact in compact, fact
    key_id = client.get(f"/api/reports/{report['id']}/verify", headers=as_wang).json()["key_id"]
    assert key_id
    assert key_id in compact

    audit_service.flush_buffer()
    with transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.resource_id == report["id"])
        ).all()
    assert "report.read" in actions


def test_pdf_labels_in_english_and_a_draft_is_marked_unsigned(
    client: TestClient, doctors: list[Any], chinese_study: str
) -> None:
    (_, as_wang), _ = doctors
    report = new_report(client, as_wang, chinese_study)
    response = client.get(
        f"/api/reports/{report['id']}/pdf", headers={**as_wang, "Accept-Language": "en-US,en"}
    )
    assert response.status_code == 200, response.text
    compact = "".join(pdf_text(response.content).split())
    assert "ImagingReport" in compact
    assert "Notsigned" in compact
    assert "Male" in compact
    assert "王小明" in compact  # the patient's name stays as written
    assert "影像诊断报告" not in compact


def test_signed_report_stored_as_sr_and_encapsulated_pdf(
    client: TestClient, doctors: list[Any], chinese_study: str, tmp_path: Path
) -> None:
    (_, as_wang), (_, as_li) = doctors
    images = client.get(f"/dicom-web/studies/{chinese_study}/instances", headers=as_li).json()
    image_uid = images[0]["00080018"]["Value"][0]
    report = signed_report(client, doctors, chinese_study, key_images=(image_uid,))
    shutdown_local_pool(wait=True)  # the export the approval queued has run
    series = client.get(f"/dicom-web/studies/{chinese_study}/series", headers=as_li)
    assert series.status_code == 200, series.text
    by_modality = {s["00080060"]["Value"][0]: s["0020000E"]["Value"][0] for s in series.json()}
    assert {"SR", "DOC"} <= set(by_modality)

    sr_bytes = retrieve(client, as_wang, chinese_study, by_modality["SR"])
    sr = pydicom.dcmread(io.BytesIO(sr_bytes))
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    items = [item for section in sr.ContentSequence for item in section.ContentSequence]
    texts = [item.TextValue for item in items if item.ValueType == "TEXT"]
    assert FINDINGS in texts
    assert "考虑炎性结节。" in texts
    keys = [i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in items
            if i.ValueType == "IMAGE"]  # fmt: skip
    assert keys == [image_uid]
    assert dciodvfy_errors(sr_bytes, tmp_path) == []

    doc_bytes = retrieve(client, as_wang, chinese_study, by_modality["DOC"])
    doc = pydicom.dcmread(io.BytesIO(doc_bytes))
    assert doc.MIMETypeOfEncapsulatedDocument == "application/pdf"
    body = bytes(doc.EncapsulatedDocument)[: int(doc.EncapsulatedDocumentLength)]
    assert "王小明" in "".join(pdf_text(body).split())
    assert dciodvfy_errors(doc_bytes, tmp_path) == []

    # An addendum is signed again: a new SR and PDF join the same two series.
    amended = client.post(
        f"/api/reports/{report['id']}/amend",
        json={"kind": "addendum", "reason": "补充", "addendum": "建议复查。"},
        headers=as_li,
    )
    assert amended.status_code == 200, amended.text
    shutdown_local_pool(wait=True)
    for modality in ("SR", "DOC"):
        instances = client.get(
            f"/dicom-web/studies/{chinese_study}/series/{by_modality[modality]}/instances",
            headers=as_li,
        ).json()
        assert len(instances) == 2, modality


def retrieve(client: TestClient, headers: dict[str, str], study: str, series: str) -> bytes:
    response = client.get(
        f"/dicom-web/studies/{study}/series/{series}",
        headers={**headers, "Accept": 'multipart/related; type="application/dicom"'},
    )
    assert response.status_code == 200, response.text
    parts = [
        payload
        for _, payload in parse_multipart(response.headers["content-type"], response.content)
    ]
    assert len(parts) == 1
    return parts[0]
