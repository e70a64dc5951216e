"""A report as a printable PDF: HTML (every value escaped) rendered by WeasyPrint.

Chinese text uses the system Noto Sans CJK fonts (Debian fonts-noto-cjk); labels are zh-CN
unless the reader prefers English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape
from string import Template

from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.config import get_settings
from hounsfield.ingest.outcome import Language
from hounsfield.reports.models import Report, ReportVersion
from hounsfield.studies.models import Patient, Study
from hounsfield.users.models import User

LABELS: dict[str, dict[Language, str]] = {
    "title": {"zh-CN": "影像诊断报告", "en": "Imaging Report"},
    "name": {"zh-CN": "姓名", "en": "Name"},
    "sex": {"zh-CN": "性别", "en": "Sex"},
    "age": {"zh-CN": "年龄", "en": "Age"},
    "patient_id": {"zh-CN": "病历号", "en": "MRN / Patient ID"},
    "accession": {"zh-CN": "检查号", "en": "Accession"},
    "study_date": {"zh-CN": "检查日期", "en": "Study date"},
    "modality": {"zh-CN": "检查类型", "en": "Modality"},
    "description": {"zh-CN": "检查项目", "en": "Study"},
    "findings": {"zh-CN": "检查所见", "en": "Findings"},
    "impression": {"zh-CN": "诊断意见", "en": "Impression"},
    "recommendation": {"zh-CN": "建议", "en": "Recommendation"},
    "addenda": {"zh-CN": "补充报告", "en": "Addenda"},
    "signer": {"zh-CN": "审核医生", "en": "Signed by"},
    "signed_at": {"zh-CN": "签名时间", "en": "Signed at"},
    "key_id": {"zh-CN": "密钥编号", "en": "Key ID"},
    "e_signature": {"zh-CN": "电子签名", "en": "Electronic signature (电子签名)"},
    "unsigned": {"zh-CN": "未签名（非正式报告）", "en": "Not signed (not a final report)"},
    "status": {"zh-CN": "状态", "en": "Status"},
}
SEX: dict[str, dict[Language, str]] = {
    "M": {"zh-CN": "男", "en": "Male"},
    "F": {"zh-CN": "女", "en": "Female"},
    "O": {"zh-CN": "其他", "en": "Other"},
}
AGE_UNIT: dict[Language, str] = {"zh-CN": "岁", "en": " y"}

PAGE = Template("""<!DOCTYPE html>
<html lang="$lang"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans CJK", sans-serif; font-size: 10.5pt; }
header { display: flex; align-items: center; gap: 8mm; border-bottom: 1.5pt solid #000; }
header img { max-height: 16mm; }
h1 { font-size: 16pt; margin: 2mm 0; } h2 { font-size: 12pt; margin: 5mm 0 1mm; }
table.patient { width: 100%; border-collapse: collapse; margin-top: 3mm; }
table.patient th { text-align: left; font-weight: normal; color: #444; padding-right: 2mm; }
p.text { white-space: pre-wrap; margin: 0; }
footer { margin-top: 10mm; border-top: 1pt solid #000; padding-top: 2mm; }
</style></head><body>
<header>$logo<div><div>$hospital</div><h1>$title</h1></div></header>
<table class="patient">$patient</table>
$sections
$addenda
<footer>$signature</footer>
</body></html>""")


@dataclass
class Facts:
    """What the page shows besides the report text: patient, study and signature."""

    patient_name: str
    sex: str
    age: str
    patient_id: str
    accession: str
    study_date: str
    modality: str
    description: str
    signer: str | None
    signed_at: str | None
    key_id: str | None


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _group(value: str) -> str:
    """One PN group as written: 王小明 (Chinese components joined), Wang Xiaoming."""
    parts = [p.strip() for p in value.split("^") if p.strip()]
    return ("" if _CJK.search(value) else " ").join(parts)


def patient_display_name(patient: Patient | None, study: Study | None) -> str:
    """The Chinese (ideographic) name first, then the alphabetic one: 王小明 (Wang Xiaoming);
    a name written only in Chinese once."""
    if patient is None:
        return _group(study.patient_name.split("=")[0]) if study else ""
    # The groups as sent (the name_* columns are case-folded for matching).
    groups = [*patient.patient_name.split("="), "", ""]
    ideographic = _group(groups[1] or patient.name_ideographic)
    alphabetic = _group(groups[0] or patient.name_alphabetic)
    if ideographic and alphabetic and alphabetic != ideographic:
        return f"{ideographic} ({alphabetic})"
    return ideographic or alphabetic


def _age(birth: date | None, on: date | None) -> int | None:
    if birth is None or on is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def facts(session: Session, report: Report, lang: Language) -> Facts:
    study = session.scalar(
        select(Study).where(Study.study_instance_uid == report.study_instance_uid)
    )
    patient = session.get(Patient, study.patient_pk) if study else None
    birth = patient.birth_date if patient else None
    age = _age(birth, study.study_date if study else None)
    sex = (patient.sex if patient else "") or (study.patient_sex if study else "")
    signed = session.scalar(
        select(ReportVersion)
        .where(ReportVersion.report_id == report.id, ReportVersion.signature.is_not(None))
        .order_by(ReportVersion.number.desc())
        .limit(1)
    )
    signer = session.get(User, signed.saved_by_id) if signed else None
    return Facts(
        patient_name=patient_display_name(patient, study),
        sex=SEX.get(sex, {}).get(lang, sex),
        age=f"{age}{AGE_UNIT[lang]}" if age is not None else "",
        patient_id=patient.patient_id if patient else "",
        accession=study.accession_number if study else "",
        study_date=study.study_date.isoformat() if study and study.study_date else "",
        modality=(study.modalities_in_study.replace("\\", "/") if study else ""),
        description=study.study_description if study else "",
        signer=(signer.display_name or signer.username) if signer else None,
        signed_at=signed.signed_at.isoformat() if signed and signed.signed_at else None,
        key_id=signed.key_id if signed else None,
    )


def html_of(report: Report, facts: Facts, lang: Language) -> str:
    """The page as HTML; every value from the database goes through escape()."""

    def label(key: str) -> str:
        return escape(LABELS[key][lang])

    def cell(key: str, value: str) -> str:
        return f"<th>{label(key)}</th><td>{escape(value)}</td>"

    patient = "".join(
        f"<tr>{row}</tr>"
        for row in (
            cell("name", facts.patient_name) + cell("sex", facts.sex) + cell("age", facts.age),
            cell("patient_id", facts.patient_id) + cell("accession", facts.accession)
            + cell("study_date", facts.study_date),
            cell("modality", facts.modality) + cell("description", facts.description)
            + "<th></th><td></td>",
        )
    )  # fmt: skip
    sections = "".join(
        f'<h2>{label(key)}</h2><p class="text">{escape(text)}</p>'
        for key, text in (
            ("findings", report.findings),
            ("impression", report.impression),
            ("recommendation", report.recommendation),
        )
        if text
    )
    addenda = ""
    if report.addenda:
        items = "".join(
            f'<p class="text">{escape(str(a.get("at", ""))[:19])} — {escape(str(a["text"]))}</p>'
            for a in report.addenda
        )
        addenda = f"<h2>{label('addenda')}</h2>{items}"
    if facts.signer is None:
        signature = f"<p>{label('unsigned')}</p>"
    else:
        signature = (
            f"<p><b>{label('e_signature')}</b></p><p>{label('signer')}: {escape(facts.signer)}"
            f"　{label('signed_at')}: {escape(facts.signed_at or '')}"
            f"　{label('key_id')}: {escape(facts.key_id or '')}</p>"
        )
    settings = get_settings().reports
    logo = ""
    if settings.logo_path is not None:
        logo = f'<img src="{escape(settings.logo_path.resolve().as_uri())}" alt="">'
    return PAGE.substitute(
        lang=lang, logo=logo, hospital=escape(settings.hospital_name), title=label("title"),
        patient=patient, sections=sections, addenda=addenda, signature=signature,
    )  # fmt: skip


def render(session: Session, report: Report, lang: Language) -> bytes:
    """The report as PDF bytes."""
    from weasyprint import HTML  # heavy import: only when a PDF is asked for

    page = html_of(report, facts(session, report, lang), lang)
    pdf: bytes = HTML(string=page).write_pdf()
    return pdf
