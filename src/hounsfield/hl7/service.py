"""HL7 v2 from the hospital information system: patients (ADT) and orders (ORM / OMI).

`receive` handles one message: it is applied in one transaction, or not at all. The ACK
says which: AA applied; AE understood but refused, with the reason (an unknown patient to
merge, an order that cannot change, invalid data); AR not understood (malformed, an
unsupported type). Every message is stored with its outcome for review (hl7_messages);
a message resent with the same sender and control ID (MSH-10) after an AA is answered AA
again without being applied twice.

- ADT^A01 / A04 (admit, register): register the patient, or update a known one.
- ADT^A08 (update patient information): update (register if unknown).
- ADT^A40 (merge patient): the record of MRG-1 is merged into that of PID-3.
- ORM^O01 / OMI^O23: ORC-1 NW schedules an order, XO changes it, CA (OC, DC) cancels it;
  the order is known by its placer order number (ORC-2). An unknown patient is registered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Anonymous
from hounsfield.db import transaction
from hounsfield.errors import HounsfieldError
from hounsfield.hl7 import messages
from hounsfield.hl7.messages import Hl7Refused, Parsed
from hounsfield.hl7.models import Hl7Message
from hounsfield.orders import service as orders_service
from hounsfield.orders.models import local_zone
from hounsfield.patients import merge as patients_merge
from hounsfield.patients import service as patients_service
from hounsfield.patients.models import PatientRecord
from hounsfield.patients.schemas import PatientCreate, PatientUpdate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ack_code: str  # AA, AE, AR
    reason_code: str
    reason: str  # zh-CN: the HIS's operators read it
    ack: str  # the ACK message, ER7


def receive(text: str, peer: str = "") -> Outcome:
    """Apply one message (all or nothing), store it with its outcome, return the ACK."""
    try:
        parsed = messages.parse(text)
    except Hl7Refused as refused:
        return _store(text, peer, None, refused.ack, refused.code, refused.zh)
    if _already_applied(parsed):
        return _outcome(parsed, "AA", "duplicate", "")
    handler = HANDLERS.get(parsed.message_type)
    if handler is None:
        reason = f"不支持的消息类型：{parsed.message_type}"
        return _store(text, peer, parsed, "AR", "unsupported_message_type", reason)
    actor = Anonymous(username=f"hl7:{parsed.sending_application}"[:64])
    try:
        with transaction(write=True) as session:
            patient_mrn = handler(session, actor, parsed)
            session.add(_row(text, peer, parsed, "AA", "", ""))
            audit.record(
                session, "hl7.receive", actor, resource_type="hl7",
                resource_id=parsed.control_id, patient_id=patient_mrn or None,
                detail={"message_type": parsed.message_type},
            )  # fmt: skip
    except Hl7Refused as refused:
        return _store(text, peer, parsed, refused.ack, refused.code, refused.zh)
    except HounsfieldError as error:  # a domain's refusal (invalid data, a conflict)
        return _store(text, peer, parsed, "AE", error.code, str(error)[:255])
    except ValidationError as error:  # a field the domain's schema refuses
        fields = ", ".join(sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]}))
        return _store(text, peer, parsed, "AE", "invalid_data", f"字段无效：{fields}")
    return _outcome(parsed, "AA", "", "")


def refuse_undecodable(text: str, peer: str, encoding: str) -> Outcome:
    """Bytes that are not text in the configured encoding: refused (AR), kept for review."""
    return _store(text, peer, None, "AR", "undecodable", f"消息不是 {encoding} 编码")


def receive_oversized(peer: str) -> Outcome:
    """A frame over `hl7.max_message_bytes`: refused (AR); the connection then closes."""
    return _store("", peer, None, "AR", "too_large", "消息过大")


def _already_applied(parsed: Parsed) -> bool:
    with transaction() as session:
        found = session.scalar(
            select(Hl7Message.id).where(
                Hl7Message.sending_application == parsed.sending_application,
                Hl7Message.control_id == parsed.control_id,
                Hl7Message.ack_code == "AA",
            )
        )
    return found is not None


def _row(
    text: str, peer: str, parsed: Parsed | None, code: str, reason_code: str, reason: str
) -> Hl7Message:
    return Hl7Message(
        peer=peer[:64],
        sending_application=(parsed.sending_application if parsed else "")[:64],
        control_id=(parsed.control_id if parsed else "")[:64],
        message_type=(parsed.message_type if parsed else "")[:32],
        ack_code=code, reason_code=reason_code[:64], reason=reason[:255], raw=text,
    )  # fmt: skip


def _store(
    text: str, peer: str, parsed: Parsed | None, code: str, reason_code: str, reason: str
) -> Outcome:
    """Keep a refused message for review (its changes were rolled back) and say why."""
    with transaction(write=True) as session:
        session.add(_row(text, peer, parsed, code, reason_code, reason))
    logger.info("hl7 message refused: %s %s", code, reason_code)  # the code only: no PHI
    return _outcome(parsed, code, reason_code, reason)


def _outcome(parsed: Parsed | None, code: str, reason_code: str, reason: str) -> Outcome:
    version = "2.5"
    if parsed is not None:
        version = str(parsed.message.version or "2.5")
    return Outcome(code, reason_code, reason, messages.ack(parsed, code, reason, version=version))


# -- patients ----------------------------------------------------------------------------


def _record(session: Session, mrn: str, issuer: str) -> PatientRecord | None:
    return session.scalar(
        select(PatientRecord)
        .where(
            PatientRecord.mrn == mrn,
            PatientRecord.issuer == issuer,
            PatientRecord.deleted_at.is_(None),
        )
        .with_for_update()
    )


def _fields(facts: messages.PatientFacts) -> dict[str, Any]:
    """What the message says about the patient (empty fields say nothing)."""
    values: dict[str, Any] = {
        "name_ideographic": facts.name_ideographic, "name_alphabetic": facts.name_alphabetic,
        "sex": facts.sex, "birth_date": facts.birth_date, "address": facts.address,
        "phone": facts.phone, "national_id": facts.national_id,
    }  # fmt: skip
    return {k: v for k, v in values.items() if v not in (None, "")}


def _register_or_update(session: Session, actor: Anonymous, facts: messages.PatientFacts) -> int:
    record = _record(session, facts.mrn, facts.issuer)
    if record is None:
        body = PatientCreate.model_validate(
            {"mrn": facts.mrn, "issuer": facts.issuer, **_fields(facts)}
        )
        return patients_service.create_patient(session, actor, body).id
    changes = _fields(facts)
    if changes:
        update = PatientUpdate.model_validate({"version": record.version, **changes})
        patients_service.update_patient(session, actor, record.id, update)
    return record.id


def _adt_register(session: Session, actor: Anonymous, parsed: Parsed) -> str:
    facts = messages.patient(parsed)
    _register_or_update(session, actor, facts)
    return facts.mrn


def _adt_merge(session: Session, actor: Anonymous, parsed: Parsed) -> str:
    target = messages.patient(parsed)
    prior_mrn, prior_issuer = messages.prior_patient(parsed)
    source = _record(session, prior_mrn, prior_issuer)
    if source is None:
        raise Hl7Refused("unknown_prior_patient", "被合并的患者不存在（MRG-1）",
                         "The patient to merge (MRG-1) is unknown")  # fmt: skip
    target_id = _register_or_update(session, actor, target)
    patients_merge.merge(session, actor, source.id, target_id)
    return target.mrn


# -- orders ------------------------------------------------------------------------------


def _order_message(session: Session, actor: Anonymous, parsed: Parsed) -> str:
    facts = messages.order(parsed, local_zone())
    patient = messages.patient(parsed)
    existing = orders_service.by_placer_number(session, facts.placer_number)
    if facts.control == "CA":
        if existing is None:
            raise Hl7Refused("unknown_order", "要取消的检查申请不存在",
                             "The order to cancel is unknown")  # fmt: skip
        orders_service.cancel_from_his(session, actor, existing)
        return patient.mrn
    patient_id = _register_or_update(session, actor, patient)
    if facts.control == "NW" and existing is not None:
        raise Hl7Refused("order_exists", "该申请单号已存在", "This placer order number exists")
    if facts.control == "XO" and existing is None:
        raise Hl7Refused(
            "unknown_order", "要修改的检查申请不存在", "The order to change is unknown"
        )
    if facts.scheduled_at is None:
        raise Hl7Refused("no_scheduled_time", "缺少预约检查时间（TQ1-7 / OBR-27.4）",
                         "Scheduled time (TQ1-7 / OBR-27.4) missing")  # fmt: skip
    orders_service.upsert_from_his(session, actor, existing, patient_id, facts)
    return patient.mrn


Handler = Callable[[Session, Anonymous, Parsed], str]

HANDLERS: dict[str, Handler] = {
    "ADT^A01": _adt_register,
    "ADT^A04": _adt_register,
    "ADT^A08": _adt_register,
    "ADT^A40": _adt_merge,
    "ORM^O01": _order_message,
    "OMI^O23": _order_message,
}
