"""STOW-RS requests received at once are capped per process (SECURITY L2): one more is
answered 503 with Retry-After, and the held request still succeeds."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx

from hounsfield.dicomweb import stow
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body
from tests.security.conftest import SAFETY_S


def _slot_taken(limit: int) -> None:
    """Wait (bounded) until the server holds the STOW-RS slot."""
    deadline = time.monotonic() + SAFETY_S
    while not (limit in stow._slots and stow._slots[limit]._value == 0):
        assert time.monotonic() < deadline, "the first STOW-RS never took its slot"
        time.sleep(0.01)


def test_one_stow_too_many_is_answered_503(
    serve: Callable[..., tuple[str, int]], auth_headers: Callable[..., dict[str, str]]
) -> None:
    headers = auth_headers("technician")
    host, port = serve(HOUNSFIELD_DICOMWEB__STOW_MAX_CONCURRENT="1")
    body, content_type = multipart_body([to_bytes(make_dataset())])
    head = (
        f"POST /dicom-web/studies HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Authorization: {headers['Authorization']}\r\nAccept: application/dicom+json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=SAFETY_S) as held:
        held.sendall(head + body[:100])  # the body is still arriving: the slot is held
        _slot_taken(1)
        second, ct2 = multipart_body([to_bytes(make_dataset())])
        busy = httpx.post(
            f"http://{host}:{port}/dicom-web/studies", content=second, timeout=SAFETY_S,
            headers={**headers, "Content-Type": ct2, "Accept": "application/dicom+json"},
        )  # fmt: skip
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "5"
        assert busy.json()["error"]["code"] == "stow_busy"
        held.sendall(body[100:])
        answer = b""
        while chunk := held.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
