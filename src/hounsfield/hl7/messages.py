"""Reading HL7 v2 messages (parsed by hl7apy) into plain facts, and writing the ACK.

Fields read (HL7 v2.5; v2.3–v2.8 share them):
- PID-3 patient identifier (CX: id ^^^ assigning authority → MRN + issuer; the first
  repetition that is not a national ID; one of type NI is the national ID, 居民身份证号),
  PID-5 name (XPN; a repetition in Chinese characters is the ideographic form, another the
  Latin one), PID-7 birth date, PID-8 sex, PID-11 address, PID-13 phone (XTN-1, or XTN-7
  for the number alone).
- PV1-2 patient class (O outpatient, I inpatient, E emergency; `PE`, this hospital's
  physical examination class, → physical), PV1-3 location → department when ORC-17 is empty.
- MRG-1 prior patient identifier (ADT^A40).
- ORC-1 order control (NW new, XO change, CA/OC/DC cancel), ORC-2 placer order number,
  ORC-12 ordering provider, ORC-17 entering organization (the ordering department).
- OBR-4 universal service identifier (text: the procedure), OBR-13 relevant clinical
  information (the clinical question), OBR-15 specimen source (the body part), OBR-24
  diagnostic service section (the modality), OBR-27 quantity/timing (TQ-4 start, TQ-6
  priority) or TQ1-7 / TQ1-9 (OMI^O23), OBR-36 scheduled date/time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message

from hounsfield.db import utcnow


class Hl7Refused(Exception):
    """A message we refuse: `ack` AE (understood, not applicable) or AR (not understood)."""

    def __init__(self, code: str, zh: str, en: str, *, ack: str = "AE") -> None:
        super().__init__(en)
        self.code, self.zh, self.en, self.ack = code, zh, en, ack


@dataclass(frozen=True)
class PatientFacts:
    mrn: str
    issuer: str
    name_ideographic: str = ""
    name_alphabetic: str = ""
    sex: str = ""
    birth_date: date | None = None
    address: str = ""
    phone: str = ""
    national_id: str = ""


@dataclass(frozen=True)
class OrderFacts:
    control: str  # NW, XO, CA
    placer_number: str
    procedure: str = ""
    modality: str = ""
    body_part: str = ""
    priority: str = "routine"
    clinical_question: str = ""
    ordering_doctor: str = ""
    ordering_department: str = ""
    patient_source: str = "outpatient"
    scheduled_at: datetime | None = None


@dataclass
class Parsed:
    message: Message
    message_type: str  # "ADT^A01"
    control_id: str
    sending_application: str
    segments: dict[str, list[Any]] = field(default_factory=dict)

    def first(self, name: str) -> Any | None:
        found = self.segments.get(name)
        return found[0] if found else None


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# HL7 v2.5 §2.7.4: escape sequences in text.
_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}
_ESCAPE = re.compile(r"\\([FSTRE])\\")
_SOURCES = {"O": "outpatient", "I": "inpatient", "E": "emergency", "PE": "physical"}
_PRIORITIES = {"S": "stat", "A": "urgent", "U": "urgent", "R": "routine", "T": "urgent"}
_CANCEL = {"CA", "OC", "DC"}


def parse(text: str) -> Parsed:
    """Parse an ER7 message; anything hl7apy cannot read is refused (AR) with its reason."""
    if not text.startswith("MSH"):
        raise Hl7Refused("not_hl7", "不是 HL7 消息（缺少 MSH 段）", "Not an HL7 message (no MSH)",
                         ack="AR")  # fmt: skip
    try:
        message = parse_message(
            text.replace("\n", "\r"), find_groups=False,
            validation_level=VALIDATION_LEVEL.TOLERANT,
        )  # fmt: skip
    except Exception as exc:  # hl7apy raises many kinds; all mean "cannot read this"
        kind = type(exc).__name__
        raise Hl7Refused(
            "malformed", f"消息格式错误：{kind}", f"Malformed message: {kind}", ack="AR"
        ) from None
    segments: dict[str, list[Any]] = {}
    for segment in message.children:
        segments.setdefault(segment.name, []).append(segment)
    msh = segments["MSH"][0]
    kind = "^".join(components(_value(msh, "msh_9"))[:2])
    control_id = _value(msh, "msh_10")
    if not control_id:
        raise Hl7Refused("no_control_id", "缺少消息控制 ID（MSH-10）",
                         "Message control ID (MSH-10) missing", ack="AR")  # fmt: skip
    return Parsed(message, kind, control_id, components(_value(msh, "msh_3"))[0], segments)


def _value(segment: Any, name: str) -> str:
    """The first repetition of a field, as ER7 text ('' when absent)."""
    reps = _reps(segment, name)
    return reps[0] if reps else ""


def _reps(segment: Any, name: str) -> list[str]:
    if segment is None:
        return []
    try:
        found = getattr(segment, name)
    except Exception:  # a field this version does not define
        return []
    return [str(r.value or "") for r in found if r.value]


def components(value: str) -> list[str]:
    """An ER7 field split into its components, unescaped; at least one (maybe '')."""
    return [_ESCAPE.sub(lambda m: _ESCAPES[m.group(1)], part) for part in value.split("^")]


def _component(value: str, index: int) -> str:
    parts = components(value)
    return parts[index].strip() if index < len(parts) else ""


def _name(value: str) -> str:
    """XPN family ^ given → the DICOM PN components `family^given`."""
    family, given = _component(value, 0), _component(value, 1)
    return f"{family}^{given}" if given else family


def _timestamp(value: str, zone: ZoneInfo) -> datetime | None:
    """An HL7 TS/DTM (YYYYMMDD[HHMM[SS]][+ZZZZ]) as an aware datetime (local if no offset)."""
    text = _component(value, 0)
    match = re.fullmatch(r"(\d{8})(\d{4}(?:\d{2})?)?(?:\.\d+)?([+-]\d{4})?", text)
    if not match:
        return None
    digits = match.group(1) + (match.group(2) or "0000")
    moment = datetime.strptime(digits.ljust(14, "0"), "%Y%m%d%H%M%S")
    offset = match.group(3)
    if offset:
        parsed = datetime.strptime(offset, "%z").tzinfo
        return moment.replace(tzinfo=parsed).astimezone(UTC)
    return moment.replace(tzinfo=zone).astimezone(UTC)


def _date(value: str) -> date | None:
    text = _component(value, 0)[:8]
    try:
        return datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 else None
    except ValueError:
        return None


def patient(parsed: Parsed) -> PatientFacts:
    """The PID segment's patient; refused (AE) without an identifier."""
    pid = parsed.first("PID")
    if pid is None:
        raise Hl7Refused("no_pid", "缺少 PID 段", "PID segment missing")
    identifiers = _reps(pid, "pid_3")
    mrn, issuer = _identifier(identifiers)
    if not mrn:
        raise Hl7Refused(
            "no_patient_id", "缺少患者标识（PID-3）", "Patient identifier (PID-3) missing"
        )
    ideographic = alphabetic = ""
    for rep in _reps(pid, "pid_5"):
        name = _name(rep)
        if _CJK.search(name):
            ideographic = ideographic or name
        else:
            alphabetic = alphabetic or name
    sex = _component(_value(pid, "pid_8"), 0).upper()
    phone_field = _value(pid, "pid_13")
    phone = _component(phone_field, 0) or _component(phone_field, 6)
    return PatientFacts(
        mrn=mrn, issuer=issuer, name_ideographic=ideographic, name_alphabetic=alphabetic,
        sex=sex if sex in ("M", "F", "O") else "", birth_date=_date(_value(pid, "pid_7")),
        address=_component(_value(pid, "pid_11"), 0), phone=phone,
        national_id=_national_id(identifiers),
    )  # fmt: skip


