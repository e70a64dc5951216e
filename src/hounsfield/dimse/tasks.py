"""Background DICOM work: storage commitment reports, sends and retrieves (Celery tasks)."""

from __future__ import annotations

import logging
import time
import uuid

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom.presentation import build_role
from sqlalchemy.orm import Session

from hounsfield.db import transaction
from hounsfield.dimse import archive, devices, jobs, scu
from hounsfield.dimse.common import (
    UNCOMPRESSED,
    StorageCommitmentPushModel,
    StorageCommitmentPushModelInstance,
)
from hounsfield.dimse.models import DimseJob
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


MAX_ATTEMPTS = 3
RETRY_DELAYS_S = (2.0, 10.0)


def enqueue_job(session: Session, job: DimseJob) -> None:
    """Run a send/retrieve job in the background once the transaction commits."""
    enqueue(session, run_job, job_id=str(job.id))


def _update(job_id: uuid.UUID, **values: object) -> None:
    with transaction(write=True) as session:
        job = session.get(DimseJob, job_id)
        if job is not None:
            for name, value in values.items():
                setattr(job, name, value)


@celery.task(name="dimse.run_job", acks_late=True)
def run_job(job_id: str) -> None:
    """Run a send (C-STORE to a device) or retrieve (C-MOVE to us) job, with retries.

    Idempotent: a finished job is left alone; a rerun sends again (C-STORE of the same
    instance is harmless at the receiver) and overwrites the progress counts.
    """
    key = uuid.UUID(job_id)
    with transaction() as session:
        job = session.get(DimseJob, key)
        if job is None or job.status in ("completed", "partial", "failed"):
            return
        device = devices.get_device(session, job.device_id)
        peer = scu.Peer(device.ae_title, device.host, device.port, device.tls)
        kind, study, series = job.kind, job.study_instance_uid, job.series_instance_uid
        rows = jobs.job_rows(session, job) if kind == "send" else []
    error: str | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        _update(key, status="running", attempts=attempt, total=len(rows) or 0)
        try:
            if kind == "send":
                result = scu.send(
                    peer, rows,
                    lambda p: _update(key, completed=p.completed, failed=p.failed,
                                      warning=p.warning),
                )  # fmt: skip
                counts = (result.completed, result.failed, result.warning)
            else:
                moved = scu.retrieve(peer, study, series)
                counts = (moved.completed, moved.failed, moved.warning)
                if moved.status not in (0x0000, 0xB000) and not any(counts):
                    raise scu.AssociationFailed(f"C-MOVE status 0x{moved.status:04X}")
        except Exception as exc:  # the peer, the network, storage: retry, then give up
            error = str(exc)[:255] or type(exc).__name__
            logger.warning("DICOM %s job attempt %d failed: %s", kind, attempt, error)
            if attempt < MAX_ATTEMPTS:
                time.sleep(RETRY_DELAYS_S[min(attempt - 1, len(RETRY_DELAYS_S) - 1)])
            continue
        completed, failed, warning = counts
        status = "completed" if failed == 0 else ("partial" if completed or warning else "failed")
        total = len(rows) if kind == "send" else completed + failed + warning
        _update(key, status=status, completed=completed, failed=failed, warning=warning,
                total=total, error=None)  # fmt: skip
        return
    _update(key, status="failed", error=error)
