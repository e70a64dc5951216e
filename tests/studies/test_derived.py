"""Derived data: metadata fragments written at ingest, series documents assembled from
them without re-reading objects, and absolute URLs put in only when serving (issue 15, 12.9b)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from hounsfield.db import transaction
from hounsfield.ingest.service import ingest as ingest_one
from hounsfield.storage import get_storage
from hounsfield.studies import derived, objects
from hounsfield.studies import refs as lookup
from hounsfield.studies.refs import InstanceRef
from hounsfield.studies.service import Transfer
from tests.dicom_factory import make_dataset, to_bytes

SAMPLES = [
    "CT_small.dcm",  # explicit little endian
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",  # encapsulated
    "SC_rgb_rle_2frame.dcm",
    "image_dfl.dcm",  # deflated
    "rtplan.dcm",  # no pixel data
]


def ingest(data: Any, held: Transfer) -> InstanceRef:
    """Store one instance with its series refresh held back: only ingest's work is done."""
    with held.active():
        result = ingest_one(data, origin="test")
    assert result.status == "stored"
    with transaction() as session:
        found = lookup.instances(
            session, result.study_instance_uid, sop_uid=result.sop_instance_uid
        )
    return found[0]


def fragment_path(ref: InstanceRef) -> Any:
    return derived._fragment_path(ref.sop_instance_uid, ref.sha256)


class OpenCount:
    """Counts storage opens by key (the storage's real open() underneath)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        storage = get_storage()
        original = storage.open
        self.keys: list[str] = []

        def counted(key: str) -> Any:
            self.keys.append(key)
            return original(key)

        monkeypatch.setattr(storage, "open", counted)


@pytest.mark.parametrize("name", SAMPLES)
def test_the_fragment_written_at_ingest_is_the_one_the_object_gives(name: str) -> None:
    path = get_testdata_file(name)
    assert path is not None
    ref = ingest(Path(path), Transfer())
    written = fragment_path(ref)
    assert written.exists()  # before any refresh ran
    at_ingest = json.loads(written.read_bytes())
    written.unlink()
    from_object = json.loads(derived.instance_metadata(ref))  # built from the stored object
    assert at_ingest == from_object


def test_a_series_document_is_assembled_without_reading_its_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = make_dataset()
    same = {
        "StudyInstanceUID": first.StudyInstanceUID,
        "SeriesInstanceUID": first.SeriesInstanceUID,
    }
    held = Transfer()  # never ended: the refresh is run by hand below
    refs = [ingest(to_bytes(first), held)]
    refs += [ingest(to_bytes(make_dataset(**same, InstanceNumber=n)), held) for n in range(2, 6)]
    opens = OpenCount(monkeypatch)
    derived.build_series_derived(first.SeriesInstanceUID)
    with transaction() as session:
        series = lookup.series_by_uid(session, first.SeriesInstanceUID)
    assert series is not None
    body = json.loads(gzip.decompress(derived.series_document(series).read_bytes()))
    assert [item["00080018"]["Value"][0] for item in body] == [r.sop_instance_uid for r in refs]
    # only the thumbnail's instance (the middle one) was opened: its frame is rendered
    assert set(opens.keys) == {derived.middle(refs).storage_key}


def test_cached_metadata_is_base_free_and_served_absolute() -> None:
    ref = ingest(to_bytes(make_dataset()), Transfer())
    cached = derived.instance_metadata(ref)
    assert b"http" not in cached
    served = json.loads(derived.with_base(cached, "https://pacs.example/dicom-web/"))
    url = (
        f"https://pacs.example/dicom-web/studies/{ref.study_instance_uid}"
        f"/series/{ref.series_instance_uid}/instances/{ref.sop_instance_uid}"
    )
    assert served["00081190"]["Value"] == [url]
    assert served["7FE00010"]["BulkDataURI"] == url + "/bulkdata/7FE00010"
    with transaction() as session:
        series = lookup.series_by_uid(session, ref.series_instance_uid)
    assert series is not None
    document = json.loads(gzip.decompress(derived.series_metadata(series, "http://a/dicom-web")))
    assert document[0]["7FE00010"]["BulkDataURI"].startswith("http://a/dicom-web/studies/")


def test_a_corrupt_object_gets_no_fragment_from_storage(data_dir: Any) -> None:
    ref = ingest(to_bytes(make_dataset()), Transfer())
    fragment_path(ref).unlink()
    stored = get_storage()
    with stored.open(ref.storage_key) as fp:
        good = fp.read()
    local = data_dir / "storage" / ref.storage_key
    assert local.exists()
    local.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(objects.CorruptObject):
        derived.instance_metadata(ref)