def _national_id(reps: list[str]) -> str:
    """The CX of identifier type NI (national unique individual identifier), if any."""
    for rep in reps:
        if _component(rep, 4).upper() == "NI":
            return _component(rep, 0)
    return ""


def _identifier(reps: list[str]) -> tuple[str, str]:
    """The first CX that is not a national ID (type NI / PPN): (id, assigning authority)."""
    for rep in reps:
        if _component(rep, 4).upper() in ("NI", "PPN"):
            continue
        return _component(rep, 0), _component(rep, 3)
    return "", ""


def prior_patient(parsed: Parsed) -> tuple[str, str]:
    """MRG-1 of an ADT^A40: the identifier of the record merged away."""
    mrg = parsed.first("MRG")
    mrn, issuer = _identifier(_reps(mrg, "mrg_1"))
    if not mrn:
        raise Hl7Refused("no_prior_patient", "缺少被合并患者标识（MRG-1）",
                         "Prior patient identifier (MRG-1) missing")  # fmt: skip
    return mrn, issuer


def order(parsed: Parsed, zone: ZoneInfo) -> OrderFacts:
    """The ORC/OBR (and TQ1) of an ORM^O01 or OMI^O23."""
    orc, obr, tq1, pv1 = (parsed.first(s) for s in ("ORC", "OBR", "TQ1", "PV1"))
    if orc is None:
        raise Hl7Refused("no_orc", "缺少 ORC 段", "ORC segment missing")
    control = _component(_value(orc, "orc_1"), 0).upper()
    placer = _component(_value(orc, "orc_2"), 0) or _component(_value(obr, "obr_2"), 0)
    if not placer:
        raise Hl7Refused("no_placer_number", "缺少申请单号（ORC-2）",
                         "Placer order number (ORC-2) missing")  # fmt: skip
    if control in _CANCEL:
        return OrderFacts(control="CA", placer_number=placer)
    if control not in ("NW", "XO"):
        raise Hl7Refused("unsupported_order_control", f"不支持的申请控制码：{control}",
                         f"Unsupported order control: {control}")  # fmt: skip
    if obr is None:
        raise Hl7Refused("no_obr", "缺少 OBR 段", "OBR segment missing")
    timing = _value(obr, "obr_27")
    scheduled = (
        _timestamp(_value(tq1, "tq1_7"), zone)
        or _timestamp(_component(timing, 3), zone)
        or _timestamp(_value(obr, "obr_36"), zone)
    )
    priority_code = (
        _component(_value(tq1, "tq1_9"), 0) or _component(timing, 5) or _value(obr, "obr_5")
    ).upper()
    patient_class = _component(_value(pv1, "pv1_2"), 0).upper()
    doctor = _value(orc, "orc_12") or _value(obr, "obr_16")
    department = _component(_value(orc, "orc_17"), 1) or _component(_value(orc, "orc_17"), 0)
    return OrderFacts(
        control=control,
        placer_number=placer,
        procedure=_component(_value(obr, "obr_4"), 1) or _component(_value(obr, "obr_4"), 0),
        modality=_component(_value(obr, "obr_24"), 0).upper(),
        body_part=_component(_value(obr, "obr_15"), 0),
        priority=_PRIORITIES.get(priority_code[:1] if priority_code else "R", "routine"),
        clinical_question=_component(_value(obr, "obr_13"), 0),
        ordering_doctor=_name(doctor.partition("^")[2]),  # XCN: id ^ family ^ given
        ordering_department=department or _component(_value(pv1, "pv1_3"), 0),
        patient_source=_SOURCES.get(patient_class, "outpatient"),
        scheduled_at=scheduled,
    )  # fmt: skip


def ack(parsed: Parsed | None, code: str, text: str = "", *, version: str = "2.5") -> str:
    """The ACK (MSA-1 `code`, MSA-2 the control ID, MSA-3 why) as ER7 text."""
    reply = Message("ACK", version=version)
    msh = reply.msh
    msh.msh_3 = "HOUNSFIELD"
    if parsed is not None:
        original = parsed.message.msh
        msh.msh_5 = _value(original, "msh_3")
        msh.msh_6 = _value(original, "msh_4")
        msh.msh_9 = f"ACK^{parsed.message_type.partition('^')[2]}^ACK".replace("^^", "^")
    else:
        msh.msh_9 = "ACK"
    msh.msh_7 = utcnow().strftime("%Y%m%d%H%M%S")
    msh.msh_10 = f"HF{utcnow():%Y%m%d%H%M%S%f}"
    msh.msh_11 = "P"
    msh.msh_18 = "UNICODE UTF-8"
    reply.msa.msa_1 = code
    reply.msa.msa_2 = parsed.control_id if parsed is not None else ""
    if text:
        reply.msa.msa_3 = _escape(text)[:80]
    return str(reply.to_er7())


def _escape(text: str) -> str:
    out = text.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        out = out.replace(char, f"\\{code}\\")
    return out
