"""The DICOM listener (pynetdicom): echo, store, find, move, get, storage commitment, worklist.

Thin glue, as Orthanc advises: every instance goes through the archive's one ingest function,
every query through the index queries QIDO-RS uses. Who may do what is decided per
association from the device registry (calling AE title + peer address + allowed operations),
and every association and refusal is audited. See docs/dicom-conformance.md.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID
from pynetdicom import evt
from pynetdicom.presentation import PresentationContext, build_context
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hounsfield import context
from hounsfield.audit import service as audit
from hounsfield.audit.service import Anonymous, Outcome
from hounsfield.auth import scope
from hounsfield.config import Settings, get_settings
from hounsfield.db import load_models, transaction
from hounsfield.dimse import archive, devices, hosts, metrics, reactor
from hounsfield.dimse.common import (
    CANNOT_UNDERSTAND,
    DATASET_MISMATCH,
    NODELAY_HANDLER,
    OUT_OF_RESOURCES,
    REFUSED_NOT_AUTHORIZED,
    STORAGE_CLASSES,
    SUCCESS,
    TRANSFER_SYNTAXES,
    UNCOMPRESSED,
    ModalityWorklistInformationFind,
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StorageCommitmentPushModel,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
    allow_unknown_store,
    client_ssl_context,
    make_ae,
    server_ssl_context,
)
from hounsfield.ingest.service import ingest
from hounsfield.studies.service import Transfer

logger = logging.getLogger(__name__)

PROCESSING_FAILURE = 0x0110
INVALID_ARGUMENT = 0x0115
PENDING = 0xFF00
UNABLE_TO_PERFORM_SUBOPERATIONS = 0xA702
CANCEL = 0xFE00
FIND_UNABLE_TO_PROCESS = 0xC000

FIND_MODELS = {
    str(PatientRootQueryRetrieveInformationModelFind): "PATIENT",
    str(StudyRootQueryRetrieveInformationModelFind): "STUDY",
}
MOVE_MODELS = {
    str(PatientRootQueryRetrieveInformationModelMove): "PATIENT",
    str(StudyRootQueryRetrieveInformationModelMove): "STUDY",
}
GET_MODELS = {
    str(PatientRootQueryRetrieveInformationModelGet): "PATIENT",
    str(StudyRootQueryRetrieveInformationModelGet): "STUDY",
}
LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
QR_SYNTAXES = [*UNCOMPRESSED, "1.2.840.10008.1.2.1.99"]  # + deflated explicit VR LE

# Which abstract syntaxes each allowed operation opens (association-level filtering).
_SERVICE_CLASSES: dict[str, set[str]] = {
    "echo": {str(Verification)},
    "store": {str(c) for c in STORAGE_CLASSES} | {str(StorageCommitmentPushModel)},
    "find": set(FIND_MODELS) | {str(ModalityWorklistInformationFind)},
    "move": set(MOVE_MODELS),
    # C-GET sends the instances back over the same association: storage contexts too.
    "get": set(GET_MODELS) | {str(c) for c in STORAGE_CLASSES},
}


def worklist_items(session: Session, identifier: Dataset) -> list[Dataset]:
    """Scheduled procedure steps matching a Modality Worklist query (PS3.4 K.6): the
    imaging orders still scheduled (orders/mwl.py), in the character set asked for."""
    from hounsfield.orders import mwl

    return mwl.worklist_items(session, identifier, _charset_for(identifier))


@dataclass
class Peer:
    """What we decided about the association's requestor, kept for its whole life."""

    calling_ae: str
    address: str
    device_id: str | None
    operations: set[str] = field(default_factory=set)
    department: str = ""  # the device's: scopes what it may find and retrieve (A6)

    def may(self, operation: str) -> bool:
        return operation in self.operations

    @property
    def actor(self) -> Anonymous:
        return Anonymous(username=f"ae:{self.calling_ae}")


