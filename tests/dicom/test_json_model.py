"""DICOM JSON model (PS3.18 Annex F): names, numbers, bulk data references."""

from __future__ import annotations

import warnings

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from hounsfield.dicom.json_model import (
    BulkDataPathError,
    dataset_to_json,
    element_at,
    json_to_dataset,
    pixel_data_json,
)

pytestmark = pytest.mark.nodb


def ct() -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]


def uri(path: object) -> str:
    return "/base/bulkdata/" + "/".join(path)  # type: ignore[arg-type]


def test_person_names_keep_their_chinese_group_and_round_trip() -> None:
    ds = ct()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Wang^XiaoDong=王^小东="
    out = dataset_to_json(ds, bulkdata_uri=uri)
    assert out["00100010"] == {
        "vr": "PN",
        "Value": [{"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小东"}],
    }
    assert out["00280010"] == {"vr": "US", "Value": [128]}
    assert json_to_dataset(out).PatientName == "Wang^XiaoDong=王^小东"


def test_large_binary_values_become_bulk_data_uris_naming_their_path() -> None:
    ds = ct()
    item = Dataset()
    item.add_new(0x00091010, "OB", b"\x01" * 4096)
    ds.add_new(0x00091001, "SQ", [item])
    ds.add_new(0x00091002, "OB", b"\x02" * 10)
    out = dataset_to_json(ds, bulkdata_uri=uri)
    assert out["7FE00010"] == {"vr": "OW", "BulkDataURI": "/base/bulkdata/7FE00010"}
    nested = out["00091001"]["Value"][0]["00091010"]
    assert nested == {"vr": "OB", "BulkDataURI": "/base/bulkdata/00091001/1/00091010"}
    assert out["00091002"]["InlineBinary"] == "AgICAgICAgICAg=="
    assert element_at(ds, ["00091001", "1", "00091010"]).value == b"\x01" * 4096
    assert element_at(ds, ["7FE00010"]).value == ds.PixelData
    for bad in (["00091001", "2", "00091010"], ["00100010"], ["zz"], []):
        with pytest.raises(BulkDataPathError):
            element_at(ds, bad)


def test_header_without_pixels_still_names_its_pixel_data() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = pydicom.dcmread(
            get_testdata_file("JPEG2000.dcm"),  # type: ignore[arg-type]
            stop_before_pixels=True,
        )
    pixel = pixel_data_json(header, "/u")
    assert pixel == {"vr": "OB", "BulkDataURI": "/u"}  # encapsulated: OB
    out = dataset_to_json(header, bulkdata_uri=uri, pixel_data=pixel)
    assert out["7FE00010"] == pixel
    assert not any(key.endswith("0000") for key in out)  # no group lengths


def test_attribute_json_encodes_index_values_as_pydicom_does() -> None:
    from hounsfield.dicom.json_model import attribute_json

    assert attribute_json(0x00100010, "PN", "Wang^Fang=王^芳") == {
        "vr": "PN",
        "Value": [{"Alphabetic": "Wang^Fang", "Ideographic": "王^芳"}],
    }
    assert attribute_json(0x00201208, "IS", "5") == {"vr": "IS", "Value": [5]}
    assert attribute_json(0x00280030, "DS", ["0.5", "0.5"]) == {"vr": "DS", "Value": [0.5, 0.5]}
    assert attribute_json(0x00100010, "PN", None) == {"vr": "PN"}
    assert attribute_json(0x00201208, "IS", "five") == {"vr": "IS"}  # invalid: left empty
