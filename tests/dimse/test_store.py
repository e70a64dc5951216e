"""C-ECHO and C-STORE against the real listener, driven by dcmtk and pynetdicom."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, Verification
from sqlalchemy import func, select

from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.studies.models import Instance
from tests.dimse.conftest import run
from tests.dimse.helpers import BY_SYNTAX, fresh_copy


def _stored(sop_uid: str) -> Instance | None:
    with transaction() as session:
        return session.scalar(select(Instance).where(Instance.sop_instance_uid == sop_uid))


def _count() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(Instance)) or 0


def _audit(action: str) -> list[AuditEvent]:
    from hounsfield.audit.service import flush_buffer

    flush_buffer()  # associations and reads are buffered audit events
    with transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_echoscu(listener: Any, register: Callable[..., Any]) -> None:
    register("ECHOER", operations=[])
    result = run(["/usr/bin/echoscu", "-aet", "ECHOER", "-aec", "HOUNSFIELD",
                  "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(_audit("dimse.association")) == 1


def test_storescu_every_transfer_syntax(
    listener: Any, register: Callable[..., Any], tmp_path: Path
) -> None:
    register("MODALITY", operations=["store"])
    for name, (syntax, option) in BY_SYNTAX.items():
        path, sop_uid = fresh_copy(name, tmp_path)
        result = run(["/usr/bin/storescu", option, "-aet", "MODALITY", "-aec", "HOUNSFIELD",
                      "127.0.0.1", str(listener.port), str(path)])  # fmt: skip
        assert result.returncode == 0, (name, result.stderr)
        assert "Store Failed" not in result.stderr, name
        row = _stored(sop_uid)
        assert row is not None, name
        assert row.transfer_syntax_uid == syntax, name
        assert row.origin == "dimse:MODALITY"
    stores = _audit("image.store")
    assert len(stores) == len(BY_SYNTAX)
    assert {e.actor_username for e in stores} == {"ae:MODALITY"}


def test_unknown_ae_may_store_in_embedded_mode_only(
    listener: Any, tmp_path: Path, settings_env: Callable[..., None]
) -> None:
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    ok = run(["/usr/bin/storescu", "-aet", "STRANGER", "-aec", "HOUNSFIELD",
              "127.0.0.1", str(listener.port), str(path)])  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert _stored(sop_uid) is not None

    settings_env(HOUNSFIELD_DICOM__ALLOW_UNKNOWN_STORE="false")
    from hounsfield.config import get_settings

    listener.settings = get_settings()
    listener.stop(grace_s=5)
    listener.start()
    path2, sop_uid2 = fresh_copy("CT_small.dcm", tmp_path)
    refused = run(["/usr/bin/storescu", "-aet", "STRANGER", "-aec", "HOUNSFIELD",
                   "127.0.0.1", str(listener.port), str(path2)])  # fmt: skip
    assert refused.returncode != 0
    assert "Association Rejected" in refused.stderr + refused.stdout
    assert _stored(sop_uid2) is None
    assert any("unknown calling AE" in e.detail for e in _audit("dimse.reject"))


def test_wrong_host_is_rejected(
    listener: Any, register: Callable[..., Any], tmp_path: Path
) -> None:
    register("CT_FAR", host="10.20.30.40", operations=["store", "find"])
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    result = run(["/usr/bin/storescu", "-aet", "CT_FAR", "-aec", "HOUNSFIELD",
                  "127.0.0.1", str(listener.port), str(path)])  # fmt: skip
    assert result.returncode != 0
    assert "Association Rejected" in result.stderr + result.stdout
    assert _stored(sop_uid) is None
    [reject] = _audit("dimse.reject")
    assert "unregistered host" in reject.detail
    assert reject.client_ip == "127.0.0.1"


def test_disabled_device_is_rejected(
    listener: Any, register: Callable[..., Any], tmp_path: Path
) -> None:
    register("CT_OFF", operations=["store"], enabled=False)
    result = run(["/usr/bin/echoscu", "-aet", "CT_OFF", "-aec", "HOUNSFIELD",
                  "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode != 0
    assert "device disabled" in _audit("dimse.reject")[0].detail


def test_wrong_called_ae_is_rejected(listener: Any, register: Callable[..., Any]) -> None:
    register("ECHOER", operations=[])
    result = run(["/usr/bin/echoscu", "-aet", "ECHOER", "-aec", "NOT_US",
                  "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode != 0


def test_unsupported_transfer_syntax_context_is_rejected(
    listener: Any, register: Callable[..., Any]
) -> None:
    """A context proposing only HTJ2K (not accepted) is rejected; the others are not."""
    register("MODALITY", operations=["store"])
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage, "1.2.840.10008.1.2.4.201")  # HTJ2K lossless
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    try:
        assert assoc.is_established
        [rejected] = assoc.rejected_contexts
        assert rejected.abstract_syntax == CTImageStorage
        assert rejected.result == 0x04  # transfer syntaxes not supported
    finally:
        assoc.release()


def test_corrupted_dataset_is_refused_and_nothing_stored(
    listener: Any, register: Callable[..., Any], tmp_path: Path
) -> None:
    register("MODALITY", operations=["store"])
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    data = bytearray(path.read_bytes())
    body = data.index(b"\xe0\x7f\x10\x00")  # Pixel Data: claim a length far past the end
    data[body + 8 : body + 12] = (10_000_000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    before = _count()

    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    assert assoc.is_established
    try:
        ds = dcmread(get_testdata_file("CT_small.dcm"))
        ds.SOPInstanceUID = sop_uid
        ds.PixelData = b"\x00" * 10  # far shorter than Rows x Columns x 2
        status = assoc.send_c_store(ds)
    finally:
        assoc.release()
    assert 0xC000 <= status.Status <= 0xCFFF
    assert _count() == before
    assert _stored(sop_uid) is None


def test_path_traversal_uid_is_refused(
    listener: Any, register: Callable[..., Any], data_dir: Path, tmp_path: Path
) -> None:
    """SECURITY.md I3: SOPInstanceUID `/../../tmp/pwn` with validation off → refused."""
    from pynetdicom import _config

    register("MODALITY", operations=["store"])
    before = _count()
    target = Path("/tmp/pwn")
    existed = target.exists()
    ds = dcmread(get_testdata_file("CT_small.dcm"))
    ds.SOPInstanceUID = "/../../tmp/pwn"
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    saved = _config.ENFORCE_UID_CONFORMANCE
    _config.ENFORCE_UID_CONFORMANCE = False
    try:
        assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
        assert assoc.is_established
        status = assoc.send_c_store(ds)
        assoc.release()
    finally:
        _config.ENFORCE_UID_CONFORMANCE = saved
    assert status.Status != 0x0000
    assert 0xC000 <= status.Status <= 0xCFFF
    assert _count() == before
    assert target.exists() == existed
    assert not any("pwn" in str(p) for p in data_dir.rglob("*"))


def test_conflicting_resend_is_refused_and_original_kept(
    listener: Any, register: Callable[..., Any], tmp_path: Path
) -> None:
    register("MODALITY", operations=["store"])
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    args = ["/usr/bin/storescu", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
            "127.0.0.1", str(listener.port)]  # fmt: skip
    assert run([*args, str(path)]).returncode == 0
    again = run([*args, str(path)])
    assert again.returncode == 0  # same bytes: success, still one row
    original = _stored(sop_uid)
    assert original is not None

    ds = dcmread(path)
    ds.StudyDescription = "altered"
    altered = tmp_path / "altered.dcm"
    ds.save_as(altered)
    assert run([*args, str(altered)]).returncode != 0
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    status = assoc.send_c_store(altered)
    assoc.release()
    assert status.Status == 0xA900
    kept = _stored(sop_uid)
    assert kept is not None
    assert kept.sha256 == original.sha256


@pytest.mark.parametrize("operation", ["find"])
def test_store_only_device_cannot_find(
    listener: Any, register: Callable[..., Any], operation: str
) -> None:
    register("STOREONLY", operations=["store"])
    result = run(["/usr/bin/findscu", "-S", "-aet", "STOREONLY", "-aec", "HOUNSFIELD",
                  "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID",
                  "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode != 0
    assert any("not allowed" in e.detail for e in _audit("dimse.reject"))


def test_storage_outage_answers_out_of_resources(
    listener: Any, register: Callable[..., Any], tmp_path: Path, settings_env: Callable[..., None]
) -> None:
    """SECURITY.md D4: storage unavailable → C-STORE 0xA700, nothing indexed."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    settings_env(HOUNSFIELD_STORAGE__LOCAL_ROOT=str(blocker))
    register("MODALITY", operations=["store"])
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    try:
        status = assoc.send_c_store(path)
    finally:
        assoc.release()
    assert status.Status == 0xA700
    assert _stored(sop_uid) is None


