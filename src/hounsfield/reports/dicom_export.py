"""A signed report stored into its study as DICOM: a Comprehensive SR (the text, coded by
section, with references to the key images) and an Encapsulated PDF (the printable page).

Both are stored through the archive's one ingest edge after the approving transaction
commits (an outbox task), so WADO-RS serves them like any other instance. Their UIDs come
from the report id and version, so a retried task stores the same objects again.
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime

import highdicom as hd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid
from sqlalchemy.orm import Session

from hounsfield import __version__
from hounsfield.db import after_commit, transaction
from hounsfield.reports.models import Report
from hounsfield.studies import objects, refs
from hounsfield.worker import celery

MANUFACTURER = "Hounsfield"
SR_SERIES_NUMBER = 9801
PDF_SERIES_NUMBER = 9802
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
REPORT_TITLE = hd.sr.CodedConcept("18748-4", "LN", "Diagnostic imaging report")
SECTION = {
    "findings": hd.sr.CodedConcept("121070", "DCM", "Findings"),
    "impression": hd.sr.CodedConcept("121072", "DCM", "Impression"),
    "recommendation": hd.sr.CodedConcept("121074", "DCM", "Recommendation"),
    "addenda": hd.sr.CodedConcept("121073", "DCM", "Impressions"),  # no code for addendum
}
ITEM = {
    "findings": hd.sr.CodedConcept("121071", "DCM", "Finding"),
    "impression": hd.sr.CodedConcept("121073", "DCM", "Impression"),
    "recommendation": hd.sr.CodedConcept("121075", "DCM", "Recommendation"),
    "addenda": hd.sr.CodedConcept("121073", "DCM", "Impression"),
}
KEY_IMAGES = hd.sr.CodedConcept("121180", "DCM", "Key Images")
KEY_IMAGE = hd.sr.CodedConcept("121200", "DCM", "Illustration of ROI")
CONTAINS = hd.sr.RelationshipTypeValues.CONTAINS
# Type 2 attributes copied from the study's image: present, maybe empty.
_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID",
           "StudyDate", "StudyTime", "AccessionNumber", "ReferringPhysicianName")  # fmt: skip


def _uid(report: Report, kind: str) -> str:
    """Instances per signed version; series per report (amendments join the same series)."""
    version = "" if kind.endswith("series") else str(report.version)
    return str(generate_uid(entropy_srcs=[str(report.id), version, kind]))


def _complete(ds: Dataset) -> Dataset:
    for keyword in _COPIED:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds


def _section(key: str, texts: list[str]) -> hd.sr.ContainerContentItem:
    container = hd.sr.ContainerContentItem(name=SECTION[key], relationship_type=CONTAINS)
    container.ContentSequence = hd.sr.ContentSequence(
        [hd.sr.TextContentItem(name=ITEM[key], value=text, relationship_type=CONTAINS)
         for text in texts]
    )  # fmt: skip
    return container


def build_sr(report: Report, evidence: list[Dataset]) -> Dataset:
    """The report text as a Comprehensive SR; key images that are in `evidence` referenced."""
    root = hd.sr.ContainerContentItem(name=REPORT_TITLE)
    children: list[hd.sr.ContentItem] = []
    for key in ("findings", "impression", "recommendation"):
        if text := getattr(report, key):
            children.append(_section(key, [text]))
    if report.addenda:
        children.append(_section("addenda", [str(a["text"]) for a in report.addenda]))
    wanted = {str(k.get("sop_instance_uid")) for k in report.key_images}
    images = [ds for ds in evidence if str(ds.SOPInstanceUID) in wanted]
    if images:
        container = hd.sr.ContainerContentItem(name=KEY_IMAGES, relationship_type=CONTAINS)
        items = [
            hd.sr.ImageContentItem(
                name=KEY_IMAGE, referenced_sop_class_uid=ds.SOPClassUID,
                referenced_sop_instance_uid=ds.SOPInstanceUID, relationship_type=CONTAINS,
            )
            for ds in images
        ]  # fmt: skip
        container.ContentSequence = hd.sr.ContentSequence(items)
        children.append(container)
    root.ContentSequence = hd.sr.ContentSequence(children)
    return hd.sr.ComprehensiveSR(
        evidence=images or evidence[:1], content=root,
        series_instance_uid=_uid(report, "sr-series"), series_number=SR_SERIES_NUMBER,
        sop_instance_uid=_uid(report, "sr"), instance_number=report.version,
        manufacturer=MANUFACTURER, is_complete=True, is_final=True, is_verified=False,
        series_description="Report SR",
    )  # fmt: skip


def build_pdf(report: Report, source: Dataset, pdf: bytes, title: str) -> Dataset:
    """An Encapsulated PDF instance (PS3.3 A.45.1) in the study of `source`."""
    now = datetime.now().astimezone()
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = ENCAPSULATED_PDF
    ds.SOPInstanceUID = UID(_uid(report, "pdf"))
    for keyword in (*_COPIED, "StudyInstanceUID"):
        setattr(ds, keyword, source.get(keyword, ""))
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = _uid(report, "pdf-series")
    ds.SeriesNumber = PDF_SERIES_NUMBER
    ds.SeriesDescription = "Report PDF"
    ds.Manufacturer = MANUFACTURER
    ds.SoftwareVersions = __version__
    ds.ConversionType = "WSD"
    ds.InstanceNumber = report.version
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.InstanceCreationDate, ds.InstanceCreationTime = ds.ContentDate, ds.ContentTime
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = title
    concept = Dataset()
    concept.CodeValue, concept.CodingSchemeDesignator = "18748-4", "LN"
    concept.CodeMeaning = "Diagnostic imaging report"
    ds.ConceptNameCodeSequence = [concept]
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocumentLength = len(pdf)
    ds.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(ENCAPSULATED_PDF)
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@celery.task(name="reports.export_dicom", acks_late=True)
def export_dicom(report_id: str) -> None:
    """Store the report's SR and PDF into its study (the version signed last)."""
    from hounsfield.ingest.service import ingest
    from hounsfield.reports import pdf

    with transaction() as session:
        report = session.get(Report, uuid.UUID(report_id))
        if report is None:
            return
        try:
            stored = refs.instances(session, report.study_instance_uid)
        except refs.StudyNotFound:
            return  # the study was deleted meanwhile: nothing to attach the report to
        evidence = [
            _complete(objects.dataset(ref, stop_before_pixels=True, cache_it=False))
            for ref in stored
            if ref.sop_class_uid != ENCAPSULATED_PDF and not ref.sop_class_uid.startswith(
                "1.2.840.10008.5.1.4.1.1.88.")  # earlier reports' SRs are no evidence
        ]  # fmt: skip
        if not evidence:
            return
        page = pdf.render(session, report, "zh-CN")
        session.expunge(report)
    objects_ = [build_sr(report, evidence), build_pdf(report, evidence[0], page, "影像诊断报告")]
    for ds in objects_:
        outcome = ingest(_bytes(ds), origin="report", study=report.study_instance_uid)
        if not outcome.ok:
            raise RuntimeError(outcome.reason.code if outcome.reason else outcome.status)


def queue_export(session: Session, report: Report) -> None:
    """After the signing transaction commits: store the SR and the PDF (durable, outbox)."""
    from hounsfield.worker import dispatch, record

    entry_id = record(session, export_dicom, report_id=str(report.id))
    after_commit(session, lambda: dispatch(entry_id))
