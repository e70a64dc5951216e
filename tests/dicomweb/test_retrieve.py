"""WADO-RS / WADO-URI retrieve: transcoding on the way out, clear refusals instead of 500s,
big-endian pixels, who may take whole objects, and URLs that never echo a hostile Host."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.dicom import transcode
from hounsfield.studies.models import Instance
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import parse_multipart, read_dataset, sample_file
from tests.dicomweb.test_transfer_syntaxes import with_required_uids

ELE = "1.2.840.10008.1.2.1"
ILE = "1.2.840.10008.1.2"
JLS = "1.2.840.10008.1.2.4.80"
DICOM_IN = 'multipart/related; type="application/dicom"; transfer-syntax='
OCTETS = 'multipart/related; type="application/octet-stream"'


def stored(stow: Callable[..., Any], name: str) -> tuple[bytes, str]:
    """Store a pydicom sample; (its bytes, its instance URL)."""
    data = with_required_uids(sample_file(name))
    response = stow([data])
    assert response.status_code == 200, response.text
    ds = read_dataset(data)
    url = (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )
    return data, url


def wado_uri(url: str, **params: str) -> str:
    _, study, _, series, _, sop = url.removeprefix("/dicom-web/").split("/")
    query = "&".join(f"{k}={v}" for k, v in params.items())
    uids = f"studyUID={study}&seriesUID={series}&objectUID={sop}"
    return f"/dicom-web/wado?requestType=WADO&{uids}&{query}"


def one_part(response: Any) -> tuple[str, bytes]:
    assert response.status_code == 200, response.text
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert len(parts) == 1
    return parts[0]


# -- #12.3 transcoding on the way out --------------------------------------------------


def test_a_client_taking_only_uncompressed_objects_gets_them_transcoded(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    data, url = stored(stow, "SC_rgb_jpeg_dcmtk.dcm")  # JPEG Baseline: lossy
    accept = f"{DICOM_IN}{ILE}, {DICOM_IN}{ELE}; q=0.5"
    part_type, payload = one_part(client.get(url, headers={**writer_headers, "Accept": accept}))
    assert part_type.endswith(f"transfer-syntax={ILE}")
    out = read_dataset(payload)
    assert out.file_meta.TransferSyntaxUID == ILE
    assert out.LossyImageCompression == "01"  # never silently "lossless"
    assert out.LossyImageCompressionMethod == "ISO_10918_1"
    reference = transcode.decode(read_dataset(data))
    assert np.array_equal(out.pixel_array, reference)
    # the whole study too, and a bare application/dicom
    study_url = url.split("/series/")[0]
    whole = client.get(study_url, headers={**writer_headers, "Accept": f"{DICOM_IN}{ELE}"})
    assert read_dataset(one_part(whole)[1]).file_meta.TransferSyntaxUID == ELE
    bare = client.get(
        url, headers={**writer_headers, "Accept": f"application/dicom; transfer-syntax={ELE}"}
    )
    assert bare.status_code == 200
    assert read_dataset(bare.content).file_meta.TransferSyntaxUID == ELE


def test_lossless_compression_on_request_and_never_lossy(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    data, url = stored(stow, "CT_small.dcm")
    part_type, payload = one_part(
        client.get(url, headers={**writer_headers, "Accept": f"{DICOM_IN}{JLS}"})
    )
    assert part_type.endswith(f"transfer-syntax={JLS}")
    out = read_dataset(payload)
    assert out.file_meta.TransferSyntaxUID == JLS
    assert np.array_equal(out.pixel_array, read_dataset(data).pixel_array)
    lossy = client.get(
        url, headers={**writer_headers, "Accept": f"{DICOM_IN}1.2.840.10008.1.2.4.50"}
    )
    assert lossy.status_code == 406
    uri = client.get(wado_uri(url, contentType="application/dicom", transferSyntax=ILE),
                     headers=writer_headers)  # fmt: skip
    assert uri.status_code == 200
    assert read_dataset(uri.content).file_meta.TransferSyntaxUID == ILE


# -- #12.4 no 500s: 404 without pixel data, 406 when undecodable; GDCM renders 12-bit JPEG


def test_frames_of_an_instance_without_pixel_data_are_404(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    ds = make_dataset()
    del ds.PixelData  # Rows and Columns stay: only the pixels are missing
    assert stow([to_bytes(ds)]).status_code == 200
    url = (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )
    for accept in (OCTETS, f"{OCTETS}; transfer-syntax=*", "*/*"):
        response = client.get(f"{url}/frames/1", headers={**writer_headers, "Accept": accept})
        assert response.status_code == 404, (accept, response.text)
        assert response.json()["error"]["code"] == "frame_not_found"


def test_undecodable_pixel_data_is_406_with_a_reason(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    _, url = stored(stow, "JPEG2000-embedded-sequence-delimiter.dcm")
    as_stored = client.get(url, headers=writer_headers)  # as stored: fine
    assert as_stored.status_code == 200
    requests = [
        (url, f"{DICOM_IN}{ELE}"),
        (f"{url}/frames/1", OCTETS),
        (f"{url}/frames/1", f"{OCTETS}; transfer-syntax={ELE}"),
        (f"{url}/rendered", "image/jpeg"),
        (wado_uri(url, contentType="application/dicom", transferSyntax=ELE), "*/*"),
        (wado_uri(url, contentType="image/jpeg"), "*/*"),
    ]
    for target, accept in requests:
        response = client.get(target, headers={**writer_headers, "Accept": accept})
        assert response.status_code == 406, (target, accept, response.text)
        error = response.json()["error"]
        assert error["code"] in ("cannot_transcode", "cannot_decode")
        assert "cannot be decoded" in error["message"]


def test_twelve_bit_jpeg_renders_through_gdcm(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    data, url = stored(stow, "JPEG-lossy.dcm")  # pydicom's own plugins can't decode it
    rendered = client.get(f"{url}/rendered", headers={**writer_headers, "Accept": "image/png"})
    assert rendered.status_code == 200, rendered.text
    image = np.asarray(Image.open(io.BytesIO(rendered.content)))
    assert image.shape == (1024, 256)
    assert image.std() > 10
    series_url = url.split("/instances/")[0]
    thumbnail = client.get(f"{series_url}/thumbnail", headers=writer_headers)
    assert thumbnail.status_code == 200, thumbnail.text
    assert thumbnail.content[:3] == b"\xff\xd8\xff"
    _, frame = one_part(client.get(f"{url}/frames/1", headers={**writer_headers, "Accept": OCTETS}))
    assert frame == transcode.decode(read_dataset(data)).astype("<u2").tobytes()


# -- #12.5 big endian ---------------------------------------------------------------------


def test_big_endian_ow_frames_are_little_endian_and_thumbnails_work(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    data, url = stored(stow, "SC_rgb_small_odd_big_endian.dcm")  # 8-bit RGB in OW words
    expected = read_dataset(data).pixel_array
    part_type, frame = one_part(
        client.get(f"{url}/frames/1", headers={**writer_headers, "Accept": OCTETS})
    )
    assert part_type.endswith(f"transfer-syntax={ELE}")
    assert frame == expected.tobytes()
    _, payload = one_part(client.get(url, headers={**writer_headers, "Accept": f"{DICOM_IN}{ELE}"}))
    out = read_dataset(payload)
    assert out.file_meta.TransferSyntaxUID == ELE
    assert np.array_equal(out.pixel_array, expected)
    thumbnail = client.get(f"{url}/thumbnail", headers=writer_headers)
    assert thumbnail.status_code == 200, thumbnail.text
    assert thumbnail.content[:3] == b"\xff\xd8\xff"


# -- #14.13 whole objects need image:retrieve -----------------------------------------------


def test_a_nurse_views_images_but_takes_no_whole_objects(
    stow: Callable[..., Any], client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    data, url = stored(stow, "CT_small.dcm")
    study_url, series_url = url.split("/series/")[0], url.split("/instances/")[0]
    nurse, doctor = auth_headers("nurse"), auth_headers("doctor")
    whole_objects = [
        (study_url, {}),
        (series_url, {}),
        (url, {}),
        (url, {"Accept": "application/dicom"}),
        (f"{url}/bulkdata/7fe00010", {}),
        (wado_uri(url, contentType="application/dicom"), {}),
    ]
    viewing = [
        (f"{url}/metadata", {}),
        (f"{series_url}/metadata", {}),
        (f"{url}/frames/1", {"Accept": OCTETS}),
        (f"{url}/rendered", {}),
        (f"{url}/thumbnail", {}),
        (wado_uri(url, contentType="image/jpeg"), {}),
        ("/dicom-web/studies", {}),
    ]
    for target, headers in whole_objects:
        refused = client.get(target, headers={**nurse, **headers})
        assert refused.status_code == 403, target
        assert refused.json()["error"]["details"]["permission"] == "image:retrieve"
        assert data[-64:] not in refused.content
        assert client.get(target, headers={**doctor, **headers}).status_code == 200, target
    for target, headers in viewing:
        assert client.get(target, headers={**nurse, **headers}).status_code == 200, target


# -- #14.16 URLs never copy a hostile Host header -------------------------------------------


def test_urls_are_not_built_from_a_hostile_host(
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
    settings_env: Callable[..., None],
) -> None:
    stored(stow, "CT_small.dcm")
    evil = {**writer_headers, "Host": "evil.example"}
    response = client.get("/dicom-web/studies", headers=evil)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "host_not_allowed"
    assert b"evil.example" not in response.content
    assert stow([to_bytes(make_dataset())], headers={"Host": "evil.example"}).status_code == 400
    settings_env(HOUNSFIELD_PUBLIC_BASE_URL="https://pacs.example.org/")
    response = client.get("/dicom-web/studies", headers=evil)
    assert response.status_code == 200
    assert b"evil.example" not in response.content
    urls = [study["00081190"]["Value"][0] for study in response.json()]
    assert urls
    assert all(u.startswith("https://pacs.example.org/dicom-web/studies/") for u in urls)


# -- #14.4 SHA-256 on every path out ----------------------------------------------------------


def corrupt(data_dir: Path, sop: str) -> bytes:
    """Flip the last byte of a stored object (a new mtime, like any real change)."""
    with transaction() as session:
        key = session.scalar(select(Instance.storage_key).where(Instance.sop_instance_uid == sop))
    assert key is not None
    path = data_dir / "storage" / key
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    mtime = path.stat().st_mtime_ns
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(mtime, mtime + 10**9))  # changed, even within one clock tick
    return bytes(raw[-64:])


@pytest.mark.parametrize(
    "suffix",
    ["/bulkdata/7fe00010", "?wado=jpeg", "?wado=dicom", "?wado=dicom-ile"],
)
def test_corrupt_objects_never_leave_by_bulkdata_or_wado_uri(
    suffix: str,
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
    data_dir: Path,
) -> None:
    ds = make_dataset()
    assert stow([to_bytes(ds)]).status_code == 200
    url = (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )
    tail = corrupt(data_dir, ds.SOPInstanceUID)
    target = {
        "?wado=jpeg": wado_uri(url, contentType="image/jpeg"),
        "?wado=dicom": wado_uri(url, contentType="application/dicom"),
        "?wado=dicom-ile": wado_uri(url, contentType="application/dicom", transferSyntax=ILE),
    }.get(suffix, url + suffix)
    response = client.get(target, headers=writer_headers)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "object_corrupt"
    assert tail not in response.content
