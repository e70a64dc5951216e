"""Send and retrieve jobs: a study (or series) to a device, or from a device to us."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.dimse import archive, devices
from hounsfield.dimse.models import DimseJob
from hounsfield.errors import Conflict, NotFound
from hounsfield.studies.refs import StudyNotFound


class JobNotFound(NotFound):
    """No such transfer job."""

    code = "dimse_job_not_found"


class DeviceDisabled(Conflict):
    """The device is disabled."""

    code = "device_disabled"


def _filters(study_uid: str, series_uid: str | None) -> dict[str, str]:
    found = {"StudyInstanceUID": study_uid}
    if series_uid:
        found["SeriesInstanceUID"] = series_uid
    return found


def job_rows(session: Session, job: DimseJob) -> list[archive.Row]:
    """The instances a send job covers, as the index holds them now."""
    return archive.search(
        session, "IMAGE", _filters(job.study_instance_uid, job.series_instance_uid)
    )


def start_send(
    session: Session,
    actor: Actor,
    study_uid: str,
    device_id: uuid.UUID,
    series_uid: str | None = None,
) -> DimseJob:
    """Queue a C-STORE of a study (or one series) to a device; progress is kept on the job."""
    from hounsfield.dimse import tasks

    device = devices.get_device(session, device_id)
    if not device.enabled:
        raise DeviceDisabled()
    rows = archive.search(session, "IMAGE", _filters(study_uid, series_uid))
    if not rows:
        raise StudyNotFound()
    job = DimseJob(
        kind="send", device_id=device.id, study_instance_uid=study_uid,
        series_instance_uid=series_uid, total=len(rows), requested_by=actor.username,
    )  # fmt: skip
    session.add(job)
    session.flush()
    patients = {row.patient_id for row in rows}
    audit.record(
        session, "dimse.send", actor, resource_type="study", resource_id=study_uid,
        patient_id=patients.pop() if len(patients) == 1 else None,
        detail={"device": device.ae_title, "instances": len(rows), "job_id": str(job.id),
                "series_instance_uid": series_uid},
    )  # fmt: skip
    tasks.enqueue_job(session, job)
    return job


def start_retrieve(
    session: Session,
    actor: Actor,
    device_id: uuid.UUID,
    study_uid: str,
    series_uid: str | None = None,
) -> DimseJob:
    """Queue a C-MOVE of a study (or series) from a device to us (e.g. priors)."""
    from hounsfield.dimse import tasks

    device = devices.get_device(session, device_id)
    if not device.enabled:
        raise DeviceDisabled()
    job = DimseJob(
        kind="retrieve", device_id=device.id, study_instance_uid=study_uid,
        series_instance_uid=series_uid, requested_by=actor.username,
    )  # fmt: skip
    session.add(job)
    session.flush()
    audit.record(
        session, "dimse.retrieve", actor, resource_type="study", resource_id=study_uid,
        detail={"device": device.ae_title, "job_id": str(job.id),
                "series_instance_uid": series_uid},
    )  # fmt: skip
    tasks.enqueue_job(session, job)
    return job


def get_job(session: Session, job_id: uuid.UUID) -> DimseJob:
    job = session.get(DimseJob, job_id)
    if job is None:
        raise JobNotFound()
    return job
