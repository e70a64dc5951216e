"""Background DICOM work: storage commitment reports, sends and retrieves (Celery tasks)."""

from __future__ import annotations

import logging
import uuid

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom.presentation import build_role
from sqlalchemy.orm import Session

from hounsfield.db import transaction
from hounsfield.dimse import archive, devices, scu
from hounsfield.dimse.common import (
    UNCOMPRESSED,
    StorageCommitmentPushModel,
    StorageCommitmentPushModelInstance,
)
from hounsfield.worker import celery, enqueue

logger = logging.getLogger(__name__)

NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119


def enqueue_commitment(
    session: Session, device_id: str, transaction_uid: str, references: list[tuple[str, str]]
) -> None:
    """Queue the N-EVENT-REPORT answering a Storage Commitment request (after commit)."""
    enqueue(
        session, storage_commitment,
        device_id=device_id, transaction_uid=transaction_uid,
        references=[list(pair) for pair in references],
    )  # fmt: skip


def commitment_result(references: list[tuple[str, str]]) -> Dataset:
    """The Event Information of the report (PS3.4 J.3.3): what we hold safely, what not."""
    committed: list[Dataset] = []
    failed: list[Dataset] = []
    with transaction() as session:
        held = archive.instances_held(session, [uid for _, uid in references])
    for sop_class, sop_instance in references:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_instance
        stored_class = held.get(sop_instance)
        if stored_class is None:
            item.FailureReason = NO_SUCH_OBJECT_INSTANCE
            failed.append(item)
        elif stored_class != sop_class:
            item.FailureReason = CLASS_INSTANCE_CONFLICT
            failed.append(item)
        else:
            committed.append(item)
    info = Dataset()
    info.ReferencedSOPSequence = committed
    if failed:
        info.FailedSOPSequence = failed
    return info


@celery.task(name="dimse.storage_commitment", acks_late=True)
def storage_commitment(device_id: str, transaction_uid: str, references: list[list[str]]) -> None:
    """Tell the requestor which instances we have committed, on a new association."""
    with transaction() as session:
        device = devices.get_device(session, uuid.UUID(device_id))
        peer = scu.Peer(device.ae_title, device.host, device.port, device.tls)
    info = commitment_result([(c, i) for c, i in references])
    info.TransactionUID = transaction_uid
    event_type = 2 if "FailedSOPSequence" in info else 1
    contexts = [(str(StorageCommitmentPushModel), [str(s) for s in UNCOMPRESSED])]
    role = build_role(StorageCommitmentPushModel, scp_role=True)
    with scu.associate(peer, contexts, ext_neg=[role]) as assoc:
        status, _reply = assoc.send_n_event_report(
            info, event_type, StorageCommitmentPushModel, StorageCommitmentPushModelInstance
        )
    code = getattr(status, "Status", None)
    if code is None or int(code) not in (0x0000,):
        raise scu.AssociationFailed(f"N-EVENT-REPORT not acknowledged: {code}")


def new_transaction_uid() -> str:
    return str(generate_uid())
