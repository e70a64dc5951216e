"""multipart/related (RFC 2387) for DICOMweb: a streaming writer, a spooling reader, Accept.

The writer yields bytes part by part, so a series streams from storage without being held
in memory. The reader spools each part of a STOW-RS body to its own temporary file as it
arrives (constant memory at any size), using python-multipart's framing parser.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
from python_multipart.multipart import MultipartParser
from starlette.requests import ClientDisconnect

from hounsfield.errors import BadRequest, HounsfieldError, PayloadTooLarge

__all__ = [
    "MediaRange",
    "NotAcceptable",
    "Part",
    "SpooledPart",
    "TooManyParts",
    "UnsupportedMediaType",
    "content_type_header",
    "new_boundary",
    "parse_accept",
    "parse_media_type",
    "spool_multipart",
    "stream_parts",
]

CRLF = b"\r\n"
WRITE_BATCH = 1 << 20


class TooManyParts(PayloadTooLarge):
    """The request holds more parts than allowed (each costs a file and an ingest)."""

    code = "too_many_parts"

    def __init__(self, limit: int) -> None:
        message = f"The request holds more than {limit} parts."
        super().__init__(message, details={"max_parts": limit})
        self.limit = limit

    def message_for(self, accept_language: str | None) -> str:
        from hounsfield.ingest.outcome import language

        if language(accept_language) == "en":
            return str(self)
        return f"请求包含的部分超过 {self.limit} 个"


class NotAcceptable(HounsfieldError):
    """None of the media types in Accept can be produced for this resource."""

    status_code = 406
    code = "not_acceptable"


class UnsupportedMediaType(HounsfieldError):
    """The request body's media type is not supported here."""

    status_code = 415
    code = "unsupported_media_type"


@dataclass
class Part:
    """One part to send: its content type and its body (bytes or an iterable of chunks)."""

    content_type: str
    body: bytes | Iterable[bytes]
    location: str | None = None


def new_boundary() -> str:
    return secrets.token_hex(16)


def content_type_header(part_type: str, boundary: str) -> str:
    """``multipart/related; type="..."; boundary=...`` (PS3.18 §8.7.3.1)."""
    return f'multipart/related; type="{part_type}"; boundary={boundary}'