def test_database_outage_rejects_transiently(tmp_path: Path) -> None:
    """With the index unreachable the listener stays up and asks peers to retry later.

    Waits on events only: the listener's "listening" line, then storescu's answer.
    """
    import os
    import signal

    from tests.dimse.conftest import free_port, start_listener

    port = free_port()
    dead = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x"  # nothing listens there
    env = {**os.environ, "HOUNSFIELD_DICOM__PORT": str(port), "HOUNSFIELD_DATA_DIR": str(tmp_path),
           "HOUNSFIELD_DATABASE_URL": dead}  # fmt: skip
    listener = start_listener(env)
    server = listener.process
    try:
        path, _ = fresh_copy("CT_small.dcm", tmp_path)
        result = run(["/usr/bin/storescu", "-ta", "3600", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
                      "127.0.0.1", str(port), str(path)], timeout=3600)  # fmt: skip
        assert result.returncode != 0
        assert "Association Rejected" in result.stderr + result.stdout
        assert "Rejected Transient" in result.stderr + result.stdout, result.stderr
        assert server.poll() is None  # still serving
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()


def test_concurrent_resends_of_one_file_make_one_row(
    listener: Any, register: Callable[..., Any], tmp_path: Path, data_dir: Path
) -> None:
    """SECURITY.md D3: the same instance over 6 parallel associations → 6 successes, 1 row."""
    import subprocess

    from tests.dimse.conftest import DCMTK_ENV

    register("MODALITY", operations=["store"])
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    before = _count()
    clients = [
        subprocess.Popen(["/usr/bin/storescu", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
                          "127.0.0.1", str(listener.port), str(path)],
                         env=DCMTK_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(6)
    ]  # fmt: skip
    assert [c.wait(timeout=120) for c in clients] == [0] * 6
    assert _count() == before + 1
    row = _stored(sop_uid)
    assert row is not None
    from hounsfield.storage import get_storage

    assert get_storage().exists(row.storage_key)