def _peer(event: evt.Event) -> Peer:
    peer = getattr(event.assoc, "hounsfield_peer", None)
    if peer is None:  # not decided (should not happen): nothing is allowed
        return Peer(calling_ae="?", address="?", device_id=None)
    assert isinstance(peer, Peer)
    context.client_ip.set(peer.address)
    scope.bind(scope.for_department(peer.department))  # this handler's thread reads within it
    return peer


# --- association control --------------------------------------------------------------


def _audit_refusal(peer: Peer, reason: str, **detail: str) -> None:
    audit.record_now(
        "dimse.reject", peer.actor, outcome=Outcome.minor_failure,
        resource_type="device", resource_id=peer.device_id,
        detail={"calling_ae": peer.calling_ae, "peer": peer.address, "reason": reason, **detail},
    )  # fmt: skip


def _refuse(event: evt.Event, peer: Peer, reason: str, diagnostic: int = 0x03) -> None:
    """Reject the association (permanent, by the service user) and audit why."""
    _audit_refusal(peer, reason)
    metrics.ASSOCIATIONS.labels("refused").inc()
    logger.info("DICOM association from %s refused: %s", peer.calling_ae, reason)
    event.assoc.acse.send_reject(0x01, 0x01, diagnostic)
    event.assoc.kill()  # as pynetdicom's own rejection does: waits until the PDU is out


def _on_requested(event: evt.Event, settings: Settings) -> None:
    """Decide who the requestor is and which services it may use, before negotiation."""
    assoc: Any = event.assoc
    calling = str(assoc.requestor.primitive.calling_ae_title).strip()
    address = str(assoc.requestor.address)
    context.client_ip.set(address)
    try:
        with transaction() as session:
            device = devices.find_by_ae_title(session, calling)
            snapshot = (
                None
                if device is None
                else (str(device.id), device.enabled, set(device.operations), device.department)
            )
            host_ok = device is not None and devices.host_matches(device, address)
    except OperationalError:
        # The database is down: nobody can be checked. A transient rejection tells the
        # peer to retry later (the outage is logged; the audit event waits in the buffer).
        logger.warning("DICOM association from %s refused: database unavailable", calling)
        audit.record_access(
            "dimse.reject", Anonymous(username=f"ae:{calling}"), outcome=Outcome.minor_failure,
            detail={"calling_ae": calling, "peer": address, "reason": "database unavailable"},
        )  # fmt: skip
        metrics.ASSOCIATIONS.labels("refused").inc()
        assoc.acse.send_reject(0x02, 0x01, 0x01)
        assoc.kill()
        return
    peer = Peer(
        calling_ae=calling,
        address=address,
        device_id=snapshot[0] if snapshot else None,
        department=snapshot[3] if snapshot else "",
    )
    assoc.hounsfield_peer = peer
    if snapshot is None:
        if not allow_unknown_store(settings):
            _refuse(event, peer, "unknown calling AE title")
            return
        peer.operations = {"echo", "store"}
    elif not snapshot[1]:
        _refuse(event, peer, "device disabled")
        return
    elif not host_ok:
        _refuse(event, peer, "calling AE title used from an unregistered host")
        return
    else:
        peer.operations = {"echo"} | snapshot[2]
    allowed: set[str] = set().union(*(_SERVICE_CLASSES[op] for op in peer.operations))
    if not peer.may("store") or peer.device_id is None:  # a report needs a known address
        allowed.discard(str(StorageCommitmentPushModel))
    proposed = assoc.requestor.primitive.presentation_context_definition_list
    offered = {str(cx.abstract_syntax) for cx in proposed}
    if not offered & _ALL_ABSTRACT_SYNTAXES:
        # Nothing we implement: accept the association and let negotiation reject every
        # context as "abstract syntax not supported" (PS3.8 9.3.3.2), the true reason.
        _audit_refusal(peer, "no supported SOP class proposed")
        assoc.acceptor.supported_contexts = []
        return
    usable = offered & allowed
    if not usable:
        what = "unknown calling AE title" if snapshot is None else "operation not allowed"
        _refuse(event, peer, what, 0x03 if snapshot is None else 0x01)
        return
    assoc.acceptor.supported_contexts = _in_requestor_order(
        [cx for cx in _SUPPORTED if str(cx.abstract_syntax) in usable], proposed
    )