def stream_parts(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    """Yield a multipart/related body part by part.

    The part header is spelled exactly ``Content-Type: <type>`` because some readers
    (Cornerstone's image loader) parse it case-sensitively.
    """
    delimiter = b"--" + boundary.encode("ascii")
    for part in parts:
        head = [delimiter, f"Content-Type: {part.content_type}".encode("ascii")]
        if part.location:
            head.append(f"Content-Location: {part.location}".encode("ascii"))
        yield CRLF.join(head) + CRLF + CRLF
        if isinstance(part.body, bytes | bytearray):
            yield bytes(part.body)
        else:
            yield from part.body
        yield CRLF
    yield delimiter + b"--" + CRLF


@dataclass(frozen=True)
class MediaRange:
    """One media range of an Accept or Content-Type header."""

    type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    def matches(self, media_type: str) -> bool:
        if self.type in ("*/*", media_type):
            return True
        major = media_type.split("/", 1)[0]
        return self.type == f"{major}/*"


def _split_params(value: str) -> list[str]:
    """Split on ';' outside quotes."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return [piece.strip() for piece in out]


def parse_media_type(value: str) -> MediaRange:
    """Parse ``type/subtype; a=b; c="d"`` (names lower-cased, quotes removed)."""
    pieces = _split_params(value)
    params: dict[str, str] = {}
    q = 1.0
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        name, _, raw = piece.partition("=")
        name, raw = name.strip().lower(), raw.strip().strip('"')
        if name == "q":
            try:
                q = float(raw)
            except ValueError:
                q = 0.0
        else:
            params[name] = raw
    return MediaRange(pieces[0].lower(), params, q)


def _split_accept(value: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return [piece.strip() for piece in out if piece.strip()]


def parse_accept(value: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header, best first (q = 0 dropped); ``*/*`` if none."""
    if not value or not value.strip():
        return [MediaRange("*/*")]
    ranges = [parse_media_type(piece) for piece in _split_accept(value)]
    ranges = [r for r in ranges if r.q > 0]
    return sorted(ranges, key=lambda r: -r.q)


@dataclass
class SpooledPart:
    """One received part, spooled to `path`."""

    content_type: str
    path: Path
    size: int
    headers: dict[str, str] = field(default_factory=dict)


Keep = Callable[[dict[str, str]], bool]


class _Spooler:
    """python-multipart callbacks: each part (that `keep` accepts) to its own file."""

    def __init__(
        self,
        directory: Path,
        max_part_bytes: int,
        keep: Keep | None = None,
        max_parts: int | None = None,
    ) -> None:
        self.directory = directory
        self.max_part_bytes = max_part_bytes
        self.max_parts = max_parts
        self.begun = 0
        self.keep = keep
        self.parts: list[SpooledPart] = []
        self._file: IO[bytes] | None = None
        self._headers: dict[str, str] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._size = 0

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.begun += 1
        if self.max_parts is not None and self.begun > self.max_parts:
            raise TooManyParts(self.max_parts)
        self._headers = {}
        self._size = 0

    def header_end(self) -> None:
        name = self._field.decode("latin-1").strip().lower()
        self._headers[name] = self._value.decode("latin-1").strip()
        self._field.clear()
        self._value.clear()

    def headers_finished(self) -> None:
        if self.keep is not None and not self.keep(self._headers):
            return  # not wanted (e.g. a form field other than the files): skipped
        path = self.directory / f"part-{len(self.parts):06d}"
        self._file = path.open("wb")
        self.parts.append(
            SpooledPart(self._headers.get("content-type", ""), path, 0, dict(self._headers))
        )

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is None:
            return
        self._size += end - start
        if self._size > self.max_part_bytes:
            raise PayloadTooLarge("A part of the request is larger than allowed.")
        self._file.write(data[start:end])

    def part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self.parts[-1].size = self._size

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def spool_multipart(
    body: AsyncIterable[bytes],
    content_type: str,
    directory: Path,
    *,
    max_total_bytes: int,
    max_part_bytes: int,
    media_type: str = "multipart/related",
    keep: Keep | None = None,
    max_parts: int | None = None,
) -> list[SpooledPart]:
    """Spool every part of a multipart body (of `media_type`) into `directory`.

    The one multipart reader, for STOW-RS and browser uploads. `keep`, if given, sees
    each part's headers (names lower-cased) and says whether to spool it.

    Raises
    ------
    UnsupportedMediaType
        Unless the body is of `media_type` with a boundary.
    PayloadTooLarge
        When the body or one part grows beyond its cap, or the parts outnumber `max_parts`
        (checked while streaming).
    BadRequest
        When the framing is broken.
    """
    media = parse_media_type(content_type)
    boundary = media.params.get("boundary")
    if media.type != media_type or not boundary:
        raise UnsupportedMediaType(f"The body must be {media_type} with a boundary.")
    spooler = _Spooler(directory, max_part_bytes, keep, max_parts)
    parser = MultipartParser(boundary, spooler.callbacks(), max_header_count=32)
    total = 0
    pending: list[bytes] = []
    pending_size = 0
    try:
        async for chunk in body:
            total += len(chunk)
            if total > max_total_bytes:
                raise PayloadTooLarge("The request body is larger than allowed.")
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= WRITE_BATCH:  # file writes off the event loop, a MiB at a time
                await anyio.to_thread.run_sync(parser.write, b"".join(pending))
                pending, pending_size = [], 0
        if pending:
            await anyio.to_thread.run_sync(parser.write, b"".join(pending))
        parser.finalize()
    except HounsfieldError:
        raise
    except ClientDisconnect as exc:
        raise BadRequest("The request was interrupted.") from exc
    except Exception as exc:  # python-multipart raises its own framing errors
        raise BadRequest("The multipart body is malformed.") from exc
    finally:
        spooler.close()
    return [p for p in spooler.parts if p.size > 0 or p.content_type]


def spool_directory(root: Path | None = None) -> tempfile.TemporaryDirectory[str]:
    """A fresh temporary directory for one request's parts."""
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="stow-", dir=root)
