"""The Modality Worklist (PS3.4 Annex K): scheduled orders as scheduled procedure steps.

The DIMSE listener's MWL C-FIND (dimse/scp.py) asks `worklist_items`. Matching keys
(K.6.1.2.1): Scheduled Station AE Title, Modality and Scheduled Procedure Step Start Date
(a date or range) inside the Scheduled Procedure Step Sequence; Patient's Name (with * and
? wildcards, against the Latin and the Chinese form), Patient ID, Accession Number and
Requested Procedure ID. The answer carries the keys asked for, in the character set the
modality asked for (GB18030 or UTF-8), with the name in both forms (`Zhang^Wei=张^伟`).
Dates and times are local to `worklist.timezone`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.dicom.charset import person_name_groups
from hounsfield.orders import patients as order_patients
from hounsfield.orders.models import Order, OrderStatus, Priority, local_zone

SPS = "ScheduledProcedureStepSequence"
# PS3.3 C.4.11 Requested Procedure Priority: the terms a modality understands.
_PRIORITY = {Priority.stat: "STAT", Priority.urgent: "HIGH", Priority.routine: "ROUTINE"}
# The study UID a modality should use for the order: derived from the accession number,
# so the same order always gets the same UID and nothing more is stored.
_UID_PREFIX = "1.2.826.0.1.3680043.10.1205."


def study_uid_for(accession_number: str) -> str:
    return str(generate_uid(_UID_PREFIX, entropy_srcs=["hounsfield-order", accession_number]))


def _zone() -> ZoneInfo:
    return local_zone()


def _value(identifier: Dataset, keyword: str) -> str:
    element = identifier.get(keyword)
    return "" if element is None or element == "" else str(element).strip()


def _date_range(text: str) -> tuple[date | None, date | None] | None:
    """A DA value or range (`20240101`, `20240101-`, `-20240131`, `20240101-20240131`)."""
    if not text:
        return None
    start, dash, end = text.partition("-")

    def parse(value: str) -> date | None:
        return datetime.strptime(value, "%Y%m%d").date() if value else None

    try:
        first = parse(start.strip())
        return (first, parse(end.strip())) if dash else (first, first)
    except ValueError:
        return None


def _wildcard(pattern: str) -> re.Pattern[str]:
    """PS3.4 C.2.2.2.4: `*` any run, `?` one character; case-insensitive here."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _name_matches(query: object, facts: order_patients.PatientFacts) -> bool:
    wanted = [g for g in person_name_groups(query).groups() if g and g != "*"]
    if not wanted:
        return True
    forms = [f for f in (facts.name_alphabetic, facts.name_ideographic, facts.name_phonetic) if f]
    return any(_wildcard(w).fullmatch(form) for w in wanted for form in forms)


def _candidates(session: Session, identifier: Dataset) -> list[Order]:
    query = select(Order).where(Order.status == OrderStatus.scheduled.value)
    step = identifier[SPS].value[0] if SPS in identifier and identifier[SPS].value else Dataset()
    station = _value(step, "ScheduledStationAETitle")
    if station and "*" not in station and "?" not in station:
        query = query.where(Order.station_ae == station)
    modality = _value(step, "Modality")
    if modality and "*" not in modality and "?" not in modality:
        query = query.where(Order.modality == modality.upper())
    days = _date_range(_value(step, "ScheduledProcedureStepStartDate"))
    zone = _zone()
    if days is not None:
        first, last = days
        if first is not None:
            query = query.where(Order.scheduled_at >= datetime.combine(first, time.min, zone))
        if last is not None:
            end = datetime.combine(last + timedelta(days=1), time.min, zone)
            query = query.where(Order.scheduled_at < end)
    for keyword, column in (
        ("AccessionNumber", Order.accession_number),
        ("RequestedProcedureID", Order.accession_number),
    ):
        value = _value(identifier, keyword)
        if value and "*" not in value and "?" not in value:
            query = query.where(column == value)
    return list(session.scalars(query.order_by(Order.scheduled_at, Order.id)))


def _full_item(order: Order, facts: order_patients.PatientFacts) -> Dataset:
    """Every attribute we know for the order's scheduled procedure step (PS3.4 K.6-1)."""
    local = order.scheduled_at.astimezone(_zone())
    accession = order.accession_number or ""
    step = Dataset()
    step.Modality = order.modality
    step.ScheduledStationAETitle = order.station_ae
    step.ScheduledProcedureStepStartDate = local.strftime("%Y%m%d")
    step.ScheduledProcedureStepStartTime = local.strftime("%H%M%S")
    step.ScheduledPerformingPhysicianName = ""
    step.ScheduledProcedureStepDescription = order.procedure
    step.ScheduledProcedureStepID = accession
    step.ScheduledProcedureStepStatus = "SCHEDULED"
    item = Dataset()
    item.AccessionNumber = accession
    item.ReferringPhysicianName = order.ordering_doctor
    item.PatientName = facts.dicom_name
    item.PatientID = facts.mrn
    item.IssuerOfPatientID = facts.issuer
    item.PatientBirthDate = facts.birth_date.strftime("%Y%m%d") if facts.birth_date else ""
    item.PatientSex = facts.sex
    item.StudyInstanceUID = study_uid_for(accession)
    item.RequestedProcedureID = accession
    item.RequestedProcedureDescription = order.procedure
    item.RequestedProcedurePriority = _PRIORITY[Priority(order.priority)]
    item.ReasonForTheRequestedProcedure = order.clinical_question[:64]
    item.CurrentPatientLocation = order.ordering_department
    item.ScheduledProcedureStepSequence = [step]
    return item


def _answer(identifier: Dataset, full: Dataset, charset: str) -> Dataset:
    """The keys the query asked for, valued from `full` (empty when we have no value)."""
    out = Dataset()
    out.SpecificCharacterSet = charset
    for element in identifier:
        keyword = element.keyword
        if not keyword or keyword == "SpecificCharacterSet":
            continue
        if keyword == SPS:
            asked = element.value[0] if element.value else Dataset()
            known = full[SPS].value[0]
            step = Dataset()
            keys = [e.keyword for e in asked if e.keyword] or [e.keyword for e in known]
            for key in keys:
                setattr(step, key, known.get(key, ""))
            out.ScheduledProcedureStepSequence = [step]
        elif element.VR == "SQ":
            setattr(out, keyword, [])
        else:
            setattr(out, keyword, full.get(keyword, ""))
    return out


def worklist_items(session: Session, identifier: Dataset, charset: str) -> list[Dataset]:
    """The scheduled procedure steps matching a Modality Worklist query."""
    orders = _candidates(session, identifier)
    known = order_patients.facts_of(session, {o.patient_id for o in orders})
    patient_id = _value(identifier, "PatientID")
    pid = _wildcard(patient_id) if patient_id else None
    found = []
    for order in orders:
        facts = known.get(order.patient_id)
        if facts is None or facts.deleted:
            continue
        if pid is not None and not pid.fullmatch(facts.mrn):
            continue
        if "PatientName" in identifier and not _name_matches(identifier.PatientName, facts):
            continue
        found.append(_answer(identifier, _full_item(order, facts), charset))
    return found
