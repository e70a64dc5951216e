"""DICOMweb test helpers: sample files, multipart bodies."""

from __future__ import annotations

import io
import warnings

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from hounsfield.dicomweb.multipart import (
    Part,
    content_type_header,
    new_boundary,
    parse_media_type,
    stream_parts,
)


def sample_file(name: str) -> bytes:
    path = get_testdata_file(name)
    assert path is not None, name
    with open(path, "rb") as fp:
        return fp.read()


def read_dataset(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data), force=True)


def multipart_body(items: list[bytes], part_type: str = "application/dicom") -> tuple[bytes, str]:
    boundary = new_boundary()
    body = b"".join(stream_parts([Part(part_type, item) for item in items], boundary))
    return body, content_type_header("application/dicom", boundary)


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """(part Content-Type exactly as sent, payload) of each part of a multipart body."""
    boundary = parse_media_type(content_type).params["boundary"].encode()
    delimiter = b"--" + boundary
    assert body.rstrip(b"\r\n").endswith(delimiter + b"--"), "unterminated multipart body"
    out = []
    for segment in body.split(delimiter)[1:-1]:
        assert segment.startswith(b"\r\n")
        head, _, payload = segment[2:].partition(b"\r\n\r\n")
        assert payload.endswith(b"\r\n")
        headers = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n") if line.strip())
        out.append((headers.get("Content-Type", ""), payload[:-2]))
    return out
