"""HL7 v2 over MLLP, with a real client socket: ADT registers, updates and merges
patients; ORM / OMI schedule, change and cancel orders; every message gets its ACK, and
what is refused is refused whole, with a reason, and kept for review."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.hl7.listener import END, START, Hl7Listener, frame
from hounsfield.hl7.models import Hl7Message
from hounsfield.orders.models import Order
from hounsfield.patients.models import PatientRecord
from hounsfield.patients.service import secrets_of


def _listener(**hl7: Any) -> Hl7Listener:
    """A listener on a free port (port 0), started."""
    from hounsfield.config import get_settings

    settings = get_settings()
    changed = settings.hl7.model_copy(update={"port": 0, **hl7})
    listener = Hl7Listener(settings.model_copy(update={"hl7": changed}))
    listener.start()
    return listener


@pytest.fixture
def mllp() -> Iterator[Callable[..., list[str]]]:
    """send(*messages) → the ACKs, over one MLLP connection to a running listener."""
    listener = _listener()

    def send(*messages: str | bytes) -> list[str]:
        acks = []
        with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as sock:
            for message in messages:
                sock.sendall(frame(message) if isinstance(message, str) else message)
                reply = b""
                while not reply.endswith(END):
                    chunk = sock.recv(65536)
                    assert chunk, "connection closed before the ACK"
                    reply += chunk
                assert reply.startswith(START)
                acks.append(reply[1 : -len(END)].decode("utf-8"))
        return acks

    try:
        yield send
    finally:
        listener.stop()


def msh(kind: str, control_id: str) -> str:
    return f"MSH|^~\\&|HIS|HOSP|HOUNSFIELD|RAD|20260302090000||{kind}|{control_id}|P|2.5"


PID = ("PID|1||MRN-8^^^HOSP^MR~110101199003070011^^^CHN^NI||张^三丰~Zhang^Sanfeng||19900307|M"
       "|||北京市海淀区||^^PH^^^^13800138000")  # fmt: skip


def adt(event: str, control_id: str, pid: str = PID, *extra: str) -> str:
    return "\r".join([msh(f"ADT^{event}^ADT_{event}", control_id),
                      "EVN|" + event + "|20260302090000", pid, "PV1|1|O", *extra])  # fmt: skip


def orm(control: str, control_id: str, placer: str = "P0001", **fields: str) -> str:
    obr = fields.get("obr", "OBR|1|{p}||CT001^CT 胸部平扫|||||||||咳嗽两周||CHEST"
                            "|D001^李^医生||||||||CT|||^^^20260302093000^^S")  # fmt: skip
    return "\r".join([
        msh("ORM^O01^ORM_O01", control_id), PID, "PV1|1|E|EMR^1",
        f"ORC|{control}|{placer}||||||||||D001^李^医生|||||^急诊科", obr.format(p=placer),
    ])  # fmt: skip


def msa(ack: str) -> list[str]:
    line = next(s for s in ack.split("\r") if s.startswith("MSA"))
    return line.split("|")[1:]


def records() -> list[PatientRecord]:
    with transaction() as session:
        return list(session.scalars(select(PatientRecord).order_by(PatientRecord.id)))


def stored() -> list[tuple[str, str, str]]:
    with transaction() as session:
        rows = session.scalars(select(Hl7Message).order_by(Hl7Message.id))
        return [(r.control_id, r.ack_code, r.reason_code) for r in rows]


def test_adt_registers_updates_and_merges(mllp: Callable[..., list[str]]) -> None:
    other = PID.replace("MRN-8", "MRN-OLD").replace("张^三丰~Zhang^Sanfeng", "张^三丰")
    updated = PID.replace("北京市海淀区", "上海市")
    acks = mllp(
        adt("A04", "C1"),
        adt("A01", "C2", other),
        adt("A08", "C3", updated),
        adt("A40", "C4", updated, "MRG|MRN-OLD^^^HOSP^MR"),
    )
    assert [msa(a)[:2] for a in acks] == [["AA", "C1"], ["AA", "C2"], ["AA", "C3"], ["AA", "C4"]]
    assert acks[0].startswith("MSH|^~\\&|HOUNSFIELD||HIS|HOSP|")
    patients = records()
    zhang = next(p for p in patients if p.mrn == "MRN-8")
    assert (zhang.issuer, zhang.name_ideographic, zhang.name_alphabetic) == (
        "HOSP",
        "张^三丰",
        "Zhang^Sanfeng",
    )
    assert (zhang.sex, str(zhang.birth_date), zhang.address) == ("M", "1990-03-07", "上海市")
    old = next(p for p in patients if p.mrn == "MRN-OLD")
    assert old.merged_into_id == zhang.id
    assert stored() == [("C1", "AA", ""), ("C2", "AA", ""), ("C3", "AA", ""), ("C4", "AA", "")]


def test_orders_are_scheduled_changed_and_cancelled(mllp: Callable[..., list[str]]) -> None:
    changed_obr = ("OBR|1|{p}||CT002^CT 胸部增强|||||||||咳嗽两周||CHEST|D001^李^医生"
                   "||||||||CT|||^^^20260302140000^^R")  # fmt: skip
    acks = mllp(orm("NW", "O1"), orm("XO", "O2", obr=changed_obr))
    assert [msa(a)[0] for a in acks] == ["AA", "AA"]
    with transaction() as session:
        order = session.scalars(select(Order)).one()
        assert order.placer_order_number == "P0001"
        assert (order.procedure, order.modality, order.priority) == ("CT 胸部增强", "CT", "routine")
        assert (order.patient_source, order.ordering_department) == ("emergency", "急诊科")
        assert order.ordering_doctor == "李^医生"
        assert order.scheduled_at.isoformat() == "2026-03-02T06:00:00+00:00"  # 14:00 Beijing
        assert order.status == "scheduled"
    (cancelled,) = mllp(orm("CA", "O3"))
    assert msa(cancelled)[0] == "AA"
    with transaction() as session:
        assert session.scalars(select(Order.status)).one() == "cancelled"
    (again,) = mllp(orm("XO", "O4"))  # a cancelled order no longer changes
    assert msa(again)[0] == "AE"
    assert msa(again)[2]  # with its reason


def test_refusals_carry_a_reason_and_apply_nothing(mllp: Callable[..., list[str]]) -> None:
    no_time = orm("NW", "R1", obr="OBR|1|{p}||CT001^CT 胸部平扫||||||||||||||||||||CT")
    acks = mllp(
        no_time,
        "\r".join([msh("ADT^A40^ADT_A39", "R2"), PID, "MRG|NOBODY^^^HOSP^MR"]),
        "\r".join([msh("ADT^A04^ADT_A01", "R3"), "EVN|A04", "PID|1||"]),
        "\r".join([msh("QRY^A19^QRY_A19", "R4"), "QRD|x"]),
        "this is not HL7 at all",
        START + "MSH|^~\\&|HIS|HOSP".encode("gb18030") + "\r张".encode("gb18030") + END,
    )
    codes = [msa(a)[0] for a in acks]
    assert codes == ["AE", "AE", "AE", "AR", "AR", "AR"]
    assert "预约" in msa(acks[0])[2]  # zh-CN reason: the scheduled time is missing
    assert all(msa(a)[2] for a in acks)
    # The patient of the refused order was not registered either: all or nothing.
    assert records() == []
    with transaction() as session:
        assert session.scalars(select(Order)).all() == []
        kept = session.scalars(select(Hl7Message).order_by(Hl7Message.id)).all()
    assert [m.ack_code for m in kept] == codes
    assert [m.reason_code for m in kept] == [
        "no_scheduled_time", "unknown_prior_patient", "no_patient_id",
        "unsupported_message_type", "not_hl7", "undecodable",
    ]  # fmt: skip
    assert kept[4].raw == "this is not HL7 at all\r"


def test_a_resent_message_is_applied_once(mllp: Callable[..., list[str]]) -> None:
    first, second = mllp(orm("NW", "D1"), orm("NW", "D1"))
    assert msa(first)[0] == msa(second)[0] == "AA"
    with transaction() as session:
        assert len(session.scalars(select(Order)).all()) == 1
    (clash,) = mllp(orm("NW", "D2"))  # a new message for the same placer number
    assert msa(clash)[0] == "AE"


def test_peers_outside_the_allowed_networks_are_not_served() -> None:
    listener = _listener(allowed_peers=["10.0.0.0/8"])
    try:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as sock:
            sock.sendall(frame(adt("A04", "X1")))
            assert sock.recv(65536) == b""  # closed, unanswered
    finally:
        listener.stop()
    assert records() == []


def test_the_national_id_in_pid_3_is_kept_encrypted(mllp: Callable[..., list[str]]) -> None:
    (ack,) = mllp(adt("A04", "N1"))
    assert msa(ack)[0] == "AA"
    (zhang,) = records()
    assert secrets_of(zhang)[0] == "110101199003070011"  # the NI repetition, not the MRN
    assert zhang.mrn == "MRN-8"
    assert zhang.national_id_enc
    assert "110101199003070011" not in str(zhang.national_id_enc)

    wrong = PID.replace("110101199003070011", "110101199003070012").replace("MRN-8", "MRN-9")
    (refused,) = mllp(adt("A04", "N2", wrong))  # the check digit (GB 11643) is wrong
    assert msa(refused)[0] == "AE"
    assert "身份证" in msa(refused)[2]
    assert stored()[-1] == ("N2", "AE", "national_id_invalid")
    assert [p.mrn for p in records()] == ["MRN-8"]  # nothing of it applied
