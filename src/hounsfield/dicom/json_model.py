"""Datasets ↔ the DICOM JSON model (PS3.18 Annex F).

pydicom encodes each element (PN as ``{"Alphabetic", "Ideographic", "Phonetic"}``, numbers
as numbers); this module walks the dataset itself so that every large binary element gets
a BulkDataURI naming its exact place: ``<instance URL>/bulkdata/<tag>[/<item>/<tag>...]``
(1-based item numbers), which :func:`element_at` resolves again for WADO-RS /bulkdata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

__all__ = [
    "BULK_DATA_THRESHOLD",
    "BulkDataPathError",
    "attribute_json",
    "dataset_to_json",
    "element_at",
    "json_to_dataset",
    "pixel_data_json",
    "resource_path",
]

logger = logging.getLogger(__name__)

#: Binary values longer than this (bytes) become a BulkDataURI instead of InlineBinary.
BULK_DATA_THRESHOLD = 1024

_PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)

UriBuilder = Callable[[Sequence[str]], str]


def resource_path(study: str, series: str | None = None, sop: str | None = None) -> str:
    """A study's, series' or instance's path under the DICOMweb root (PS3.18 §10.4.1)."""
    path = f"/studies/{study}"
    if series is not None:
        path += f"/series/{series}"
        if sop is not None:
            path += f"/instances/{sop}"
    return path


class BulkDataPathError(LookupError):
    """The bulk data path names no binary element of the dataset."""


def dataset_to_json(
    ds: Dataset,
    *,
    bulkdata_uri: UriBuilder | None = None,
    bulk_data_threshold: int = BULK_DATA_THRESHOLD,
    pixel_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Encode `ds` (without its file meta) as a DICOM JSON object.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset; elements that cannot be encoded (invalid values) are left out.
    bulkdata_uri : callable, optional
        ``path -> URI`` for a large binary element, where ``path`` is the list of 8-hex-digit
        tags and 1-based item numbers that lead to it. Without it binary values are inlined.
    bulk_data_threshold : int
        Binary values above this many bytes go by reference.
    pixel_data : dict, optional
        The JSON to use for (7FE0,0010) when the dataset was read without its pixel data
        (see :func:`pixel_data_json`).

    Returns
    -------
    dict
        ``{"GGGGEEEE": {"vr": ..., "Value"|"InlineBinary"|"BulkDataURI": ...}}``.
    """
    out = _encode(ds, [], bulkdata_uri, bulk_data_threshold)
    if pixel_data is not None and "7FE00010" not in out:
        out["7FE00010"] = pixel_data
    return out


def _encode(ds: Dataset, path: list[str], uri: UriBuilder | None, threshold: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for elem in ds:
        if elem.tag.element == 0:  # group lengths are retired and meaningless in JSON
            continue
        key = f"{elem.tag:08X}"
        try:
            if elem.VR == "SQ":
                items = [
                    _encode(item, [*path, key, str(number)], uri, threshold)
                    for number, item in enumerate(elem.value, start=1)
                ]
                out[key] = {"vr": "SQ", "Value": items} if items else {"vr": "SQ"}
                continue
            handler = _handler([*path, key], uri) if uri is not None else None
            out[key] = elem.to_json_dict(handler, threshold)
        except Exception as exc:  # an invalid value must not fail the whole document
            logger.debug("element %s left out of DICOM JSON: %s", key, type(exc).__name__)
    return out


def _handler(path: list[str], uri: UriBuilder) -> Callable[[DataElement], str]:
    return lambda _elem: uri(path)


def attribute_json(tag: int, vr: str, value: Any) -> dict[str, Any]:
    """One attribute from a plain value (the index's, a query's) as a DICOM JSON element,
    encoded by pydicom as every other element here (PN groups, IS/DS as numbers)."""
    try:
        return DataElement(tag, vr, value).to_json_dict(None, BULK_DATA_THRESHOLD)
    except Exception as exc:  # an invalid value leaves the attribute empty, as in _encode
        logger.debug("value of %08X left out of DICOM JSON: %s", tag, type(exc).__name__)
        return {"vr": vr}


def pixel_data_json(ds: Dataset, uri: str | None) -> dict[str, Any]:
    """JSON for (7FE0,0010) of a dataset read with ``stop_before_pixels``.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The header (for the transfer syntax and Bits Allocated).
    uri : str or None
        Its BulkDataURI.
    """
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    encapsulated = bool(syntax is not None and syntax.is_encapsulated)
    vr = "OB" if encapsulated or int(ds.get("BitsAllocated", 16) or 16) <= 8 else "OW"
    out: dict[str, Any] = {"vr": vr}
    if uri is not None:
        out["BulkDataURI"] = uri
    return out


def element_at(ds: Dataset, path: Sequence[str]) -> DataElement:
    """Find the element a bulk data path names.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
    path : sequence of str
        ``["GGGGEEEE"]`` or ``["GGGGEEEE", "<item>", "GGGGEEEE", ...]``, items 1-based.

    Raises
    ------
    BulkDataPathError
        If a step does not exist or the final element is not binary.
    """
    if not path or len(path) % 2 != 1:
        raise BulkDataPathError("a bulk data path is tag(/item/tag)*")
    current: Dataset = ds
    try:
        for index in range(0, len(path) - 1, 2):
            seq = current[Tag(int(path[index], 16))]
            number = int(path[index + 1])
            if seq.VR != "SQ" or not 1 <= number <= len(seq.value):
                raise BulkDataPathError("no such sequence item")
            current = seq.value[number - 1]
        elem = current[Tag(int(path[-1], 16))]
    except (KeyError, ValueError, TypeError) as exc:
        raise BulkDataPathError("no such element") from exc
    if elem.VR not in ("OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW"):
        raise BulkDataPathError("not a bulk data element")
    return elem


def json_to_dataset(data: dict[str, Any]) -> Dataset:
    """Decode a DICOM JSON object (inline values only; BulkDataURIs are not fetched)."""
    return Dataset.from_json(data, bulk_data_uri_handler=lambda *_args: b"")
