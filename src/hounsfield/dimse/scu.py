"""Our SCU side: C-ECHO, C-STORE (send jobs), C-FIND and C-MOVE to registered devices."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.association import Association

from hounsfield.config import get_settings
from hounsfield.dimse import hosts
from hounsfield.dimse.common import NODELAY_HANDLER, Verification, client_ssl_context, make_ae
from hounsfield.dimse.schemas import EchoResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peer:
    """Where to reach a remote AE (a snapshot of its Device row, usable outside a session)."""

    ae_title: str
    host: str
    port: int
    tls: bool = False


class AssociationFailed(Exception):
    """The remote node refused or could not be reached."""


@contextmanager
def associate(
    peer: Peer,
    contexts: list[tuple[str, list[str]]],
    *,
    ext_neg: list[Any] | None = None,
    handlers: list[tuple[Any, Any]] | None = None,
) -> Iterator[Association]:
    """An established association to `peer` proposing `contexts`; released on exit."""
    dicom = get_settings().dicom
    try:
        address = hosts.connect_address(peer.host)  # checked again: DNS may have changed
    except hosts.HostRefused as exc:
        raise AssociationFailed(f"destination refused: {exc}") from exc
    ae = make_ae(dicom)
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, syntaxes)
    kwargs: dict[str, Any] = {"ae_title": peer.ae_title, "evt_handlers": [NODELAY_HANDLER]}
    kwargs["evt_handlers"].extend(handlers or [])
    if ext_neg:
        kwargs["ext_neg"] = ext_neg
    if peer.tls:
        kwargs["tls_args"] = (client_ssl_context(dicom), peer.host)
    assoc = ae.associate(address, peer.port, **kwargs)
    if not assoc.is_established:
        raise AssociationFailed(
            "association rejected" if assoc.is_rejected else "association failed"
        )
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()


def echo(peer: Peer) -> EchoResult:
    """C-ECHO the peer: status and round-trip time of the whole exchange."""
    started = time.perf_counter()
    try:
        with associate(peer, [(Verification, ["1.2.840.10008.1.2"])]) as assoc:
            response = assoc.send_c_echo()
    except AssociationFailed as exc:
        return EchoResult(success=False, error=str(exc))
    except OSError as exc:
        return EchoResult(success=False, error=type(exc).__name__)
    elapsed_ms = (time.perf_counter() - started) * 1000
    status = getattr(response, "Status", None)
    if status is None:
        return EchoResult(success=False, round_trip_ms=elapsed_ms, error="no response")
    return EchoResult(success=status == 0, status=int(status), round_trip_ms=round(elapsed_ms, 2))


QUERY_MODELS = {
    "study": (
        "1.2.840.10008.5.1.4.1.2.2.1",  # Study Root Q/R FIND
        "1.2.840.10008.5.1.4.1.2.2.2",  # Study Root Q/R MOVE
    ),
    "patient": (
        "1.2.840.10008.5.1.4.1.2.1.1",  # Patient Root Q/R FIND
        "1.2.840.10008.5.1.4.1.2.1.2",  # Patient Root Q/R MOVE
    ),
}
MAX_REMOTE_MATCHES = 1000
_UNCOMPRESSED = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


def _text(value: Any) -> str:
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return "" if value is None else str(value)


def query(
    peer: Peer,
    level: str,
    filters: dict[str, str],
    return_keys: list[str],
    model: str = "study",
) -> tuple[list[dict[str, str]], int]:
    """C-FIND a remote node; matches as keyword → text, and the final status."""
    find_uid = QUERY_MODELS[model][0]
    identifier = Dataset()
    identifier.SpecificCharacterSet = "ISO_IR 192"
    identifier.QueryRetrieveLevel = level
    for keyword in [*unique_keys(level, model), *return_keys]:
        if keyword_dict_has(keyword) and keyword not in filters:
            setattr(identifier, keyword, "")
    for keyword, value in filters.items():
        if not keyword_dict_has(keyword):
            raise ValueError(f"unknown DICOM keyword {keyword!r}")
        setattr(identifier, keyword, value)
    matches: list[dict[str, str]] = []
    final = 0xC000
    with associate(peer, [(find_uid, _UNCOMPRESSED)]) as assoc:
        for status, found in assoc.send_c_find(identifier, find_uid):
            code = int(getattr(status, "Status", 0xC000))
            if code in (0xFF00, 0xFF01) and found is not None:
                if len(matches) < MAX_REMOTE_MATCHES:
                    matches.append(
                        {e.keyword: _text(e.value) for e in found if e.keyword and e.VR != "SQ"}
                    )
                continue
            final = code
    return matches, final


_UNIQUE = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
_LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")


def unique_keys(level: str, model: str) -> list[str]:
    """The unique keys of `level` and the levels above it in `model` (PS3.4 C.4.1.2.1):
    always asked for, so that every match can be retrieved."""
    top = 0 if model == "patient" else 1
    return list(_UNIQUE[top : _LEVELS.index(level) + 1])


def keyword_dict_has(keyword: str) -> bool:
    from pydicom.datadict import tag_for_keyword

    return tag_for_keyword(keyword) is not None


@dataclass(frozen=True)
class MoveResult:
    status: int
    completed: int
    failed: int
    warning: int


def retrieve(
    peer: Peer, study_uid: str, series_uid: str | None, model: str = "study"
) -> MoveResult:
    """C-MOVE a study (or series) from a remote node to us (our AE title)."""
    move_uid = QUERY_MODELS[model][1]
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
    identifier.StudyInstanceUID = study_uid
    if series_uid:
        identifier.SeriesInstanceUID = series_uid
    our_ae = get_settings().dicom.ae_title
    final: Any = None
    with associate(peer, [(move_uid, _UNCOMPRESSED)]) as assoc:
        for status, _ in assoc.send_c_move(identifier, our_ae, move_uid):
            if status is not None and "Status" in status:
                final = status
    if final is None:
        raise AssociationFailed("no C-MOVE response")
    return MoveResult(
        status=int(final.Status),
        completed=int(final.get("NumberOfCompletedSuboperations", 0) or 0),
        failed=int(final.get("NumberOfFailedSuboperations", 0) or 0),
        warning=int(final.get("NumberOfWarningSuboperations", 0) or 0),
    )


@dataclass
class SendProgress:
    completed: int = 0
    failed: int = 0
    warning: int = 0


def send(
    peer: Peer,
    rows: list[Any],
    on_progress: Callable[[SendProgress], None] | None = None,
) -> SendProgress:
    """C-STORE the instances of `rows` (archive rows) to the peer, over one association."""
    from hounsfield.dimse import archive

    progress = SendProgress()
    with associate(peer, archive.store_context_pairs(rows)) as assoc:
        for row in rows:
            accepted = [
                str(cx.transfer_syntax[0])
                for cx in assoc.accepted_contexts
                if str(cx.abstract_syntax) == row.sop_class_uid
            ]
            try:  # verified, and transcoded when the peer does not take the stored syntax
                dataset = archive.outgoing(row, accepted)
                status = assoc.send_c_store(dataset)
                code = int(getattr(status, "Status", 0xC000))
            except archive.NotSendable as exc:
                logger.warning("send: instance not sent: %s", exc.reason)
                code = 0xC000
            except (ValueError, OSError):  # no context for it
                code = 0xC000
            if code == 0x0000:
                progress.completed += 1
            elif code in (0xB000, 0xB007, 0xB006):
                progress.warning += 1
            else:
                progress.failed += 1
            if on_progress is not None:
                on_progress(progress)
            if not assoc.is_established:
                raise AssociationFailed("association lost while sending")
    return progress