def _in_requestor_order(
    supported: list[PresentationContext], proposed: list[PresentationContext]
) -> list[PresentationContext]:
    """Our contexts with transfer syntaxes in the requestor's order of preference.

    pynetdicom picks the first of *our* syntaxes that the requestor proposed; PS3.8 and our
    conformance statement say the requestor's order wins (a context proposing [JPEG
    Baseline, Explicit VR LE] is accepted as JPEG Baseline, so nobody has to decompress).
    Several contexts for one SOP class are merged in the order they were proposed.
    """
    order: dict[str, list[str]] = {}
    for cx in proposed:
        wanted = order.setdefault(str(cx.abstract_syntax), [])
        wanted.extend(str(ts) for ts in cx.transfer_syntax if str(ts) not in wanted)
    contexts = []
    for cx in supported:
        ours = {str(ts) for ts in cx.transfer_syntax}
        syntaxes = [ts for ts in order[str(cx.abstract_syntax)] if ts in ours]
        # No syntax in common: negotiation rejects it ("transfer syntaxes not supported").
        ordered = build_context(str(cx.abstract_syntax), syntaxes or sorted(ours))
        ordered.scu_role, ordered.scp_role = cx.scu_role, cx.scp_role
        contexts.append(ordered)
    return contexts


def _on_established(event: evt.Event) -> None:
    # Journalled like reads, but not waited for: an association touches no patient data,
    # and the fsync of its first find, move, get or store makes this line durable too.
    peer = _peer(event)
    metrics.ASSOCIATIONS.labels("accepted").inc()
    audit.record_connection(
        "dimse.association", peer.actor,
        resource_type="device", resource_id=peer.device_id,
        detail={
            "calling_ae": peer.calling_ae,
            "peer": peer.address,
            "registered": peer.device_id is not None,
            "accepted_contexts": len(event.assoc.accepted_contexts),
        },
    )  # fmt: skip


def _refuse_request(event: evt.Event, peer: Peer, operation: str) -> None:
    _audit_refusal(peer, f"{operation} not allowed")


# --- services -------------------------------------------------------------------------


def _on_echo(event: evt.Event) -> int:
    return SUCCESS


def _status(code: int, comment: str | None = None) -> Dataset:
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]
    return status


_transfers: weakref.WeakKeyDictionary[Any, Transfer] = weakref.WeakKeyDictionary()
_transfers_lock = threading.Lock()


def _transfer(event: evt.Event) -> Transfer:
    with _transfers_lock:
        return _transfers.setdefault(event.assoc, Transfer())


def _on_ended(event: evt.Event) -> None:
    with _transfers_lock:
        transfer = _transfers.pop(event.assoc, None)
    if transfer is not None:
        transfer.end()


def _on_store(event: evt.Event) -> Dataset | int:
    """C-STORE: hand the bytes as sent to the archive's ingest function."""
    peer = _peer(event)
    if not peer.may("store"):
        _refuse_request(event, peer, "store")
        return _status(REFUSED_NOT_AUTHORIZED, "Storage not allowed for this AE")
    try:
        data = event.encoded_dataset()
    except Exception:
        return _status(CANNOT_UNDERSTAND, "Dataset cannot be decoded")
    with _transfer(event).active():  # the series refreshes wait for the association's end
        outcome = ingest(data, origin=f"dimse:{peer.calling_ae}", actor=peer.actor)
    if outcome.dimse_status == SUCCESS:
        return SUCCESS
    # The command set's default repertoire: the English text (PS3.7 C.4 Error Comment).
    return _status(outcome.dimse_status, outcome.message("en"))


