"""ATNA export: each sealed audit event as a DICOM PS3.15 A.5 audit message, sent over
syslog (RFC 5424) on TLS (RFC 5425 octet-counting framing) to a configured collector.

The sealed trail is the spool: a cursor row remembers the last chain position the collector
received. While the collector is down, events wait in the table and are sent, in chain
order, once it is back; nothing is dropped. Delivery is at least once (a crash between a
send and the cursor update repeats a few messages; the seq in each message tells them apart).

(bandit B405 is marked nosec: ElementTree only builds the messages here, it parses nothing.)
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import socket
import ssl
import xml.etree.ElementTree as ET  # nosec B405
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from sqlalchemy import select, update

from hounsfield.audit.models import AuditEvent, AuditExportCursor
from hounsfield.config import AuditSettings, get_settings
from hounsfield.db import transaction
from hounsfield.periodic import PeriodicThread

logger = logging.getLogger(__name__)

SINK = "syslog"
BATCH = 500
PRI = 10 * 8 + 5  # facility authpriv (10), severity notice (5): IHE ITI-20
MSGID = "IHE+RFC-3881"
BOM = "\ufeff"

SCHEMA = files("hounsfield.audit") / "schema" / "audit-message.rng"

# DCM EventID → what the code means (A.5 requires originalText).
EVENT_NAMES = {
    "110100": "Application Activity",
    "110101": "Audit Log Used",
    "110103": "DICOM Instances Accessed",
    "110104": "DICOM Instances Transferred",
    "110106": "Export",
    "110107": "Import",
    "110110": "Patient Record",
    "110112": "Query",
    "110113": "Security Alert",
    "110114": "User Authentication",
}
EVENT_TYPES = {"auth.login": ("110122", "Login"), "auth.logout": ("110123", "Logout")}


def _action_code(action: str, event_code: str) -> str:
    """A.5 EventActionCode: Create, Read, Update, Delete or Execute."""
    verb = action.rsplit(".", 1)[-1]
    if verb in ("create", "store") or event_code == "110107":
        return "C"
    if verb in ("update", "overwrite", "password_change"):
        return "U"
    if verb == "delete":
        return "D"
    if event_code in ("110106", "110101", "110103"):
        return "R"
    return "E"


def _coded(parent: ET.Element, tag: str, code: str, system: str, text: str) -> None:
    ET.SubElement(parent, tag, {"csd-code": code, "codeSystemName": system, "originalText": text})


def audit_message(event: AuditEvent, source_id: str) -> bytes:
    """The A.5 XML of one sealed audit row."""
    code, action = event.event_code, event.action
    root = ET.Element("AuditMessage")
    ident = ET.SubElement(
        root,
        "EventIdentification",
        {
            "EventActionCode": _action_code(action, code),
            "EventDateTime": event.occurred_at.isoformat(),
            "EventOutcomeIndicator": str(event.outcome),
        },
    )
    _coded(ident, "EventID", code, "DCM", EVENT_NAMES.get(code, "Patient Record"))
    if action in EVENT_TYPES:
        _coded(ident, "EventTypeCode", *EVENT_TYPES[action][:1], "DCM", EVENT_TYPES[action][1])
    requestor = {"UserID": event.actor_username or "unknown", "UserIsRequestor": "true"}
    if event.actor_id:
        requestor["AlternativeUserID"] = event.actor_id
    if event.client_ip:
        requestor |= {"NetworkAccessPointID": event.client_ip, "NetworkAccessPointTypeCode": "2"}
    ET.SubElement(root, "ActiveParticipant", requestor)
    ET.SubElement(root, "ActiveParticipant", {"UserID": source_id, "UserIsRequestor": "false"})
    source = ET.SubElement(root, "AuditSourceIdentification", {"AuditSourceID": source_id})
    _coded(source, "AuditSourceTypeCode", "4", "DCM", "Application Server Process")
    if event.patient_id:
        patient = ET.SubElement(
            root,
            "ParticipantObjectIdentification",
            {
                "ParticipantObjectID": event.patient_id,
                "ParticipantObjectTypeCode": "1",
                "ParticipantObjectTypeCodeRole": "1",
            },
        )
        _coded(patient, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number")
    if event.resource_id:
        _resource(root, event.resource_type, event.resource_id, event.detail, event.seq)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return xml


def _resource(
    root: ET.Element, kind: str | None, resource_id: str, detail: str, seq: int | None
) -> None:
    is_study = kind == "study"
    obj = ET.SubElement(
        root,
        "ParticipantObjectIdentification",
        {
            "ParticipantObjectID": resource_id,
            "ParticipantObjectTypeCode": "2",
            "ParticipantObjectTypeCodeRole": "3" if is_study else "13",
        },
    )
    if is_study:
        _coded(obj, "ParticipantObjectIDTypeCode", "110180", "DCM", "Study Instance UID")
    else:
        _coded(obj, "ParticipantObjectIDTypeCode", "12", "RFC-3881", kind or "resource")
    instances = _instances(detail) if is_study else []
    for uid in instances:  # the instances the event names (A.5 allows several per event)
        ET.SubElement(
            obj,
            "ParticipantObjectDetail",
            {"type": "SOPInstanceUID", "value": base64.b64encode(uid.encode()).decode()},
        )
    ET.SubElement(obj, "ParticipantObjectDescription").text = f"hounsfield audit seq {seq}"
    if instances:
        ET.SubElement(obj, "NumberOfInstances").text = str(len(instances))


def _instances(detail: str) -> list[str]:
    data = json.loads(detail or "{}")
    named = data.get("instances")
    if isinstance(named, list):
        return [str(u) for u in named]
    return [str(data["sop_instance_uid"])] if data.get("sop_instance_uid") else []


def syslog_frame(xml: bytes, timestamp: str, hostname: str, procid: int) -> bytes:
    """One RFC 5424 message, octet-counted (RFC 5425 §4.3, RFC 6587 §3.4.1)."""
    header = f"<{PRI}>1 {timestamp} {hostname} hounsfield {procid} {MSGID} - {BOM}"
    message = header.encode() + xml
    return str(len(message)).encode() + b" " + message


class SyslogSender:
    """One TCP (TLS unless disabled) connection to the collector, opened on demand."""

    def __init__(self, conf: AuditSettings) -> None:
        self.conf = conf
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        assert self.conf.syslog_host is not None
        raw = socket.create_connection(
            (self.conf.syslog_host, self.conf.syslog_port), timeout=self.conf.syslog_timeout_s
        )
        if not self.conf.syslog_tls:
            return raw
        context = ssl.create_default_context(
            cafile=str(self.conf.syslog_ca) if self.conf.syslog_ca else None
        )
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.conf.syslog_cert:  # mutual authentication (ATNA secure node)
            key = str(self.conf.syslog_key) if self.conf.syslog_key else None
            context.load_cert_chain(str(self.conf.syslog_cert), key)
        return context.wrap_socket(raw, server_hostname=self.conf.syslog_host)

    def send(self, frames: Sequence[bytes]) -> None:
        if self._sock is None:
            self._sock = self._connect()
        try:
            self._sock.sendall(b"".join(frames))
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


def _cursor() -> int:
    with transaction() as session:
        row = session.get(AuditExportCursor, SINK)
    if row is not None:
        return int(row.seq)
    with transaction(write=True) as session:
        if session.get(AuditExportCursor, SINK) is None:
            session.add(AuditExportCursor(sink=SINK, seq=0))
    return 0


def export_pending(sender: SyslogSender, source_id: str) -> int:
    """Send sealed events after the cursor, in chain order; move the cursor. Returns how
    many. Raises OSError while the collector is unreachable (the events stay queued)."""
    after = _cursor()
    with transaction() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(BATCH)
        ).all()
    if not rows:
        return 0
    host, pid = socket.gethostname() or "-", os.getpid()
    frames = [
        syslog_frame(audit_message(row, source_id), row.occurred_at.isoformat(), host, pid)
        for row in rows
    ]
    sender.send(frames)
    last = rows[-1].seq
    with transaction(write=True) as session:
        session.execute(
            update(AuditExportCursor)
            .where(AuditExportCursor.sink == SINK, AuditExportCursor.seq < last)
            .values(seq=last)
        )
    return len(rows)


class Exporter(PeriodicThread):
    """Forwards the sealed trail to the collector. One process of a machine sends (the
    holder of a lock file under the data directory); the others stand by."""

    name = "audit-export"

    def __init__(self) -> None:
        super().__init__(interval_s=1.0)
        self._sender: SyslogSender | None = None
        self._lock_fd: int | None = None
        self._down = False

    def start(self) -> None:
        conf = get_settings().audit
        self.interval_s = conf.syslog_interval_s
        self._sender = SyslogSender(conf)
        super().start()

    def stop(self, timeout_s: float = 10.0) -> None:
        super().stop(timeout_s)
        if self._sender is not None:
            self._sender.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _holds_lock(self) -> bool:
        if self._lock_fd is None:
            path = Path(get_settings().data_dir) / "audit-export.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._lock_fd = fd
        return True

    def run_once(self) -> None:
        if self._sender is None:
            self._sender = SyslogSender(get_settings().audit)
        if not self._holds_lock():
            return
        source = get_settings().dicom.ae_title
        try:
            while export_pending(self._sender, source) == BATCH:
                pass
        except OSError as exc:  # the collector is down: the events wait in the table
            if not self._down:
                logger.warning("audit collector unreachable (%s); events wait", type(exc).__name__)
            self._down = True
            return
        if self._down:
            logger.info("audit collector reachable again")
        self._down = False


exporter = Exporter()
