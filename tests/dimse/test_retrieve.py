"""C-MOVE (movescu → storescp), C-GET (getscu) and Storage Commitment round trips."""

from __future__ import annotations

import queue
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.presentation import build_role

from hounsfield.dimse.common import (
    StorageCommitmentPushModel,
    StorageCommitmentPushModelInstance,
    StudyRootQueryRetrieveInformationModelMove,
)
from hounsfield.ingest.service import ingest
from tests.dicom_factory import make_dataset, to_bytes
from tests.dimse.conftest import StoreSCP, free_port, run

STUDY = "1.2.826.0.1.3680043.10.9.1"
SERIES = "1.2.826.0.1.3680043.10.9.2"


@pytest.fixture
def study() -> list[str]:
    """One study, one series, three CT instances; their SOP Instance UIDs."""
    uids = []
    for number in (1, 2, 3):
        ds = make_dataset(StudyInstanceUID=STUDY, SeriesInstanceUID=SERIES,
                          InstanceNumber=number, PatientID="MV1")  # fmt: skip
        assert ingest(to_bytes(ds), origin="test").status == "stored"
        uids.append(str(ds.SOPInstanceUID))
    return uids


def test_movescu_to_a_registered_storescp(
    listener: Any, register: Callable[..., Any], storescp: StoreSCP, study: list[str]
) -> None:
    register("VIEWER", operations=["find", "move"])
    register(storescp.ae_title, port=storescp.port, operations=["move"])
    result = run(["/usr/bin/movescu", "-S", "-aet", "VIEWER", "-aem", storescp.ae_title,
                  "-aec", "HOUNSFIELD", "-k", "QueryRetrieveLevel=STUDY",
                  "-k", f"StudyInstanceUID={STUDY}", "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    received = sorted(str(dcmread(p).SOPInstanceUID) for p in storescp.files())
    assert received == sorted(study)
    from sqlalchemy import select

    from hounsfield.audit.models import AuditEvent
    from hounsfield.audit.service import flush_buffer
    from hounsfield.db import transaction

    flush_buffer()
    with transaction() as session:
        [moved] = session.scalars(select(AuditEvent).where(AuditEvent.action == "dimse.move"))
    assert moved.resource_id == STUDY
    assert moved.patient_id == "MV1"
    assert moved.event_code == "110106"


def test_move_to_an_unknown_destination_is_0xa801(
    listener: Any, register: Callable[..., Any], study: list[str]
) -> None:
    """SECURITY.md A10: `movescu -aem UNKNOWN` → 0xA801."""
    register("VIEWER", operations=["move"])
    result = run(["/usr/bin/movescu", "-S", "-aet", "VIEWER", "-aem", "UNKNOWN",
                  "-aec", "HOUNSFIELD", "-k", "QueryRetrieveLevel=STUDY",
                  "-k", f"StudyInstanceUID={STUDY}", "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode != 0 or "a801" in (result.stderr + result.stdout).lower()

    ae = AE(ae_title="VIEWER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = STUDY
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    try:
        responses = list(
            assoc.send_c_move(query, "UNKNOWN", StudyRootQueryRetrieveInformationModelMove)
        )
    finally:
        assoc.release()
    assert [status.Status for status, _ in responses] == [0xA801]


def test_move_destination_must_be_allowed_to_receive(
    listener: Any, register: Callable[..., Any], storescp: StoreSCP, study: list[str]
) -> None:
    register("VIEWER", operations=["move"])
    register(storescp.ae_title, port=storescp.port, operations=["store"])  # no "move"
    result = run(["/usr/bin/movescu", "-S", "-aet", "VIEWER", "-aem", storescp.ae_title,
                  "-aec", "HOUNSFIELD", "-k", "QueryRetrieveLevel=STUDY",
                  "-k", f"StudyInstanceUID={STUDY}", "127.0.0.1", str(listener.port)])  # fmt: skip
    assert storescp.files() == []
    assert result.returncode != 0 or "a801" in (result.stderr + result.stdout).lower()


def test_getscu(
    listener: Any, register: Callable[..., Any], tmp_path: Path, study: list[str]
) -> None:
    register("VIEWER", operations=["get"])
    out = tmp_path / "get"
    out.mkdir()
    result = run(["/usr/bin/getscu", "-S", "-aet", "VIEWER", "-aec", "HOUNSFIELD",
                  "-od", str(out), "-k", "QueryRetrieveLevel=SERIES",
                  "-k", f"StudyInstanceUID={STUDY}", "-k", f"SeriesInstanceUID={SERIES}",
                  "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    received = sorted(str(dcmread(p).SOPInstanceUID) for p in out.iterdir())
    assert received == sorted(study)


def test_get_refused_without_permission(
    listener: Any, register: Callable[..., Any], tmp_path: Path, study: list[str]
) -> None:
    register("VIEWER", operations=["find"])
    out = tmp_path / "get"
    out.mkdir()
    run(["/usr/bin/getscu", "-S", "-aet", "VIEWER", "-aec", "HOUNSFIELD",
         "-od", str(out), "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={STUDY}",
         "127.0.0.1", str(listener.port)])  # fmt: skip
    assert list(out.iterdir()) == []


def test_storage_commitment_round_trip(
    listener: Any, register: Callable[..., Any], study: list[str]
) -> None:
    """N-ACTION from the modality; the N-EVENT-REPORT comes on a new association."""
    reports: queue.Queue[tuple[int, Dataset]] = queue.Queue()

    def on_report(event: Any) -> tuple[int, None]:
        reports.put((event.event_type, event.event_information))
        return 0x0000, None

    port = free_port()
    modality = AE(ae_title="MODALITY")
    modality.add_supported_context(StorageCommitmentPushModel, scu_role=True, scp_role=True)
    server = modality.start_server(("127.0.0.1", port), block=False,
                                   evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])  # fmt: skip
    try:
        register("MODALITY", port=port, operations=["store"])
        request = Dataset()
        request.TransactionUID = "1.2.826.0.1.3680043.10.9.99"
        refs = []
        for sop_class, sop_uid in [("1.2.840.10008.5.1.4.1.1.2", study[0]),
                                   ("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.404"),
                                   ("1.2.840.10008.5.1.4.1.1.4", study[1])]:  # fmt: skip
            item = Dataset()
            item.ReferencedSOPClassUID = sop_class
            item.ReferencedSOPInstanceUID = sop_uid
            refs.append(item)
        request.ReferencedSOPSequence = refs
        modality.add_requested_context(StorageCommitmentPushModel)
        assoc = modality.associate(
            "127.0.0.1",
            listener.port,
            ae_title="HOUNSFIELD",
            ext_neg=[build_role(StorageCommitmentPushModel, scu_role=True)],
        )
        assert assoc.is_established
        status, _ = assoc.send_n_action(
            request, 1, StorageCommitmentPushModel, StorageCommitmentPushModelInstance
        )
        assoc.release()
        assert status.Status == 0x0000
        event_type, info = reports.get(timeout=60)
    finally:
        server.shutdown()
    assert event_type == 2  # some failed
    assert info.TransactionUID == "1.2.826.0.1.3680043.10.9.99"
    assert [i.ReferencedSOPInstanceUID for i in info.ReferencedSOPSequence] == [study[0]]
    failed = {i.ReferencedSOPInstanceUID: i.FailureReason for i in info.FailedSOPSequence}
    assert failed == {"1.2.3.4.404": 0x0112, study[1]: 0x0119}


def test_commitment_refused_for_unregistered_ae(listener: Any, study: list[str]) -> None:
    ae = AE(ae_title="STRANGER")
    ae.add_requested_context(StorageCommitmentPushModel)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    # Unknown AEs may only store (embedded mode): the commitment context is not accepted.
    assert not assoc.is_established


@pytest.mark.parametrize(
    "keys",
    [
        {"QueryRetrieveLevel": "IMAGE", "StudyInstanceUID": "*"},
        {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": "1.2.826.0.1.3680043.10.9.*"},
        {"QueryRetrieveLevel": "STUDY", "PatientID": "MV1"},  # no unique key of the level
        {"QueryRetrieveLevel": "SERIES", "StudyInstanceUID": STUDY, "SeriesInstanceUID": "?"},
    ],
)
def test_wildcard_retrieve_is_refused_with_a_reason(
    listener: Any, register: Callable[..., Any], storescp: StoreSCP, study: list[str],
    keys: dict[str, str],
) -> None:  # fmt: skip
    """SECURITY #14.6: retrieve keys are unique keys or lists of them (PS3.4 C.4.2.2.1)."""
    from pynetdicom.presentation import build_role

    from hounsfield.dimse.common import StudyRootQueryRetrieveInformationModelGet

    register("VIEWER", operations=["move", "get"])
    register(storescp.ae_title, port=storescp.port, operations=["move"])
    query = Dataset()
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    ae = AE(ae_title="VIEWER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.2")  # CT Image Storage, for C-GET
    role = build_role("1.2.840.10008.5.1.4.1.1.2", scp_role=True)
    stored: list[str] = []
    assoc = ae.associate(
        "127.0.0.1", listener.port, ae_title="HOUNSFIELD", ext_neg=[role],
        evt_handlers=[(evt.EVT_C_STORE, lambda e: stored.append(e.dataset.SOPInstanceUID) or 0)],
    )  # fmt: skip
    try:
        moved = list(
            assoc.send_c_move(query, storescp.ae_title, StudyRootQueryRetrieveInformationModelMove)
        )
        got = list(assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet))
    finally:
        assoc.release()
    for responses in (moved, got):
        [(status, _)] = [(s, i) for s, i in responses if s is not None and "Status" in s]
        assert status.Status == 0xA900
        assert "UID" in status.ErrorComment or "required" in status.ErrorComment
    assert storescp.files() == []
    assert stored == []


def _store_files(tmp_path: Path, names: list[str], study_uid: str) -> dict[str, str]:
    """Bundled files of several syntaxes stored in one study: SOP Instance UID → name."""
    from tests.dimse.helpers import fresh_copy

    stored = {}
    for name in names:
        path, sop_uid = fresh_copy(name, tmp_path, study_uid=study_uid, PatientID="TX1")
        outcome = ingest(path.read_bytes(), origin="test")
        assert outcome.status == "stored", (name, outcome)
        stored[sop_uid] = name
    return stored


def test_movescu_to_an_uncompressed_only_storescp_gets_every_instance_transcoded(
    listener: Any, register: Callable[..., Any], storescp: StoreSCP, tmp_path: Path
) -> None:
    """#12.3: dcmtk's storescp (default: uncompressed syntaxes only) receives all of them."""
    from pydicom.data import get_testdata_file

    from tests.dimse.helpers import BY_SYNTAX

    study_uid = "1.2.826.0.1.3680043.10.9.50"
    stored = _store_files(tmp_path, list(BY_SYNTAX), study_uid)
    register("VIEWER", operations=["move"])
    register(storescp.ae_title, port=storescp.port, operations=["move"])
    result = run(["/usr/bin/movescu", "-S", "-aet", "VIEWER", "-aem", storescp.ae_title,
                  "-aec", "HOUNSFIELD", "-k", "QueryRetrieveLevel=STUDY",
                  "-k", f"StudyInstanceUID={study_uid}",
                  "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    received = {str(ds.SOPInstanceUID): ds for ds in map(dcmread, storescp.files())}
    assert sorted(received) == sorted(stored)
    for sop_uid, ds in received.items():
        name = stored[sop_uid]
        assert ds.file_meta.TransferSyntaxUID in ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2"), name
        original = dcmread(get_testdata_file(name))
        if "PixelData" in original:
            assert ds.pixel_array.shape == original.pixel_array.shape, name
    jpeg = next(ds for uid, ds in received.items() if stored[uid] == "SC_rgb_jpeg_dcmtk.dcm")
    assert jpeg.LossyImageCompression == "01"  # decompressed, still marked lossy
    lossless = next(ds for uid, ds in received.items() if stored[uid] == "MR_small_RLE.dcm")
    original = dcmread(get_testdata_file("MR_small_RLE.dcm"))
    assert (lossless.pixel_array == original.pixel_array).all()


def test_getscu_of_a_big_endian_object(
    listener: Any, register: Callable[..., Any], tmp_path: Path
) -> None:
    """#12.3: Explicit VR Big Endian goes out as little endian, pixel values intact."""
    from pydicom.data import get_testdata_file

    study_uid = "1.2.826.0.1.3680043.10.9.51"
    [sop_uid] = _store_files(tmp_path, ["MR_small_bigendian.dcm"], study_uid)
    register("VIEWER", operations=["get"])
    out = tmp_path / "get"
    out.mkdir()
    result = run(["/usr/bin/getscu", "-S", "-aet", "VIEWER", "-aec", "HOUNSFIELD",
                  "-od", str(out), "-k", "QueryRetrieveLevel=STUDY",
                  "-k", f"StudyInstanceUID={study_uid}",
                  "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    [path] = list(out.iterdir())
    got = dcmread(path)
    assert got.SOPInstanceUID == sop_uid
    assert got.file_meta.TransferSyntaxUID != "1.2.840.10008.1.2.2"
    original = dcmread(get_testdata_file("MR_small_bigendian.dcm"))
    assert (got.pixel_array == original.pixel_array).all()


def test_a_corrupt_object_is_a_failed_sub_operation_never_delivered(
    listener: Any, register: Callable[..., Any], storescp: StoreSCP, study: list[str],
    tmp_path: Path, data_dir: Path,
) -> None:  # fmt: skip
    """SECURITY #14.4: a flipped byte → getscu and movescu get the two good ones, one
    failure is reported (and audited as a failure); the bad bytes never leave."""
    from sqlalchemy import select

    from hounsfield.audit.models import AuditEvent
    from hounsfield.db import transaction
    from tests.dicomweb.test_retrieve import corrupt

    corrupt(data_dir, study[1])
    register("VIEWER", operations=["move", "get"])
    register(storescp.ae_title, port=storescp.port, operations=["move"])
    out = tmp_path / "get"
    out.mkdir()
    got = run(["/usr/bin/getscu", "-v", "-S", "-aet", "VIEWER", "-aec", "HOUNSFIELD",
               "-od", str(out), "-k", "QueryRetrieveLevel=STUDY",
               "-k", f"StudyInstanceUID={STUDY}", "127.0.0.1", str(listener.port)])  # fmt: skip
    delivered = sorted(str(dcmread(p).SOPInstanceUID) for p in out.iterdir())
    assert delivered == sorted([study[0], study[2]])
    assert "Number of Failed Suboperations    : 1" in got.stdout + got.stderr
    moved = run(["/usr/bin/movescu", "-v", "-S", "-aet", "VIEWER", "-aem", storescp.ae_title,
                 "-aec", "HOUNSFIELD", "-k", "QueryRetrieveLevel=STUDY",
                 "-k", f"StudyInstanceUID={STUDY}", "127.0.0.1", str(listener.port)])  # fmt: skip
    received = sorted(str(dcmread(p).SOPInstanceUID) for p in storescp.files())
    assert received == sorted([study[0], study[2]])
    assert "OneOrMoreFailures" in moved.stdout + moved.stderr
    from hounsfield.audit.service import flush_buffer

    flush_buffer()  # refusals and failures are journalled audit events
    with transaction() as session:
        transfers = AuditEvent.action.in_(["dimse.get", "dimse.move"])
        failures = list(
            session.scalars(select(AuditEvent).where(transfers, AuditEvent.outcome != 0))
        )
    assert sorted(e.action for e in failures) == ["dimse.get", "dimse.move"]
    assert all(study[1] in e.detail and "SHA-256" in e.detail for e in failures)