def _charset_for(identifier: Dataset) -> str:
    """Answer in the requested Chinese character set, else in UTF-8 (PS3.4 C.4.1.1.3.1)."""
    requested = identifier.get("SpecificCharacterSet")
    values = [requested] if isinstance(requested, str) else list(requested or [])
    for value in values:
        if str(value).strip() in ("GB18030", "GBK"):
            return str(value).strip()
    return "ISO_IR 192"


def _filters(identifier: Dataset) -> dict[str, str]:
    """Matching keys of a C-FIND identifier: keyword → DICOM-encoded value (non-empty only)."""
    found: dict[str, str] = {}
    for element in identifier:
        keyword = element.keyword
        if not keyword or element.VR == "SQ":
            continue
        if keyword in ("QueryRetrieveLevel", "SpecificCharacterSet"):
            continue
        value = element.value
        if value is None or value == "":
            continue
        if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
            text = "\\".join(str(v) for v in value)
        else:
            text = str(value)
        if text:
            found[keyword] = text
    return found


def _set(dataset: Dataset, keyword: str, value: Any) -> None:
    """Set a return key; a value its VR refuses is returned empty rather than failing."""
    try:
        setattr(dataset, keyword, value)
    except (ValueError, TypeError, OverflowError):
        setattr(dataset, keyword, None)


def _response(
    identifier: Dataset, row: archive.Row, level: str, charset: str, ae_title: str
) -> Dataset:
    out = Dataset()
    out.SpecificCharacterSet = charset
    out.QueryRetrieveLevel = level
    for element in identifier:
        keyword = element.keyword
        if not keyword or keyword in ("QueryRetrieveLevel", "SpecificCharacterSet"):
            continue
        if element.VR == "SQ":
            setattr(out, keyword, [])
            continue
        _set(out, keyword, archive.dicom_value(row, keyword))
    for keyword in archive.UNIQUE_KEYS[: LEVELS.index(level) + 1]:
        if keyword not in out:
            _set(out, keyword, archive.dicom_value(row, keyword))
    out.RetrieveAETitle = ae_title
    return out


def _on_find(
    event: evt.Event, settings: Settings
) -> Iterator[tuple[int | Dataset, Dataset | None]]:
    """C-FIND: Patient Root, Study Root (all levels) and Modality Worklist."""
    peer = _peer(event)
    if not peer.may("find"):
        _refuse_request(event, peer, "find")
        yield REFUSED_NOT_AUTHORIZED, None
        return
    sop_class = str(event.request.AffectedSOPClassUID)
    try:
        identifier = event.identifier
    except Exception:
        yield FIND_UNABLE_TO_PROCESS, None
        return
    if sop_class == str(ModalityWorklistInformationFind):
        with transaction() as session:
            items = worklist_items(session, identifier)
        audit.record_access(
            "dimse.find", peer.actor, resource_type="query", resource_id="WORKLIST",
            detail={"calling_ae": peer.calling_ae, "keys": sorted(_filters(identifier)),
                    "matches": len(items)},
        )  # fmt: skip
        for item in items:
            yield PENDING, item
        return
    level = str(identifier.get("QueryRetrieveLevel", "")).strip().upper()
    root = FIND_MODELS.get(sop_class)
    if level not in LEVELS or (root == "STUDY" and level == "PATIENT"):
        yield DATASET_MISMATCH, None
        return
    filters = _filters(identifier)
    cap = settings.dicom.find_max_results
    try:
        with transaction() as session:
            rows = archive.search(session, level, filters, limit=cap + 1)
    except archive.BadQuery:
        yield FIND_UNABLE_TO_PROCESS, None
        return
    except OperationalError:
        yield OUT_OF_RESOURCES, None
        return
    audit.record_access(
        "dimse.find", peer.actor, resource_type="query", resource_id=level,
        detail={"calling_ae": peer.calling_ae, "keys": sorted(filters), "matches": len(rows)},
    )  # fmt: skip
    charset = _charset_for(identifier)
    for row in rows[:cap]:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, _response(identifier, row, level, charset, settings.dicom.ae_title)
    if len(rows) > cap:
        # PS3.4 C.4.1.1.4 has no "too many" status; Orthanc and dcm4chee end a capped
        # answer as cancelled, and the comment tells the user to narrow the query.
        yield _status(CANCEL, f"More than {cap} matches: first {cap} returned"), None


