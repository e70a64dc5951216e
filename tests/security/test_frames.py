"""A frame list is deduplicated and capped (issue 14.9): `frames/1,1,1,…` must not
multiply the response."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body, parse_multipart


def _frames_url(client: TestClient, headers: dict[str, str]) -> str:
    ds = make_dataset(NumberOfFrames=3, Rows=64, Columns=64)
    body, content_type = multipart_body([to_bytes(ds)])
    stored = client.post(
        "/dicom-web/studies", content=body, headers={**headers, "Content-Type": content_type}
    )
    assert stored.status_code == 200, stored.text
    return (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}/frames/"
    )


def test_repeated_frame_numbers_are_answered_once(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    headers = auth_headers("technician")
    url = _frames_url(client, headers)
    response = client.get(url + ",".join(["1"] * 1000), headers=headers)
    assert response.status_code == 200
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert len(parts) == 1
    assert len(parts[0][1]) == 64 * 64 * 2
    ordered = client.get(url + "3,1,3,2,1", headers=headers)
    payloads = [p for _, p in parse_multipart(ordered.headers["content-type"], ordered.content)]
    assert len(payloads) == 3  # 3, 1, 2: the order asked, each once


def test_overlong_frame_lists_are_refused(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    headers = auth_headers("technician")
    url = _frames_url(client, headers)
    for frames in (",".join(["1"] * 1001), "1," + "9" * 30, "1,,x"):
        response = client.get(url + frames, headers=headers)
        assert response.status_code == 400, frames[:20]
        assert response.json()["error"]["message"]
