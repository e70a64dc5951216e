"""The phrase library (常用语): short texts a doctor inserts by a shortcut (`;nml`).

Personal phrases belong to their owner; shared ones are everyone's and only report:template
edits them. The starter set (zh-CN and English) is kept by `ensure_starter_phrases` at every
migrate: built-in rows are read-only and refreshed. Every change is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.db import utcnow
from hounsfield.errors import Conflict, NotFound, PermissionDenied
from hounsfield.reports.models import SHARED, ReportPhrase
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission


class PhraseNotFound(NotFound):
    """常用语不存在"""

    code = "phrase_not_found"
    english = "Phrase not found"


class PhraseExists(Conflict):
    """已有相同快捷词的常用语，请换一个快捷词"""

    code = "phrase_exists"
    english = "A phrase with this shortcut exists: choose another shortcut"


class BuiltinPhrase(Conflict):
    """内置常用语只读，不能修改或删除"""

    code = "builtin_phrase"
    english = "Built-in phrases are read-only"


class SharedPhraseDenied(PermissionDenied):
    """只有可编辑报告模板的用户可以新建、修改或删除共享常用语"""

    code = "shared_phrase_denied"
    english = "Only users who edit report templates can create, change or delete shared phrases"


# shortcut: (language, modality, text). zh-CN and English shortcuts differ (one namespace).
STARTER: dict[str, tuple[str, str | None, str]] = {
    "nml": ("zh-CN", None, "未见明显异常。"),
    "lung": ("zh-CN", None, "双肺纹理清晰，走行自然，未见明确实变及结节影。"),
    "heart": ("zh-CN", None, "心影大小形态正常，纵隔居中，未见肿大淋巴结。"),
    "pleura": ("zh-CN", None, "双侧胸膜未见增厚，胸腔未见积液。"),
    "brain": ("zh-CN", "CT", "脑实质密度均匀，脑室系统大小形态正常，中线结构居中。"),
    "liver": ("zh-CN", None, "肝脏大小形态正常，实质密度均匀，肝内外胆管未见扩张。"),
    "fu": ("zh-CN", None, "建议定期复查。"),
    "clin": ("zh-CN", None, "请结合临床及其他相关检查。"),
    "cmp": ("zh-CN", None, "与前片比较，未见明显变化。"),
    "nmlen": ("en", None, "No significant abnormality."),
    "chesten": (
        "en",
        None,
        "The lungs are clear. The heart and mediastinum are normal. "
        "No pleural effusion or pneumothorax.",
    ),
    "headen": (
        "en",
        "CT",
        "No acute intracranial haemorrhage, mass effect or midline shift. "
        "The ventricles are normal in size.",
    ),
    "fuen": ("en", None, "Follow-up imaging is recommended."),
    "clinen": ("en", None, "Clinical correlation is recommended."),
    "cmpen": ("en", None, "No interval change compared with the prior study."),
}


def ensure_starter_phrases(session: Session) -> None:
    """Insert or refresh the built-in phrases (a custom shared phrase that holds a starter
    shortcut keeps it)."""
    shared = {
        p.shortcut: p
        for p in session.scalars(select(ReportPhrase).where(ReportPhrase.owner_key == SHARED))
    }
    for shortcut, (language, modality, text) in STARTER.items():
        row = shared.get(shortcut)
        if row is not None and not row.builtin:
            continue
        row = row or ReportPhrase(owner_key=SHARED, shortcut=shortcut, builtin=True)
        row.language, row.modality, row.text = language, modality, text
        session.add(row)
    session.flush()


def list_phrases(
    session: Session, user: User, modality: str | None, language: str | None
) -> list[ReportPhrase]:
    """The shared phrases and the caller's own; a phrase without modality fits every one."""
    query = select(ReportPhrase).where(ReportPhrase.owner_key.in_([SHARED, str(user.id)]))
    if modality:
        query = query.where(or_(ReportPhrase.modality.is_(None), ReportPhrase.modality == modality))
    if language:
        query = query.where(or_(ReportPhrase.language.is_(None), ReportPhrase.language == language))
    return list(session.scalars(query.order_by(ReportPhrase.shortcut, ReportPhrase.owner_key)))


def editable(user: User, phrase: ReportPhrase) -> bool:
    if phrase.builtin:
        return False
    if phrase.owner_id is None:
        return Permission.report_template in user.permissions
    return phrase.owner_id == user.id


def create(session: Session, user: User, values: dict[str, Any], *, shared: bool) -> ReportPhrase:
    if shared and Permission.report_template not in user.permissions:
        raise SharedPhraseDenied()
    phrase = ReportPhrase(
        id=uuid.uuid4(), owner_id=None if shared else user.id,
        owner_key=SHARED if shared else str(user.id), builtin=False, **values,
    )  # fmt: skip
    _store(session, phrase)
    _audit(session, "report_phrase.create", user, phrase)
    return phrase


def update(
    session: Session, user: User, phrase_id: uuid.UUID, changes: dict[str, Any]
) -> ReportPhrase:
    phrase = _editable(session, user, phrase_id)
    for key, value in changes.items():
        setattr(phrase, key, value)
    phrase.updated_at = utcnow()
    _store(session, phrase)
    _audit(session, "report_phrase.update", user, phrase, fields=sorted(changes))
    return phrase


def delete(session: Session, user: User, phrase_id: uuid.UUID) -> None:
    phrase = _editable(session, user, phrase_id)
    _audit(session, "report_phrase.delete", user, phrase)
    session.delete(phrase)
    session.flush()


def _editable(session: Session, user: User, phrase_id: uuid.UUID) -> ReportPhrase:
    """The phrase if the caller may change it: another's personal phrase is not found."""
    phrase = session.get(ReportPhrase, phrase_id, with_for_update=True)
    if phrase is None or phrase.owner_key not in (SHARED, str(user.id)):
        raise PhraseNotFound()
    if phrase.builtin:
        raise BuiltinPhrase()
    if phrase.owner_id is None and Permission.report_template not in user.permissions:
        raise SharedPhraseDenied()
    return phrase


def _store(session: Session, phrase: ReportPhrase) -> None:
    """Flush, answering a taken shortcut with 409: looked up first (before the change is
    flushed), and the unique constraint settles a race between two requests."""
    with session.no_autoflush:
        taken = session.scalar(
            select(ReportPhrase.id).where(
                ReportPhrase.owner_key == phrase.owner_key,
                ReportPhrase.shortcut == phrase.shortcut,
                ReportPhrase.id != phrase.id,
            )
        )
    if taken is not None:
        raise PhraseExists(details={"shortcut": phrase.shortcut})
    try:
        with session.begin_nested():
            session.add(phrase)
    except IntegrityError as error:
        raise PhraseExists(details={"shortcut": phrase.shortcut}) from error


def _audit(session: Session, action: str, user: User, phrase: ReportPhrase, **detail: Any) -> None:
    audit.record(
        session, action, user, resource_type="report_phrase", resource_id=str(phrase.id),
        detail={"shortcut": phrase.shortcut, "shared": phrase.owner_id is None, **detail},
    )  # fmt: skip