# PS3.4 C.4.2.2.1: the unique key of the retrieve level (and of each level above it, if
# given), as one value or, at the retrieve level, a list of UIDs; never a wildcard/range.
_LEVEL_KEY = dict(zip(LEVELS, archive.UNIQUE_KEYS, strict=True))
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def _retrieve_keys(identifier: Dataset, level: str) -> dict[str, str] | str:
    """The unique-key filters of a C-MOVE/C-GET identifier, or why they are refused."""
    found = {k: v for k, v in _filters(identifier).items() if k in archive.UNIQUE_KEYS}
    key = _LEVEL_KEY[level]
    if key not in found:
        return f"{key} is required at {level} level"
    for keyword, value in found.items():
        values = value.split("\\")
        if len(values) > 1 and keyword != key:
            return f"{keyword}: one value only above the retrieve level"
        if keyword == "PatientID":
            if "*" in value or "?" in value:
                return "PatientID: wildcards are not allowed in a retrieve"
        elif not all(_UID.match(v.strip()) and len(v.strip()) <= 64 for v in values):
            return f"{keyword}: a UID or a list of UIDs is required (no wildcards)"
    return found


def _instances_for(event: evt.Event, models: dict[str, str]) -> list[archive.Row] | Dataset:
    """The instances a C-MOVE/C-GET identifier names, or a failure status."""
    try:
        identifier = event.identifier
    except Exception:
        return _status(CANNOT_UNDERSTAND, "Identifier cannot be decoded")
    level = str(identifier.get("QueryRetrieveLevel", "")).strip().upper()
    root = models.get(str(event.request.AffectedSOPClassUID))
    if level not in LEVELS or (root == "STUDY" and level == "PATIENT"):
        return _status(DATASET_MISMATCH, "Unsupported Query/Retrieve Level")
    filters = _retrieve_keys(identifier, level)
    if isinstance(filters, str):
        _audit_refusal(_peer(event), "retrieve keys refused", keys=filters)
        return _status(DATASET_MISMATCH, filters)
    try:
        with transaction() as session:
            return archive.search(session, "IMAGE", filters)
    except OperationalError:
        return _status(OUT_OF_RESOURCES, "Database unavailable, retry later")


def _store_contexts(rows: list[archive.Row]) -> list[PresentationContext]:
    return [build_context(c, syntaxes) for c, syntaxes in archive.store_context_pairs(rows)]


def _failed_suboperation(row: archive.Row) -> Dataset:
    """What makes pynetdicom count one C-STORE sub-operation as failed, and list its UID.

    Its loop counts a sub-operation failed when the C-STORE cannot be sent: a dataset
    naming the instance, in a syntax no presentation context has, fails before a byte is
    on the wire. The other instances still go (PS3.4 C.4.2.1.4.2 failed sub-operations).
    """
    placeholder = Dataset()
    placeholder.SOPClassUID = row.sop_class_uid
    placeholder.SOPInstanceUID = row.sop_instance_uid
    placeholder.file_meta = FileMetaDataset()
    placeholder.file_meta.TransferSyntaxUID = UID(_NO_SYNTAX)
    return placeholder


_NO_SYNTAX = "2.25.1"  # a UID that is no transfer syntax


def _send_instances(
    event: evt.Event,
    rows: list[archive.Row],
    accepted: Callable[[str], list[str]],
    action: str,
) -> Iterator[tuple[int, Dataset | None]]:
    """Pending (instance) yields: verified, in a syntax the receiver accepted for it."""
    peer = _peer(event)
    for row in rows:
        if event.is_cancelled:
            yield CANCEL, None
            return
        try:
            dataset = archive.outgoing(row, accepted(row.sop_class_uid))
        except archive.NotSendable as exc:
            logger.warning("%s sub-operation failed: %s", action, exc.reason)
            audit.record_now(
                action, peer.actor, outcome=Outcome.serious_failure, resource_type="study",
                resource_id=row.study_instance_uid, patient_id=row.patient_id or None,
                detail={"calling_ae": peer.calling_ae, "reason": exc.reason,
                        "sop_instance_uid": row.sop_instance_uid},
            )  # fmt: skip
            yield PENDING, _failed_suboperation(row)
            continue
        yield PENDING, dataset


