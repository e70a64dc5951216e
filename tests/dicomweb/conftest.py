"""DICOMweb fixtures: a user who may store, and STOW-RS as a function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.dicomweb.helpers import multipart_body


@pytest.fixture
def writer_headers(auth_headers: Callable[..., dict[str, str]]) -> dict[str, str]:
    """A technician: image:read and image:create."""
    return auth_headers("technician")


@pytest.fixture
def stow(client: TestClient, writer_headers: dict[str, str]) -> Callable[..., Any]:
    """stow([bytes, ...], study=None) → the STOW-RS response."""

    def send(items: list[bytes], study: str | None = None, **kwargs: Any) -> Any:
        body, content_type = multipart_body(items)
        url = "/dicom-web/studies" + (f"/{study}" if study else "")
        headers = {
            **writer_headers,
            "Content-Type": content_type,
            "Accept": "application/dicom+json",
            **kwargs.pop("headers", {}),
        }
        return client.post(url, content=body, headers=headers, **kwargs)

    return send
