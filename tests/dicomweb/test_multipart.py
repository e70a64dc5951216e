"""multipart/related writing and spooling, Accept negotiation: no database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hounsfield.dicomweb import transfer
from hounsfield.dicomweb.multipart import (
    NotAcceptable,
    Part,
    UnsupportedMediaType,
    content_type_header,
    new_boundary,
    parse_accept,
    spool_multipart,
    stream_parts,
)
from hounsfield.errors import BadRequest, PayloadTooLarge

pytestmark = pytest.mark.nodb


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def spool(body: bytes, content_type: str, directory: Path, **caps: int) -> list:  # type: ignore[type-arg]
    limits = {"max_total_bytes": 10**8, "max_part_bytes": 10**8, **caps}
    return asyncio.run(spool_multipart(chunks(body, 997), content_type, directory, **limits))


def test_round_trip_keeps_every_byte(tmp_path: Path) -> None:
    boundary = new_boundary()
    payloads = [bytes(range(256)) * 400, b"--" + boundary.encode() + b"x", b"\r\n\r\n"]
    body = b"".join(stream_parts([Part("application/dicom", p) for p in payloads], boundary))
    parts = spool(body, content_type_header("application/dicom", boundary), tmp_path)
    assert [p.path.read_bytes() for p in parts] == payloads
    assert [p.content_type for p in parts] == ["application/dicom"] * 3


def test_caps_and_malformed_bodies(tmp_path: Path) -> None:
    boundary = new_boundary()
    body = b"".join(stream_parts([Part("application/dicom", b"x" * 5000)], boundary))
    content_type = content_type_header("application/dicom", boundary)
    with pytest.raises(PayloadTooLarge):
        spool(body, content_type, tmp_path, max_part_bytes=4000)
    with pytest.raises(PayloadTooLarge):
        spool(body, content_type, tmp_path, max_total_bytes=1000)
    with pytest.raises(UnsupportedMediaType):
        spool(body, "application/dicom", tmp_path)
    with pytest.raises(BadRequest):
        spool(b"--" + boundary.encode() + b"\r\nno-colon-header\r\n\r\n", content_type, tmp_path)


def test_accept_is_ordered_by_quality_and_keeps_quoted_parameters() -> None:
    ranges = parse_accept(
        'application/json;q=0.5, multipart/related; type="application/dicom"; transfer-syntax=*'
    )
    assert ranges[0].type == "multipart/related"
    assert ranges[0].params == {"type": "application/dicom", "transfer-syntax": "*"}
    assert parse_accept(None)[0].type == "*/*"
    assert parse_accept("image/png;q=0") == []


def test_frame_negotiation() -> None:
    jpeg = "1.2.840.10008.1.2.4.50"
    octet_any = parse_accept("multipart/related; type=application/octet-stream; transfer-syntax=*")
    assert transfer.choose_frames(octet_any, jpeg) == transfer.FrameChoice(
        "application/octet-stream", None
    )
    assert transfer.choose_frames(octet_any, "1.2.840.10008.1.2") == transfer.FrameChoice(
        "application/octet-stream", transfer.EXPLICIT_LE
    )
    octet = parse_accept("multipart/related; type=application/octet-stream")
    assert transfer.choose_frames(octet, jpeg).transfer_syntax == transfer.EXPLICIT_LE
    image = parse_accept("multipart/related; type=image/jpeg")
    assert transfer.choose_frames(image, jpeg) == transfer.FrameChoice("image/jpeg", None)
    with pytest.raises(NotAcceptable):
        transfer.choose_frames(image, "1.2.840.10008.1.2.4.90")
    with pytest.raises(NotAcceptable):
        transfer.choose_frames(parse_accept("application/json"), jpeg)


def test_instance_negotiation() -> None:
    stored = {"1.2.840.10008.1.2.4.90"}
    any_syntax = parse_accept('multipart/related; type="application/dicom"; transfer-syntax=*')
    assert transfer.choose_instances(any_syntax, stored, single=False).transfer_syntax is None
    explicit = parse_accept(
        'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1'
    )
    assert transfer.choose_instances(explicit, stored, single=False).transfer_syntax == (
        transfer.EXPLICIT_LE
    )
    bare = parse_accept("application/dicom")
    assert transfer.choose_instances(bare, stored, single=True).multipart is False
    with pytest.raises(NotAcceptable):
        transfer.choose_instances(bare, stored, single=False)


def test_byte_cache_evicts_least_recently_used_within_its_size() -> None:
    from hounsfield.studies.cache import ByteCache

    cache = ByteCache(800)
    for key in "abcd":
        cache.put(key, key.encode() * 100)
    assert cache.get("a") == b"a" * 100
    for key in "efghij":
        cache.put(key, key.encode() * 100)
    assert cache.get("a") == b"a" * 100  # recently used: kept
    assert cache.get("b") is None  # oldest: evicted
    cache.put("huge", b"x" * 200)  # larger than an eighth of the cache: not kept
    assert cache.get("huge") is None
