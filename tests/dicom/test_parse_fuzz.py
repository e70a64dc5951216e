"""Mutated DICOM files: the parser refuses them with InvalidInstance, never anything else.

A small, bounded property test in the spirit of SECURITY.md I1 (the atheris run is the
long version): truncations, byte flips and insertions of valid files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from hounsfield.dicom.parse import InvalidInstance, ParseLimits, parse_instance
from tests.dicom_factory import make_dataset, to_bytes

pytestmark = pytest.mark.nodb

SEEDS = [
    to_bytes(make_dataset(Rows=8, Columns=8, PatientName="Zhang^Wei=张^伟")),
    Path(get_testdata_file("CT_small.dcm")).read_bytes(),
    Path(get_testdata_file("JPEG2000.dcm")).read_bytes()[:6000],
    Path(get_testdata_file("image_dfl.dcm")).read_bytes(),
]
LENGTHS = [b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x00"]
LIMITS = ParseLimits(max_pixel_bytes=64 * 1024**2, max_inflated_bytes=32 * 1024**2)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "length"]))
        pos = draw(st.integers(0, len(data) - 1)) if data else 0
        if kind == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "length" and len(data) > pos + 4:
            data[pos : pos + 4] = draw(st.sampled_from(LENGTHS))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_mutated_files_never_crash_the_parser(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.dcm"
        path.write_bytes(data)
        reason = None
        try:
            parsed = parse_instance(path, LIMITS)
        except InvalidInstance as exc:
            reason = exc.reason
        if reason is None:
            assert parsed.sop_instance_uid
        else:
            assert reason
