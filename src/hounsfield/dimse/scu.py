"""Our SCU side: C-ECHO, C-STORE (send jobs), C-FIND and C-MOVE to registered devices."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynetdicom.association import Association

from hounsfield.config import get_settings
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
    ae = make_ae(dicom)
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, syntaxes)
    kwargs: dict[str, Any] = {"ae_title": peer.ae_title, "evt_handlers": [NODELAY_HANDLER]}
    kwargs["evt_handlers"].extend(handlers or [])
    if ext_neg:
        kwargs["ext_neg"] = ext_neg
    if peer.tls:
        kwargs["tls_args"] = (client_ssl_context(dicom), peer.host)
    assoc = ae.associate(peer.host, peer.port, **kwargs)
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