def _accepted_by(contexts: Callable[[], list[PresentationContext]]) -> Callable[[str], list[str]]:
    """Transfer syntaxes the receiving association accepted, by SOP class."""

    def accepted(sop_class: str) -> list[str]:
        return [
            str(cx.transfer_syntax[0])
            for cx in contexts()
            if str(cx.abstract_syntax) == sop_class and cx.transfer_syntax
        ]

    return accepted


def _on_move(event: evt.Event, settings: Settings) -> Iterator[Any]:
    """C-MOVE: only to registered, enabled destinations allowed "move"."""
    peer = _peer(event)
    destination = str(event.move_destination or "").strip()
    with transaction() as session:
        device = devices.find_by_ae_title(session, destination) if destination else None
        target = (
            (device.host, device.port, device.tls, str(device.id))
            if device is not None and device.enabled and device.allows("move")
            else None
        )
    address, reason = None, "move not allowed"
    if peer.may("move"):
        reason = "unknown move destination"
        if target is not None:
            try:
                address, reason = hosts.connect_address(target[0]), ""
            except hosts.HostRefused as exc:  # checked again: DNS may have changed
                reason = f"move destination refused: {exc}"
    if address is None or target is None:
        _audit_refusal(peer, reason, move_destination=destination)
        yield None, None  # pynetdicom answers 0xA801, Move Destination unknown
        return
    found = _instances_for(event, MOVE_MODELS)
    rows = [] if isinstance(found, Dataset) else found
    receiver: list[Any] = []  # the association to the destination, once established

    def established(store_event: evt.Event) -> None:
        receiver.append(store_event.assoc)

    kwargs: dict[str, Any] = {
        "contexts": _store_contexts(rows) or [build_context(Verification)],
        "evt_handlers": [NODELAY_HANDLER, (evt.EVT_ESTABLISHED, established)],
    }
    if target[2]:
        kwargs["tls_args"] = (client_ssl_context(settings.dicom), target[0])
    yield address, target[1], kwargs
    if isinstance(found, Dataset):  # a bad identifier: one failure status ends the operation
        yield 1
        yield found, None
        return
    _audit_transfer("dimse.move", peer, rows, destination)
    yield len(rows)
    contexts = _accepted_by(lambda: receiver[0].accepted_contexts if receiver else [])
    yield from _send_instances(event, rows, contexts, "dimse.move")


def _on_get(event: evt.Event) -> Iterator[Any]:
    """C-GET: the instances come back over the requestor's own association."""
    peer = _peer(event)
    if not peer.may("get"):
        _refuse_request(event, peer, "get")
        yield 1
        yield REFUSED_NOT_AUTHORIZED, None
        return
    found = _instances_for(event, GET_MODELS)
    if isinstance(found, Dataset):
        yield 1
        yield found, None
        return
    _audit_transfer("dimse.get", peer, found, peer.calling_ae)
    yield len(found)
    own: Any = event.assoc  # C-GET: we are the storage SCU on the requestor's association
    contexts = _accepted_by(lambda: [cx for cx in own.accepted_contexts if cx.as_scu])
    yield from _send_instances(event, found, contexts, "dimse.get")


def _audit_transfer(action: str, peer: Peer, rows: list[archive.Row], destination: str) -> None:
    studies = sorted({row.study_instance_uid for row in rows})
    patients = sorted({row.patient_id for row in rows if row.patient_id})
    audit.record_access(
        action, peer.actor, resource_type="study",
        resource_id=studies[0] if len(studies) == 1 else None,
        patient_id=patients[0] if len(patients) == 1 else None,
        detail={"calling_ae": peer.calling_ae, "destination": destination,
                "instances": len(rows), "studies": studies[:20]},
    )  # fmt: skip


