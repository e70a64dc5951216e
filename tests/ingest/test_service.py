"""store_instance: the one ingest path (DESIGN.md §4; SECURITY.md I1-I4, D3)."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hounsfield.audit.models import AuditEvent
from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.ingest.outcome import Outcome
from hounsfield.ingest.service import (
    InstanceConflict,
    InvalidInstance,
    StorageUnavailable,
    store_instance,
)
from hounsfield.patients.models import PatientRecord, PatientSearchTerm
from hounsfield.storage import get_storage
from hounsfield.storage.s3 import S3Storage
from hounsfield.studies.models import Instance, Patient, Series, Study
from hounsfield.studies.queries import search
from tests.dicom_factory import make_dataset, to_bytes
from tests.s3_server import free_port, moto_server


def ingest(source: Any, origin: str = "test") -> Outcome:
    with transaction(write=True) as session:
        return store_instance(session, source, origin=origin)


def count(model: Any) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def stored_bytes(sop_uid: str) -> bytes:
    with transaction() as session:
        key = session.scalar(
            select(Instance.storage_key).where(Instance.sop_instance_uid == sop_uid)
        )
    assert key is not None
    with get_storage().open(key) as fp:
        return fp.read()


def test_an_instance_is_stored_indexed_and_audited() -> None:
    ds = make_dataset(Modality="MR", PatientID="P-77", AccessionNumber="A-1")
    data = to_bytes(ds)
    result = ingest(data, origin="upload")
    assert result.status == "stored"
    assert result.sop_instance_uid == ds.SOPInstanceUID
    assert result.study_instance_uid == ds.StudyInstanceUID
    assert result.patient_id == "P-77"
    assert stored_bytes(ds.SOPInstanceUID) == data
    with transaction() as session:
        instance = session.scalar(select(Instance))
        assert instance is not None
        assert instance.sha256 == hashlib.sha256(data).hexdigest()
        assert instance.size == len(data)
        assert instance.origin == "upload"
        assert ds.SOPInstanceUID not in instance.storage_key
        study = session.scalar(select(Study))
        assert study is not None
        assert (study.number_of_series, study.number_of_instances) == (1, 1)
        assert study.modalities_in_study == "MR"
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "image.store"))
        assert event is not None
        assert event.resource_id == ds.StudyInstanceUID
        assert event.patient_id == "P-77"
        assert "Doe" not in event.detail


@pytest.mark.parametrize("kind", ["bytes", "stream", "path"])
def test_every_source_kind_is_accepted(kind: str, tmp_path: Path) -> None:
    data = to_bytes(make_dataset())
    source: Any = data
    if kind == "stream":
        source = io.BytesIO(data)
    elif kind == "path":
        source = tmp_path / "x.dcm"
        source.write_bytes(data)
    assert ingest(source).status == "stored"
    assert count(Instance) == 1


def test_counts_and_modalities_follow_the_series() -> None:
    study_uid = make_dataset().StudyInstanceUID
    ct = make_dataset(StudyInstanceUID=study_uid, Modality="CT")
    ingest(to_bytes(ct))
    same_series = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": ct.SeriesInstanceUID}
    for n in range(3):
        ingest(to_bytes(make_dataset(**same_series, InstanceNumber=n + 2)))
    ingest(to_bytes(make_dataset(StudyInstanceUID=study_uid, Modality="PR", Rows=None)))
    with transaction() as session:
        study = session.scalar(select(Study))
        assert study is not None
        assert (study.number_of_series, study.number_of_instances) == (2, 5)
        assert study.modalities == ["CT", "PR"]
        series = session.scalar(
            select(Series).where(Series.series_instance_uid == ct.SeriesInstanceUID)
        )
        assert series is not None
        assert series.number_of_instances == 4
        assert series.metadata_version == 4
    assert count(Patient) == 1


def test_same_bytes_again_is_a_duplicate() -> None:
    data = to_bytes(make_dataset())
    assert ingest(data).status == "stored"
    second = ingest(data)
    assert second.status == "duplicate"
    assert count(Instance) == 1
    root = get_settings().data_dir / "storage"
    key_files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp")]
    digest = hashlib.sha256(data).hexdigest()
    matching = [p for p in key_files if hashlib.sha256(p.read_bytes()).hexdigest() == digest]
    assert len(matching) == 1


def test_other_bytes_under_the_same_uid_conflict_and_the_original_stays() -> None:
    ds = make_dataset()
    original = to_bytes(ds)
    ingest(original)
    ds.StudyDescription = "ALTERED"
    with pytest.raises(InstanceConflict):
        ingest(to_bytes(ds))
    assert count(Instance) == 1
    assert stored_bytes(ds.SOPInstanceUID) == original


def test_overwrite_policy_replaces_and_audits(settings_env: Callable[..., None]) -> None:
    settings_env(HOUNSFIELD_INGEST__DUPLICATE_POLICY="overwrite")
    ds = make_dataset()
    ingest(to_bytes(ds))
    with transaction() as session:
        old_key = session.scalar(select(Instance.storage_key))
    ds.StudyDescription = "CORRECTED"
    replacement = to_bytes(ds)
    assert ingest(replacement).status == "stored"
    assert count(Instance) == 1
    assert stored_bytes(ds.SOPInstanceUID) == replacement
    assert old_key is not None
    assert not get_storage().exists(old_key)
    with transaction() as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "image.overwrite" in actions


def test_a_polyglot_preamble_is_stored_as_zeros() -> None:
    ds = make_dataset()
    polyglot = to_bytes(ds, preamble=b"MZ\x90\x00\x03" + b"\xff" * 60)
    result = ingest(polyglot)
    assert result.status == "stored"
    assert result.warning is not None
    assert "preamble" in result.warning
    stored = stored_bytes(ds.SOPInstanceUID)
    assert stored[:128] == bytes(128)
    assert stored[128:] == polyglot[128:]


def test_a_bare_dataset_is_stored_as_a_part10_file() -> None:
    ds = make_dataset()
    del ds.file_meta
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=True, little_endian=True, enforce_file_format=False)
    assert ingest(buffer.getvalue()).status == "stored"
    stored = stored_bytes(ds.SOPInstanceUID)
    assert stored[128:132] == b"DICM"


@pytest.mark.parametrize(
    "data",
    [b"not dicom at all", to_bytes(make_dataset(Rows=64, Columns=64))[:-500]],
    ids=["not-dicom", "truncated"],
)
def test_refused_files_leave_nothing(data: bytes) -> None:
    with pytest.raises(InvalidInstance):
        ingest(data)
    assert count(Instance) == count(Study) == count(Patient) == 0
    spool = get_settings().data_dir / "spool"
    assert not spool.exists() or not any(spool.iterdir())


@pytest.mark.parametrize("bad", ["../../x", "/../../tmp/pwn", "1.2/3", "1." + "2" * 63, "1.02"])
def test_bad_uids_are_refused_and_nothing_is_written(bad: str) -> None:
    ds = make_dataset()
    ds.SOPInstanceUID = bad
    with pytest.raises(InvalidInstance):
        ingest(to_bytes(ds))
    assert count(Instance) == 0
    assert not Path("/tmp/pwn").exists()


def test_a_storage_failure_leaves_no_index_row(
    settings_env: Callable[..., None], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the storage root should be")
    settings_env(HOUNSFIELD_STORAGE__LOCAL_ROOT=str(blocker))
    with pytest.raises(StorageUnavailable):
        ingest(to_bytes(make_dataset()))
    assert count(Instance) == count(Series) == count(Study) == count(Patient) == 0


def test_concurrent_ingest_of_one_file_stores_it_once() -> None:
    data = to_bytes(make_dataset(Rows=128, Columns=128))
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        try:
            results.append(ingest(data).status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == ["duplicate"] * 7 + ["stored"]
    assert count(Instance) == 1


def test_concurrent_instances_of_one_new_study_are_all_counted() -> None:
    first = make_dataset()
    files = [
        to_bytes(make_dataset(StudyInstanceUID=first.StudyInstanceUID,
                              SeriesInstanceUID=first.SeriesInstanceUID, InstanceNumber=i))
        for i in range(6)
    ]  # fmt: skip
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(files))

    def worker(data: bytes) -> None:
        barrier.wait()
        try:
            ingest(data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f,)) for f in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(Study) == count(Series) == count(Patient) == 1
    with transaction() as session:
        study = session.scalar(select(Study))
        assert study is not None
        assert (study.number_of_series, study.number_of_instances) == (1, 6)


def test_concurrent_studies_of_new_patients_are_all_stored() -> None:
    """Eight first studies of eight unknown patients at once: each creates a patient record
    with its search terms, and none is answered "database unavailable" (on MariaDB an
    empty DELETE of the new record's terms locked a gap and deadlocked two of them)."""
    files = [to_bytes(make_dataset(PatientID=f"NEW-{i}", PatientName=f"Wang^Fang{i}"))
             for i in range(8)]  # fmt: skip
    statuses: list[str] = []
    barrier = threading.Barrier(len(files))

    def worker(data: bytes) -> None:
        barrier.wait()
        statuses.append(ingest(data).status)

    threads = [threading.Thread(target=worker, args=(f,)) for f in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == ["stored"] * len(files)
    with transaction() as session:
        records = session.scalars(select(PatientRecord)).all()
        assert sorted(r.mrn for r in records) == sorted(f"NEW-{i}" for i in range(8))
        with_terms = session.scalars(select(PatientSearchTerm.patient_id).distinct()).all()
        assert sorted(with_terms) == sorted(r.id for r in records)


def test_a_gb18030_name_is_decoded_and_searchable() -> None:
    ds = make_dataset(PatientName="Zhang^Wei=张^伟", PatientID="CN1")
    ds.SpecificCharacterSet = "GB18030"
    data = to_bytes(ds)
    assert "张".encode("gb18030") in data
    ingest(data)
    with transaction() as session:
        rows, total = search(session, "STUDY", {"PatientName": "张^伟"})
    assert total == 1
    assert rows[0]["PatientName"] == "Zhang^Wei=张^伟"


def test_ingest_into_s3_storage(settings_env: Callable[..., None]) -> None:
    with moto_server() as endpoint:
        settings_env(
            HOUNSFIELD_STORAGE__BACKEND="s3",
            HOUNSFIELD_STORAGE__S3_ENDPOINT_URL=endpoint,
            HOUNSFIELD_STORAGE__S3_BUCKET="ingest-test",
            HOUNSFIELD_STORAGE__S3_ACCESS_KEY_ID="testing",
            HOUNSFIELD_STORAGE__S3_SECRET_ACCESS_KEY="testing",
        )
        storage = get_storage()
        assert isinstance(storage, S3Storage)
        storage.ensure_bucket()
        ds = make_dataset()
        data = to_bytes(ds)
        assert ingest(data).status == "stored"
        assert ingest(data).status == "duplicate"
        assert stored_bytes(ds.SOPInstanceUID) == data
    assert count(Instance) == 1


def test_an_unreachable_s3_leaves_no_index_row(settings_env: Callable[..., None]) -> None:
    settings_env(
        HOUNSFIELD_STORAGE__BACKEND="s3",
        HOUNSFIELD_STORAGE__S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        HOUNSFIELD_STORAGE__S3_ACCESS_KEY_ID="testing",
        HOUNSFIELD_STORAGE__S3_SECRET_ACCESS_KEY="testing",
        HOUNSFIELD_STORAGE__S3_MAX_ATTEMPTS="1",
    )
    with pytest.raises(StorageUnavailable):
        ingest(to_bytes(make_dataset()))
    assert count(Instance) == count(Study) == 0


def test_patients_without_an_id_are_not_merged() -> None:
    ingest(to_bytes(make_dataset(PatientID="", PatientName="Anon^One")))
    ingest(to_bytes(make_dataset(PatientID=None, PatientName="Anon^Two")))
    assert count(Patient) == 2
    with transaction() as session:
        rows, total = search(session, "STUDY", {"PatientName": "anon*"})
    assert total == 2
    assert {r["PatientName"] for r in rows} == {"Anon^One", "Anon^Two"}
    assert all(r["IssuerOfPatientID"] is None and r["PatientID"] is None for r in rows)


def test_a_burst_of_instances_queues_few_refreshes() -> None:
    from hounsfield.studies.service import refresh_aggregates, request_refresh
    from hounsfield.worker import OutboxEntry, shutdown_local_pool

    ds = make_dataset()
    ingest(to_bytes(ds))
    with transaction(write=True) as session:
        series = session.scalar(select(Series))
        assert series is not None
        refresh_aggregates(session, series.series_instance_uid)  # as the task does first

        def queued() -> int:
            return session.scalar(
                select(func.count()).where(OutboxEntry.task_name == "studies.refresh_series",
                                           OutboxEntry.dispatched_at.is_(None))
            ) or 0  # fmt: skip

        before = queued()
        request_refresh(session, series)
        request_refresh(session, series)  # a second change while the first waits: no new task
        assert queued() == before + 1
        refresh_aggregates(session, series.series_instance_uid)  # the task starts
        request_refresh(session, series)  # a change after it started needs a new run
        assert queued() == before + 2
    same = {"StudyInstanceUID": ds.StudyInstanceUID, "SeriesInstanceUID": ds.SeriesInstanceUID}
    for n in range(2, 8):
        ingest(to_bytes(make_dataset(**same, InstanceNumber=n)))
    shutdown_local_pool(wait=True)  # let the queued refreshes finish
    with transaction() as session:
        series = session.scalar(select(Series))
        assert series is not None
        assert series.number_of_instances == 7
        assert series.refresh_requested_at is None
