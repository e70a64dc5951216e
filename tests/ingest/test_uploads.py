"""POST /api/uploads (files, folders, zip) and tus 1.0 uploads (SECURITY.md I5, I7, D10)."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import stat
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.ingest import uploads
from hounsfield.storage import get_storage
from hounsfield.studies.models import Instance
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes
from tests.s3_server import free_port

Headers = Callable[..., dict[str, str]]
TUS = {"Tus-Resumable": "1.0.0"}


def instances() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(Instance)) or 0


def stored_sha256(sop_uid: str) -> str:
    with transaction() as session:
        key = session.scalar(
            select(Instance.storage_key).where(Instance.sop_instance_uid == sop_uid)
        )
    assert key is not None
    with get_storage().open(key) as fp:
        return hashlib.sha256(fp.read()).hexdigest()


def zip_bytes(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def test_files_and_a_folder_are_stored_with_per_file_results(
    client: TestClient, auth_headers: Headers
) -> None:
    a, b = make_dataset(), make_dataset()
    files = [
        ("files", ("scan/series1/IM0001", to_bytes(a), "application/octet-stream")),
        ("files", ("scan/series1/IM0002", to_bytes(b), "application/octet-stream")),
        ("files", ("scan/notes.txt", b"not an image", "text/plain")),
        ("files", ("scan/series1/IM0001-again", to_bytes(a), "application/octet-stream")),
    ]
    response = client.post("/api/uploads", files=files, headers=auth_headers("technician"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["stored"], body["duplicates"], body["refused"]) == (2, 1, 1)
    by_name = {r["filename"]: r for r in body["results"]}
    assert by_name["scan/series1/IM0002"]["sop_instance_uid"] == b.SOPInstanceUID
    assert by_name["scan/series1/IM0001"]["study_instance_uid"] == a.StudyInstanceUID
    assert by_name["scan/notes.txt"]["status"] == "refused"
    assert "DICOM" in by_name["scan/notes.txt"]["reason"]
    # The two copies of IM0001 are ingested concurrently: either one is the duplicate.
    copies = {by_name[n]["status"] for n in ("scan/series1/IM0001", "scan/series1/IM0001-again")}
    assert copies == {"stored", "duplicate"}
    assert instances() == 2
    assert not any((get_settings().data_dir / "uploads").glob("upload-*"))


def test_a_zip_with_nested_folders_and_non_dicom_members(
    client: TestClient, auth_headers: Headers
) -> None:
    a, b = make_dataset(), make_dataset()
    archive = zip_bytes({
        "study/ct/1.dcm": to_bytes(a),
        "study/ct/deeper/2": to_bytes(b),
        "study/README.txt": b"hello",
        "study/inner.zip": zip_bytes({"x.dcm": to_bytes(make_dataset())}),
    })  # fmt: skip
    response = client.post(
        "/api/uploads", files=[("files", ("export.zip", archive, "application/zip"))],
        headers=auth_headers("technician"),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["stored"], body["refused"]) == (2, 2)
    by_name = {r["filename"]: r for r in body["results"]}
    assert by_name["export.zip/study/ct/deeper/2"]["sop_instance_uid"] == b.SOPInstanceUID
    assert by_name["export.zip/study/inner.zip"]["reason"] == "nested archives are not accepted"
    assert instances() == 2


@pytest.mark.parametrize(
    ("members", "links"),
    [({"../../evil.dcm": b"x"}, ()), ({"/etc/evil": b"x"}, ()), ({"a/../../b": b"x"}, ()),
     ({"link": b"/etc/passwd"}, ("link",))],
    ids=["dotdot", "absolute", "nested-dotdot", "symlink"],
)  # fmt: skip
def test_zip_slip_archives_are_refused_whole(
    client: TestClient, auth_headers: Headers, tmp_path: Path,
    members: dict[str, bytes], links: tuple[str, ...],
) -> None:  # fmt: skip
    good = to_bytes(make_dataset())
    archive = zip_bytes({"ok.dcm": good, **members}, links)
    response = client.post(
        "/api/uploads",
        files=[("files", ("a.dcm", good, "application/dicom")),
               ("files", ("slip.zip", archive, "application/zip"))],
        headers=auth_headers("technician"),
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsafe_archive"
    assert instances() == 0  # checked before anything was stored
    assert not (tmp_path.parent / "evil.dcm").exists()
    assert not any((get_settings().data_dir / "uploads").iterdir())


def test_a_zip_bomb_is_refused(client: TestClient, auth_headers: Headers) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb.dcm", "w", force_zip64=True) as member:
            zeros = bytes(1024 * 1024)
            for _ in range(200):
                member.write(zeros)
    assert len(buffer.getvalue()) < 1024 * 1024
    response = client.post(
        "/api/uploads", files=[("files", ("bomb.zip", buffer.getvalue(), "application/zip"))],
        headers=auth_headers("technician"),
    )  # fmt: skip
    assert response.status_code == 400
    assert "bomb" in response.json()["error"]["message"]


def test_a_zip_member_larger_than_declared_is_caught_while_inflating(
    settings_env: Callable[..., None], tmp_path: Path
) -> None:
    data = zip_bytes({"a.dcm": bytes(4096)})
    # Lie about the size in both headers: real inflation must stop at the declared size.
    data = data.replace((4096).to_bytes(4, "little"), (100).to_bytes(4, "little"))
    path = tmp_path / "lying.zip"
    path.write_bytes(data)
    results = uploads.ingest_zip(path, "lying.zip", None, get_settings())
    assert [(r.status, r.reason) for r in results] == [("refused", "unreadable archive member")]
    assert instances() == 0


def test_an_oversized_body_is_refused_from_its_header(
    client: TestClient, auth_headers: Headers, settings_env: Callable[..., None]
) -> None:
    headers = auth_headers("technician")
    settings_env(HOUNSFIELD_INGEST__MAX_UPLOAD_BYTES="2048")
    big = to_bytes(make_dataset(Rows=64, Columns=64))
    response = client.post(
        "/api/uploads", files=[("files", ("big.dcm", big, "application/dicom"))], headers=headers
    )
    assert response.status_code == 413
    assert instances() == 0


def test_too_many_parts_are_refused_before_any_is_stored(
    client: TestClient, auth_headers: Headers, settings_env: Callable[..., None]
) -> None:
    """20,000 one-byte parts cost a file and an ingest each: the count is capped (413)."""
    headers = auth_headers("technician")
    settings_env(HOUNSFIELD_INGEST__UPLOAD_MAX_PARTS="3")
    files = [("files", (f"{n}.dcm", to_bytes(make_dataset(seed=n)), "application/dicom"))
             for n in range(4)]  # fmt: skip
    refused = client.post("/api/uploads", files=files, headers=headers)
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "too_many_parts"
    assert "超过 3 个" in refused.json()["error"]["message"]  # zh-CN by default
    english = client.post("/api/uploads", files=files,
                          headers={**headers, "Accept-Language": "en"})  # fmt: skip
    assert "more than 3 parts" in english.json()["error"]["message"]
    assert instances() == 0
    accepted = client.post("/api/uploads", files=files[:3], headers=headers)
    assert accepted.status_code == 200
    assert instances() == 3


def test_an_oversized_stream_is_cut_off(
    client: TestClient, auth_headers: Headers, settings_env: Callable[..., None]
) -> None:
    headers = auth_headers("technician")
    settings_env(HOUNSFIELD_INGEST__MAX_UPLOAD_BYTES="4096")
    boundary = "XyZ"

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to refuse early
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="x"\r\n\r\n'.encode()  # noqa: E501
        for _ in range(10):
            yield bytes(1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/api/uploads", content=body(),
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    assert response.status_code == 413


def test_uploading_needs_image_create(client: TestClient, auth_headers: Headers) -> None:
    files = [("files", ("a.dcm", to_bytes(make_dataset()), "application/dicom"))]
    assert (
        client.post("/api/uploads", files=files, headers=auth_headers("nurse")).status_code == 403
    )
    assert client.post("/api/uploads", files=files).status_code == 401


def test_a_request_without_files_is_refused(client: TestClient, auth_headers: Headers) -> None:
    headers = auth_headers("technician")
    assert client.post("/api/uploads", data={"x": "1"}, headers=headers).status_code in (400, 415)
    assert client.post("/api/uploads", json={"files": []}, headers=headers).status_code == 415


# -- tus ------------------------------------------------------------------------------------


def tus_create(client: Any, headers: dict[str, str], length: int, name: str = "big.dcm") -> str:
    meta = "filename " + base64.b64encode(name.encode()).decode()
    response = client.post(
        "/api/uploads/tus",
        headers={**headers, **TUS, "Upload-Length": str(length), "Upload-Metadata": meta},
    )
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    assert location.startswith("/api/uploads/tus/")
    return str(location)


def tus_patch(client: Any, headers: dict[str, str], url: str, offset: int, data: bytes) -> Any:
    return client.patch(
        url, content=data,
        headers={**headers, **TUS, "Upload-Offset": str(offset),
                 "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip


def test_tus_upload_in_chunks(client: TestClient, auth_headers: Headers) -> None:
    headers = auth_headers("technician")
    ds = make_dataset(Rows=128, Columns=128)
    data = to_bytes(ds)
    url = tus_create(client, headers, len(data))
    assert client.head(url, headers={**headers, **TUS}).headers["Upload-Offset"] == "0"
    first = tus_patch(client, headers, url, 0, data[:10000])
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "10000"
    wrong = tus_patch(client, headers, url, 5000, data[5000:])
    assert wrong.status_code == 409
    assert client.head(url, headers={**headers, **TUS}).headers["Upload-Offset"] == "10000"
    last = tus_patch(client, headers, url, 10000, data[10000:])
    assert last.status_code == 204
    assert last.headers["Upload-Offset"] == str(len(data))
    status = client.get(url, headers=headers).json()
    assert status["complete"] is True
    assert status["stored"] == 1
    assert status["results"][0]["filename"] == "big.dcm"
    assert stored_sha256(ds.SOPInstanceUID) == hashlib.sha256(data).hexdigest()
    assert tus_patch(client, headers, url, len(data), b"x").status_code == 409


def test_tus_rules(client: TestClient, auth_headers: Headers) -> None:
    headers = auth_headers("technician")
    options = client.options("/api/uploads/tus", headers=headers)
    assert options.headers["Tus-Version"] == "1.0.0"
    assert "termination" in options.headers["Tus-Extension"]
    no_version = client.post("/api/uploads/tus", headers={**headers, "Upload-Length": "10"})
    assert no_version.status_code == 412
    url = tus_create(client, headers, 10)
    bad_type = client.patch(url, content=b"x", headers={**headers, **TUS, "Upload-Offset": "0"})
    assert bad_type.status_code == 415
    assert tus_patch(client, headers, url, 0, b"x" * 11).status_code == 400
    other = auth_headers("technician")
    assert client.head(url, headers={**other, **TUS}).status_code == 404
    assert client.delete(url, headers={**headers, **TUS}).status_code == 204
    assert client.head(url, headers={**headers, **TUS}).status_code == 404
    traversal = client.head("/api/uploads/tus/..%2f..%2fetc", headers={**headers, **TUS})
    assert traversal.status_code == 404


def test_a_completed_tus_upload_of_junk_reports_refused(
    client: TestClient, auth_headers: Headers
) -> None:
    headers = auth_headers("technician")
    url = tus_create(client, headers, 5, "junk.bin")
    assert tus_patch(client, headers, url, 0, b"hello").status_code == 204
    status = client.get(url, headers=headers).json()
    assert (status["complete"], status["refused"]) == (True, 1)


def test_stale_uploads_are_purged(client: TestClient, auth_headers: Headers) -> None:
    headers = auth_headers("technician")
    url = tus_create(client, headers, 100)
    settings = get_settings()
    uploads.purge_stale_uploads(settings)
    assert client.head(url, headers={**headers, **TUS}).status_code == 200
    later = time.time() + settings.ingest.tus_expire_hours * 3600 + 60
    assert uploads.purge_stale_uploads(settings, now=later) >= 1
    assert client.head(url, headers={**headers, **TUS}).status_code == 404


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app on a real socket: an interrupted request is a real broken connection."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def test_tus_resumes_after_a_broken_connection(
    live_server: str, make_user: Callable[..., Any]
) -> None:
    ds = make_dataset(Rows=256, Columns=256, NumberOfFrames=4)
    data = to_bytes(ds)
    user = make_user("technician")
    with httpx.Client(base_url=live_server, timeout=30) as client:
        headers = login(client, user.username)  # type: ignore[arg-type]
        url = tus_create(client, headers, len(data))
        cut = len(data) * 2 // 5
        # Send the headers announcing every byte, then only 40% of them, then hang up.
        host, port = live_server.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            request = (
                f"PATCH {url} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: {headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            ).encode()
            sock.sendall(request + data[:cut])
        offset = 0
        deadline = time.monotonic() + 20
        while offset < cut and time.monotonic() < deadline:
            head = client.head(url, headers={**headers, **TUS})
            offset = int(head.headers["Upload-Offset"])
        assert 0 < offset <= cut
        assert offset == cut
        while True:  # the broken request may still hold the upload's lock for a moment
            resumed = tus_patch(client, headers, url, offset, data[offset:])
            busy = resumed.status_code == 409 and "busy" in resumed.text
            if not busy or time.monotonic() > deadline:
                break
        assert resumed.status_code == 204, resumed.text
        status = client.get(url, headers=headers).json()
    assert status["complete"] is True
    assert status["stored"] == 1
    assert stored_sha256(ds.SOPInstanceUID) == hashlib.sha256(data).hexdigest()


def test_a_huge_declared_length_is_refused_before_reading(
    live_server: str, make_user: Callable[..., Any]
) -> None:
    """SECURITY.md I5: Content-Length 4000000000 with a tiny body → 413 at once."""
    user = make_user("technician")
    with httpx.Client(base_url=live_server, timeout=30) as client:
        headers = login(client, user.username)  # type: ignore[arg-type]
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            (
                f"POST /api/uploads HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: {headers['Authorization']}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                "Content-Length: 4000000000\r\n\r\n--b\r\n"
            ).encode()
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")
