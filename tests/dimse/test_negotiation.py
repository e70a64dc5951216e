"""Association negotiation: the requestor's transfer-syntax order, true rejection reasons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynetdicom import AE
from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.studies.models import Instance
from tests.dimse.conftest import run
from tests.dimse.helpers import fresh_copy

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

# One context per SOP class proposing [JPEG Baseline, Explicit VR LE, Implicit VR LE]: the
# acceptor must take the first it supports (JPEG Baseline), not its own favourite.
STORESCU_CFG = """\
[[TransferSyntaxes]]
[JPEGFirst]
TransferSyntax1 = JPEGBaseline
TransferSyntax2 = LittleEndianExplicit
TransferSyntax3 = LittleEndianImplicit
[[PresentationContexts]]
[JPEGFirst]
PresentationContext1 = SecondaryCaptureImageStorage\\JPEGFirst
[[Profiles]]
[JPEGFirst]
PresentationContexts = JPEGFirst
"""


def _syntax(sop_uid: str) -> str | None:
    with transaction() as session:
        return session.scalar(
            select(Instance.transfer_syntax_uid).where(Instance.sop_instance_uid == sop_uid)
        )


def test_the_requestors_transfer_syntax_order_wins(
    listener: Any, register: Callable[..., Any], tmp_path: Path
) -> None:
    """#12.2: storescu proposing JPEG Baseline first sends the JPEG file as it is."""
    register("MODALITY", operations=["store"])
    config = tmp_path / "storescu.cfg"
    config.write_text(STORESCU_CFG)
    path, sop_uid = fresh_copy("SC_rgb_jpeg_dcmtk.dcm", tmp_path)
    result = run(["/usr/bin/storescu", "-v", "-xf", str(config), "JPEGFirst", "-aet", "MODALITY",
                  "-aec", "HOUNSFIELD", "127.0.0.1", str(listener.port), str(path)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Store Failed" not in result.stderr + result.stdout
    assert _syntax(sop_uid) == JPEG_BASELINE

    ae = AE(ae_title="MODALITY")  # the same proposal from pynetdicom, order reversed
    ae.add_requested_context(SECONDARY_CAPTURE, ["1.2.840.10008.1.2", JPEG_BASELINE])
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    try:
        [context] = assoc.accepted_contexts
        assert context.transfer_syntax == ["1.2.840.10008.1.2"]
    finally:
        assoc.release()


def test_only_unsupported_sop_classes_get_the_true_reason(
    listener: Any, register: Callable[..., Any]
) -> None:
    """#12.9a: not "Calling AE Title Not Recognized": each context "abstract syntax not
    supported", and the refusal is audited with that reason."""
    from hounsfield.audit.models import AuditEvent

    register("WORKSTATION", operations=["find"])
    hanging_protocol_find = "1.2.840.10008.5.1.4.38.2"
    ae = AE(ae_title="WORKSTATION")
    ae.add_requested_context(hanging_protocol_find)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    assert not assoc.is_rejected
    assert [(cx.abstract_syntax, cx.result) for cx in assoc.rejected_contexts] == [
        (hanging_protocol_find, 0x03)  # abstract syntax not supported
    ]
    assoc.abort()
    from hounsfield.audit.service import flush_buffer

    flush_buffer()  # refusals are journalled audit events
    with transaction() as session:
        details = list(
            session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "dimse.reject"))
        )
    assert any("no supported SOP class" in detail for detail in details)
    echo = run(["/usr/bin/echoscu", "-aet", "WORKSTATION", "-aec", "HOUNSFIELD",
                "127.0.0.1", str(listener.port)])  # fmt: skip
    assert echo.returncode == 0, echo.stderr  # the device itself is fine
