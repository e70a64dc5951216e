"""DICOMweb over the real app: STOW-RS, QIDO-RS, WADO-RS, WADO-URI, audit and refusals."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from hounsfield.audit.models import AuditEvent
from hounsfield.audit.service import flush_buffer
from hounsfield.db import transaction
from hounsfield.studies.derived import with_base
from hounsfield.studies.models import Instance
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body, parse_multipart, read_dataset, sample_file

CT = "CT_small.dcm"
MR = "MR_small.dcm"


def uids(data: bytes) -> tuple[str, str, str]:
    ds = read_dataset(data)
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID


def audit_actions() -> list[str]:
    flush_buffer()
    with transaction() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_stow_stores_and_answers_with_referenced_sops(stow: Callable[..., Any]) -> None:
    response = stow([sample_file(CT), sample_file(MR)])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/dicom+json")
    referenced = response.json()["00081199"]["Value"]
    stored = {item["00081155"]["Value"][0] for item in referenced}
    assert stored == {uids(sample_file(CT))[2], uids(sample_file(MR))[2]}
    assert all(item["00081190"]["Value"][0].startswith("http") for item in referenced)
    assert "00081198" not in response.json()
    # the same bytes again: still success (a no-op)
    assert stow([sample_file(CT)]).status_code == 200


def test_stow_partial_failure_is_202_and_total_failure_409(stow: Callable[..., Any]) -> None:
    response = stow([sample_file(CT), b"this is not DICOM at all" * 10])
    assert response.status_code == 202
    failed = response.json()["00081198"]["Value"]
    assert failed[0]["00081197"]["Value"] == [0xC000]
    response = stow([b"\x00" * 300])
    assert response.status_code == 409
    assert "00081199" not in response.json()


def test_stow_conflicting_bytes_fail_with_duplicate_reason(stow: Callable[..., Any]) -> None:
    ds = make_dataset()
    assert stow([to_bytes(ds)]).status_code == 200
    ds.PatientName = "Other^Bytes"
    response = stow([to_bytes(ds)])
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0111]


def test_stow_to_a_study_refuses_instances_of_another(stow: Callable[..., Any]) -> None:
    ds = make_dataset()
    response = stow([to_bytes(ds)], study="1.2.3.4")
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xA900]
    assert stow([to_bytes(ds)], study=ds.StudyInstanceUID).status_code == 200


def test_stow_wrong_media_type_is_415(client: TestClient, writer_headers: dict[str, str]) -> None:
    response = client.post(
        "/dicom-web/studies",
        content=sample_file(CT),
        headers={**writer_headers, "Content-Type": "application/dicom"},
    )
    assert response.status_code == 415
    response = client.post(
        "/dicom-web/studies",
        content=b"--x--",
        headers={
            **writer_headers,
            "Content-Type": 'multipart/related; type="application/dicom+xml"; boundary=x',
        },
    )
    assert response.status_code == 415


def test_stow_needs_image_create(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    body, content_type = multipart_body([sample_file(CT)])
    nurse = auth_headers("nurse")
    response = client.post(
        "/dicom-web/studies", content=body, headers={**nurse, "Content-Type": content_type}
    )
    assert response.status_code == 403
    assert client.get("/dicom-web/studies").status_code == 401
    assert client.get("/dicom-web/studies", headers=nurse).status_code == 200


def test_qido_matching_paging_and_includefield(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    a = make_dataset(PatientID="QIDO-1", PatientName="Zhang^Wei=张^伟", StudyDate="20240110")
    b = make_dataset(PatientID="QIDO-2", PatientName="Li^Na", StudyDate="20240220",
                     Modality="MR")  # fmt: skip
    c = make_dataset(PatientID="QIDO-3", PatientName="Liu^Yang", StudyDate="20240301")
    assert stow([to_bytes(x) for x in (a, b, c)]).status_code == 200

    def qido(path: str, **params: Any) -> Any:
        response = client.get(f"/dicom-web{path}", params=params, headers=writer_headers)
        assert response.status_code == 200, response.text
        return response

    everything = qido("/studies")
    assert everything.headers["X-Total-Count"] == "3"
    study = next(s for s in everything.json() if s["00100020"]["Value"] == ["QIDO-1"])
    assert study["00100010"]["Value"] == [{"Alphabetic": "Zhang^Wei", "Ideographic": "张^伟"}]
    assert study["0020000D"]["Value"] == [a.StudyInstanceUID]
    assert study["00201208"]["Value"] == [1]  # NumberOfStudyRelatedInstances
    assert study["00081190"]["Value"][0].endswith(f"/dicom-web/studies/{a.StudyInstanceUID}")
    assert len(qido("/studies", PatientID="QIDO-2").json()) == 1
    assert len(qido("/studies", **{"00100020": "QIDO-2"}).json()) == 1
    assert len(qido("/studies", PatientName="L*").json()) == 2
    assert len(qido("/studies", PatientName="张*").json()) == 1
    assert len(qido("/studies", StudyDate="20240201-20240331").json()) == 2
    assert len(qido("/studies", ModalitiesInStudy="MR").json()) == 1
    uid_list = f"{a.StudyInstanceUID}\\{c.StudyInstanceUID}"
    assert len(qido("/studies", StudyInstanceUID=uid_list).json()) == 2
    assert len(qido("/studies", PatientName="liu", fuzzymatching="true").json()) == 1
    page = qido("/studies", limit=2, offset=2)
    assert page.headers["X-Total-Count"] == "3"
    assert len(page.json()) == 1
    series = qido(f"/studies/{a.StudyInstanceUID}/series").json()
    assert series[0]["0020000E"]["Value"] == [a.SeriesInstanceUID]
    assert series[0]["00080060"]["Value"] == ["CT"]
    assert "00100020" not in series[0]  # study attributes only when the study is not given
    assert "00100020" in qido("/series", SeriesInstanceUID=a.SeriesInstanceUID).json()[0]
    instances = qido(f"/studies/{a.StudyInstanceUID}/series/{a.SeriesInstanceUID}/instances")
    assert instances.json()[0]["00080018"]["Value"] == [a.SOPInstanceUID]
    assert instances.json()[0]["00280010"]["Value"] == [16]
    assert len(qido(f"/studies/{b.StudyInstanceUID}/instances").json()) == 1
    assert len(qido("/instances", SOPInstanceUID=c.SOPInstanceUID).json()) == 1
    plain = qido("/studies", PatientID="QIDO-1").json()[0]
    assert "00081030" in plain
    full = qido("/studies", PatientID="QIDO-1", includefield="all").json()[0]
    assert full.keys() >= plain.keys()
    assert "00100021" in full  # IssuerOfPatientID comes with includefield=all
    assert "00100021" in qido("/studies", PatientID="QIDO-1", includefield="00100021").json()[0]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": "x"}, 400),
        ({"NoSuchKeyword": "1"}, 400),
        ({"StudyDate": "2024-13-45"}, 400),
        ({"StudyInstanceUID": "1.2.abc"}, 400),
        ({"includefield": "Nonsense"}, 400),
    ],
)
def test_qido_bad_queries_are_400(
    client: TestClient, writer_headers: dict[str, str], params: dict[str, str], status: int
) -> None:
    response = client.get("/dicom-web/studies", params=params, headers=writer_headers)
    assert response.status_code == status, response.text


def test_qido_limit_is_capped(
    client: TestClient, writer_headers: dict[str, str], stow: Callable[..., Any],
    settings_env: Callable[..., None],
) -> None:  # fmt: skip
    settings_env(HOUNSFIELD_DICOMWEB__QIDO_MAX_LIMIT="2")
    assert stow([to_bytes(make_dataset()) for _ in range(3)]).status_code == 200
    response = client.get("/dicom-web/studies", params={"limit": 500}, headers=writer_headers)
    assert len(response.json()) == 2
    assert response.headers["X-Total-Count"] == "3"


def test_qido_406_for_xml(client: TestClient, writer_headers: dict[str, str]) -> None:
    response = client.get(
        "/dicom-web/studies", headers={**writer_headers, "Accept": "application/dicom+xml"}
    )
    assert response.status_code == 406


def test_wado_retrieves_the_stored_bytes(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    ct, mr = sample_file(CT), sample_file(MR)
    assert stow([ct, mr]).status_code == 200
    study, series, sop = uids(ct)
    url = f"/dicom-web/studies/{study}/series/{series}/instances/{sop}"
    response = client.get(url, headers=writer_headers)
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith('multipart/related; type="application/dicom"')
    parts = parse_multipart(content_type, response.content)
    assert len(parts) == 1
    assert parts[0][0] == "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
    assert hashlib.sha256(parts[0][1]).digest() == hashlib.sha256(ct).digest()
    whole = client.get(f"/dicom-web/studies/{study}", headers=writer_headers)
    assert len(parse_multipart(whole.headers["content-type"], whole.content)) == 1
    single = client.get(url, headers={**writer_headers, "Accept": "application/dicom"})
    assert single.content == ct
    assert client.get("/dicom-web/studies/1.2.3", headers=writer_headers).status_code == 404


def test_wado_transcodes_to_explicit_little_endian(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    rle = sample_file("MR_small_RLE.dcm")
    assert stow([rle]).status_code == 200
    study, series, sop = uids(rle)
    url = f"/dicom-web/studies/{study}/series/{series}/instances/{sop}"
    accept = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1'
    response = client.get(url, headers={**writer_headers, "Accept": accept})
    assert response.status_code == 200
    part_type, payload = parse_multipart(response.headers["content-type"], response.content)[0]
    assert part_type.endswith("transfer-syntax=1.2.840.10008.1.2.1")
    decoded = read_dataset(payload)
    assert decoded.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert np.array_equal(decoded.pixel_array, read_dataset(rle).pixel_array)
    lossy = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'
    assert client.get(url, headers={**writer_headers, "Accept": lossy}).status_code == 406


def test_corrupt_object_is_an_error_never_data(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str], data_dir: Any
) -> None:
    ds = make_dataset(PatientName="Corrupt^Case")
    assert stow([to_bytes(ds)]).status_code == 200
    with transaction() as session:
        key = session.scalar(
            select(Instance.storage_key).where(Instance.sop_instance_uid == ds.SOPInstanceUID)
        )
    assert key is not None
    path = data_dir / "storage" / key
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF  # flip one byte of the pixel data
    mtime = path.stat().st_mtime_ns
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(mtime, mtime + 10**9))  # changed, even within one clock tick
    base = f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
    for url in (
        f"{base}/instances/{ds.SOPInstanceUID}",
        f"{base}/instances/{ds.SOPInstanceUID}/frames/1",
        f"{base}/instances/{ds.SOPInstanceUID}/rendered",
        f"/dicom-web/wado?requestType=WADO&studyUID={ds.StudyInstanceUID}"
        f"&seriesUID={ds.SeriesInstanceUID}&objectUID={ds.SOPInstanceUID}"
        "&contentType=application/dicom",
    ):
        response = client.get(url, headers=writer_headers)
        assert response.status_code == 500, url
        assert response.json()["error"]["code"] == "object_corrupt"
        assert bytes(raw[-64:]) not in response.content


def test_series_metadata_is_one_cached_document(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str], data_dir: Any
) -> None:
    first = make_dataset(InstanceNumber=1, PatientName="Wang^Fang=王^芳")
    second = make_dataset(
        InstanceNumber=2,
        StudyInstanceUID=first.StudyInstanceUID,
        SeriesInstanceUID=first.SeriesInstanceUID,
    )
    assert stow([to_bytes(first), to_bytes(second)]).status_code == 200
    url = f"/dicom-web/studies/{first.StudyInstanceUID}/series/{first.SeriesInstanceUID}/metadata"
    response = client.get(url, headers=writer_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/dicom+json")
    body = response.json()
    assert [item["00080018"]["Value"][0] for item in body] == [
        first.SOPInstanceUID,
        second.SOPInstanceUID,
    ]
    assert body[0]["00100010"]["Value"] == [{"Alphabetic": "Wang^Fang", "Ideographic": "王^芳"}]
    assert body[0]["00083002"]["Value"] == ["1.2.840.10008.1.2.1"]
    pixel = body[0]["7FE00010"]
    assert pixel["vr"] == "OW"
    assert pixel["BulkDataURI"].endswith(f"/instances/{first.SOPInstanceUID}/bulkdata/7FE00010")
    documents = list((data_dir / "cache" / "metadata" / "series").rglob("*.json.gz"))
    cached = [gzip.decompress(d.read_bytes()) for d in documents]  # base-free on disk
    assert any(json.loads(with_base(c, "http://testserver/dicom-web")) == body for c in cached)
    # a third instance changes the series: the document is rebuilt, never served stale
    third = make_dataset(
        InstanceNumber=3,
        StudyInstanceUID=first.StudyInstanceUID,
        SeriesInstanceUID=first.SeriesInstanceUID,
    )
    assert stow([to_bytes(third)]).status_code == 200
    assert len(client.get(url, headers=writer_headers).json()) == 3
    study = client.get(f"/dicom-web/studies/{first.StudyInstanceUID}/metadata",
                       headers=writer_headers)  # fmt: skip
    assert len(study.json()) == 3
    instance = client.get(
        url.replace("/metadata", f"/instances/{third.SOPInstanceUID}/metadata"),
        headers=writer_headers,
    )
    assert instance.json()[0]["00200013"]["Value"] == [3]
    bulk = client.get(pixel["BulkDataURI"], headers=writer_headers)
    assert bulk.status_code == 200
    parts = parse_multipart(bulk.headers["content-type"], bulk.content)
    assert parts[0][1] == first.PixelData


def test_frames_native_and_compressed(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    ct, jpeg = sample_file(CT), sample_file("examples_ybr_color.dcm")
    assert stow([ct, jpeg]).status_code == 200
    study, series, sop = uids(ct)
    url = f"/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/1"
    octet = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
    response = client.get(url, headers={**writer_headers, "Accept": octet})
    assert response.status_code == 200
    # the exact part header the Cornerstone image loader parses
    assert (
        b"\r\nContent-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n"
        in response.content
    )
    payload = parse_multipart(response.headers["content-type"], response.content)[0][1]
    expected = read_dataset(ct).pixel_array
    assert np.array_equal(np.frombuffer(payload, "<i2").reshape(expected.shape), expected)

    study, series, sop = uids(jpeg)
    url = f"/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/2,3"
    response = client.get(url, headers={**writer_headers, "Accept": octet})
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert [p[0] for p in parts] == [
        "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.50"
    ] * 2
    assert all(p[1].startswith(b"\xff\xd8") for p in parts)
    explicit = 'multipart/related; type="application/octet-stream"'
    response = client.get(url, headers={**writer_headers, "Accept": explicit})
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert parts[0][0] == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert len(parts[0][1]) == 240 * 320 * 3
    missing = url.replace("frames/2,3", "frames/31")
    assert client.get(missing, headers={**writer_headers, "Accept": octet}).status_code == 404


def test_rendered_thumbnail_and_wado_uri(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    ct = sample_file(CT)
    assert stow([ct]).status_code == 200
    study, series, sop = uids(ct)
    base = f"/dicom-web/studies/{study}/series/{series}"
    jpeg = client.get(f"{base}/instances/{sop}/rendered", headers=writer_headers)
    assert jpeg.status_code == 200
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert jpeg.content[:3] == b"\xff\xd8\xff"
    png = client.get(
        f"{base}/instances/{sop}/rendered",
        params={"window": "-600,1500,linear", "viewport": "64,64"},
        headers={**writer_headers, "Accept": "image/png"},
    )
    image = np.asarray(Image.open(io.BytesIO(png.content)))
    assert image.shape == (64, 64)
    assert image.std() > 10

    def window(value: str) -> Any:
        response = client.get(
            f"{base}/instances/{sop}/frames/1/rendered",
            params={"window": value},
            headers={**writer_headers, "Accept": "image/png"},
        )
        return np.asarray(Image.open(io.BytesIO(response.content))).astype(int)

    bone, brain = window("400,1800"), window("40,80")
    assert np.abs(bone - brain).mean() > 20
    bad = client.get(f"{base}/instances/{sop}/rendered", params={"window": "x"},
                     headers=writer_headers)  # fmt: skip
    assert bad.status_code == 400
    gif = client.get(f"{base}/instances/{sop}/rendered",
                     headers={**writer_headers, "Accept": "image/gif"})  # fmt: skip
    assert gif.status_code == 406
    for url in (f"{base}/thumbnail", f"{base}/instances/{sop}/thumbnail",
                f"/dicom-web/studies/{study}/thumbnail"):  # fmt: skip
        thumb = client.get(url, headers=writer_headers)
        assert thumb.status_code == 200, url
        assert max(Image.open(io.BytesIO(thumb.content)).size) == 128
    wado = client.get(
        "/dicom-web/wado",
        params={"requestType": "WADO", "studyUID": study, "seriesUID": series,
                "objectUID": sop, "contentType": "application/dicom"},
        headers=writer_headers,
    )  # fmt: skip
    assert wado.content == ct
    wado_jpeg = client.get(
        "/dicom-web/wado",
        params={"requestType": "WADO", "studyUID": study, "seriesUID": series,
                "objectUID": sop, "windowCenter": "40", "windowWidth": "400", "rows": "32"},
        headers=writer_headers,
    )  # fmt: skip
    assert Image.open(io.BytesIO(wado_jpeg.content)).size == (32, 32)
    huge = client.get(
        "/dicom-web/wado",
        params={"requestType": "WADO", "studyUID": study, "seriesUID": series,
                "objectUID": sop, "rows": "100000"},
        headers=writer_headers,
    )  # fmt: skip
    assert huge.status_code == 400


def test_queries_and_retrievals_are_audited_once_per_request(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    first = make_dataset()
    second = make_dataset(
        StudyInstanceUID=first.StudyInstanceUID, SeriesInstanceUID=first.SeriesInstanceUID
    )
    assert stow([to_bytes(first), to_bytes(second)]).status_code == 200
    before = audit_actions()
    assert before.count("image.store") == 1  # one event per request, naming both instances
    client.get("/dicom-web/studies", headers=writer_headers)
    client.get(f"/dicom-web/studies/{first.StudyInstanceUID}", headers=writer_headers)
    after = audit_actions()[len(before) :]
    assert after == ["image.query", "image.retrieve"]
    with transaction() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "image.retrieve")
        ).one()
    assert event.resource_id == first.StudyInstanceUID
    assert event.patient_id == first.PatientID
    assert json.loads(event.detail)["instances"] == 2


def test_deleted_instance_leaves_metadata_retrieval_and_queries(
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
    auth_headers: Callable[..., dict[str, str]],
) -> None:
    first = make_dataset(InstanceNumber=1)
    second = make_dataset(
        InstanceNumber=2,
        StudyInstanceUID=first.StudyInstanceUID,
        SeriesInstanceUID=first.SeriesInstanceUID,
    )
    assert stow([to_bytes(first), to_bytes(second)]).status_code == 200
    series = f"/dicom-web/studies/{first.StudyInstanceUID}/series/{first.SeriesInstanceUID}"
    assert len(client.get(f"{series}/metadata", headers=writer_headers).json()) == 2
    deleted = client.delete(
        f"/api/studies/{first.StudyInstanceUID}/series/{first.SeriesInstanceUID}"
        f"/instances/{second.SOPInstanceUID}",
        headers=auth_headers("admin"),
    )
    assert deleted.status_code in (200, 204), deleted.text
    metadata = client.get(f"{series}/metadata", headers=writer_headers).json()
    assert [m["00080018"]["Value"][0] for m in metadata] == [first.SOPInstanceUID]
    gone = client.get(f"{series}/instances/{second.SOPInstanceUID}", headers=writer_headers)
    assert gone.status_code == 404
    found = client.get(f"{series}/instances", headers=writer_headers)
    assert found.headers["X-Total-Count"] == "1"


def test_stow_body_over_the_cap_is_413_and_stores_nothing(
    stow: Callable[..., Any], settings_env: Callable[..., None], client: TestClient,
    writer_headers: dict[str, str],
) -> None:  # fmt: skip
    settings_env(HOUNSFIELD_DICOMWEB__STOW_MAX_BYTES="4000")
    ds = make_dataset(Rows=64, Columns=64)
    response = stow([to_bytes(ds)])
    assert response.status_code == 413
    found = client.get("/dicom-web/instances", params={"SOPInstanceUID": ds.SOPInstanceUID},
                       headers=writer_headers)  # fmt: skip
    assert found.headers["X-Total-Count"] == "0"


def test_series_metadata_is_built_in_the_background(
    stow: Callable[..., Any],
) -> None:
    import time

    from hounsfield.studies import derived
    from hounsfield.studies import refs as lookup
    from hounsfield.worker import pending_count

    first = make_dataset(InstanceNumber=1)
    second = make_dataset(
        InstanceNumber=2,
        StudyInstanceUID=first.StudyInstanceUID,
        SeriesInstanceUID=first.SeriesInstanceUID,
    )
    assert stow([to_bytes(first), to_bytes(second)]).status_code == 200
    with transaction() as session:
        series = lookup.series_by_uid(session, first.SeriesInstanceUID)
    assert series is not None
    document = derived._series_path(series.series_instance_uid, series.metadata_version)
    deadline = time.monotonic() + 60  # bounded wait for the embedded task pool, not a timing
    while time.monotonic() < deadline and not (pending_count() == 0 and document.exists()):
        time.sleep(0.1)
    assert document.exists(), "studies.refresh_series did not build the series metadata"
    assert len(json.loads(gzip.decompress(document.read_bytes()))) == 2


def test_stow_refuses_path_like_uids_and_writes_nothing_outside_storage(
    stow: Callable[..., Any], data_dir: Any
) -> None:
    ds = make_dataset()
    ds.SOPInstanceUID = "/../../tmp/pwn"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3"
    response = stow([to_bytes(ds)])
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xC000]
    assert not (data_dir / "tmp" / "pwn").exists()
    assert not any("pwn" in str(p) for p in data_dir.rglob("*"))


def test_stow_of_one_instance_many_times_in_one_request_stores_it_once(
    stow: Callable[..., Any],
) -> None:
    data = to_bytes(make_dataset())
    response = stow([data] * 6)
    assert response.status_code == 200, response.text
    assert len(response.json()["00081199"]["Value"]) == 6  # re-sends are successes
    with transaction() as session:
        rows = session.scalars(
            select(Instance.id).where(Instance.sop_instance_uid == uids(data)[2])
        ).all()
    assert len(rows) == 1