def _on_n_action(event: evt.Event) -> tuple[int, Dataset | None]:
    """Storage Commitment Push Model N-ACTION (PS3.4 J.3): accept now, report later."""
    peer = _peer(event)
    request: Any = event.request
    if str(request.RequestedSOPClassUID) != str(StorageCommitmentPushModel):
        return 0x0122, None  # SOP class not supported
    if not peer.may("store") or peer.device_id is None:
        _refuse_request(event, peer, "storage commitment")
        return REFUSED_NOT_AUTHORIZED, None
    if request.ActionTypeID != 1:
        return 0x0123, None  # no such action
    try:
        info = event.action_information
        transaction_uid = str(info.TransactionUID)
        references = [
            (str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
            for item in info.ReferencedSOPSequence
        ]
    except Exception:
        return INVALID_ARGUMENT, None
    if not references:
        return INVALID_ARGUMENT, None
    from hounsfield.dimse import tasks

    with transaction(write=True) as session:
        tasks.enqueue_commitment(session, peer.device_id, transaction_uid, references)
        audit.record(
            session, "dimse.commitment", peer.actor, resource_type="device",
            resource_id=peer.device_id,
            detail={"calling_ae": peer.calling_ae, "transaction_uid": transaction_uid,
                    "instances": len(references)},
        )  # fmt: skip
    return SUCCESS, None


# --- the listener ---------------------------------------------------------------------


class _Handler(RequestHandler):
    """pynetdicom's request handler, with the blocking (non-polling) association loops."""

    def _create_association(self) -> Any:
        return reactor.quieten(super()._create_association())


class _Server(ThreadedAssociationServer):
    """pynetdicom's threaded server, with SO_REUSEPORT when several processes share a port."""

    reuse_port = False
    daemon_threads = True
    request_queue_size = 128  # listen backlog (socketserver's default of 5 drops bursts)

    def server_bind(self) -> None:
        sock: Any = self.socket
        if self.reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


def supported_contexts() -> list[PresentationContext]:
    """Everything the listener can accept; each association then gets its allowed subset."""
    contexts = [build_context(Verification, [str(s) for s in UNCOMPRESSED])]
    syntaxes = [str(s) for s in TRANSFER_SYNTAXES]
    for sop_class in STORAGE_CLASSES:
        cx = build_context(sop_class, syntaxes)
        cx.scu_role, cx.scp_role = True, True  # SCP role: C-GET requestors store to themselves
        contexts.append(cx)
    for uid in [*FIND_MODELS, str(ModalityWorklistInformationFind), *MOVE_MODELS, *GET_MODELS]:
        contexts.append(build_context(uid, QR_SYNTAXES))
    contexts.append(build_context(StorageCommitmentPushModel, [str(s) for s in UNCOMPRESSED]))
    return contexts


# Built once; each association gets fresh copies of only what it proposed and may use
# (pynetdicom would otherwise deep-copy all ~180 contexts per association: ~45 ms).
_SUPPORTED = supported_contexts()
_ALL_ABSTRACT_SYNTAXES = frozenset(str(cx.abstract_syntax) for cx in _SUPPORTED)


class DicomListener:
    """Our AE as association acceptor, running in background threads."""

    def __init__(self, settings: Settings | None = None, *, reuse_port: bool = False) -> None:
        self.settings = settings or get_settings()
        self.reuse_port = reuse_port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("listener not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        dicom = self.settings.dicom
        ae = make_ae(dicom)
        ae.maximum_associations = dicom.max_associations
        ae.require_called_aet = True
        handlers = [
            NODELAY_HANDLER,
            (evt.EVT_REQUESTED, _on_requested, [self.settings]),
            (evt.EVT_ESTABLISHED, _on_established),
            (evt.EVT_C_ECHO, _on_echo),
            (evt.EVT_C_STORE, _on_store),
            (evt.EVT_C_FIND, _on_find, [self.settings]),
            (evt.EVT_C_MOVE, _on_move, [self.settings]),
            (evt.EVT_C_GET, _on_get),
            (evt.EVT_N_ACTION, _on_n_action),
            (evt.EVT_RELEASED, _on_ended),
            (evt.EVT_ABORTED, _on_ended),
            (evt.EVT_CONN_CLOSE, _on_ended),
        ]
        server_class = type("Server", (_Server,), {"reuse_port": self.reuse_port})
        self._server = ae.make_server(
            (dicom.host, dicom.port),
            ae_title=dicom.ae_title,
            contexts=[build_context(Verification)],  # replaced per association (_on_requested)
            ssl_context=server_ssl_context(dicom),
            evt_handlers=handlers,
            server_class=server_class,
            request_handler=_Handler,
        )
        ae._servers.append(self._server)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dicom-listener", daemon=True
        )
        self._thread.start()
        logger.info(
            "DICOM listener %s on %s:%s%s",
            dicom.ae_title, dicom.host, self.port, " (TLS)" if dicom.tls_cert else "",
        )  # fmt: skip

    def stop(self, grace_s: float | None = None) -> None:
        """Stop accepting; let in-flight associations finish (up to the grace), then abort."""
        server, self._server = self._server, None
        if server is None:
            return
        grace = self.settings.dicom.shutdown_grace_s if grace_s is None else grace_s
        active = list(server.active_associations)
        server.shutdown()
        deadline = time.monotonic() + grace
        for assoc in active:
            if not assoc.is_established:  # a connection with no association (yet): drop it
                assoc.abort(block=False)
                continue
            assoc.join(timeout=max(0.0, deadline - time.monotonic()))
        for assoc in active:
            if assoc.is_alive() and assoc.is_established:
                assoc.abort()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("DICOM listener stopped")


def _serve(reuse_port: bool, stop: threading.Event | None = None) -> None:
    """One listener process: serve until SIGTERM/SIGINT, then stop gracefully."""
    from hounsfield.audit.service import sealer
    from hounsfield.worker import requeuer, shutdown_local_pool

    load_models()  # before the association threads build their first queries
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    listener = DicomListener(get_settings(), reuse_port=reuse_port)
    listener.start()
    sealer.start()
    requeuer.start()
    try:
        stop.wait()
    finally:
        listener.stop()
        requeuer.stop()
        shutdown_local_pool(wait=True)
        sealer.stop()


def _child(reuse_port: bool) -> None:  # pragma: no cover - runs in a spawned process
    from hounsfield.logging import configure

    settings = get_settings()
    configure(settings.log_level, settings.log_json)
    _serve(reuse_port)


def serve(processes: int | None = None) -> None:
    """`hounsfield dicom`: the listener on its own, in 1..N processes sharing the port."""
    count = processes or get_settings().dicom.listeners
    if count <= 1:
        _serve(reuse_port=False)
        return
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(target=_child, args=(True,), name=f"dicom-{i}") for i in range(1, count)
    ]
    for child in children:
        child.start()
    try:
        _serve(reuse_port=True)
    finally:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            child.join()


_embedded: DicomListener | None = None


def start_embedded() -> DicomListener | None:
    """Start the listener inside the API process (embedded mode), unless switched off."""
    global _embedded
    settings = get_settings()
    if settings.mode != "embedded" or not settings.dicom.enabled or _embedded is not None:
        return None
    # Several `hounsfield serve` processes share the DICOM port as they share the HTTP one.
    listener = DicomListener(settings, reuse_port=settings.api_workers > 1)
    try:
        listener.start()
    except OSError as exc:
        logger.error("DICOM listener not started: %s", exc)
        return None
    _embedded = listener
    return listener


def embedded_running() -> bool:
    """Whether this process runs the DICOM listener (embedded mode)."""
    return _embedded is not None


def stop_embedded() -> None:
    global _embedded
    listener, _embedded = _embedded, None
    if listener is not None:
        listener.stop()
