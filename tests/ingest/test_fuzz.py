"""Mutated files through the whole ingest: refused or stored, never a server error (I1)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hounsfield.db import transaction
from hounsfield.ingest.service import InstanceConflict, InvalidInstance, store_instance
from tests.dicom_factory import make_dataset, to_bytes

SEED = to_bytes(
    make_dataset(Rows=4, Columns=4, PatientName="Zhang^Wei=张^伟", StudyDescription="X" * 60)
)

SPECIAL = [0x00, 0xFF, 0x80, ord("\\"), ord("="), ord("^")]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(132, len(data) - 1))
        if draw(st.booleans()):
            data[pos] = draw(st.one_of(st.sampled_from(SPECIAL), st.integers(0, 255)))
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=mutated())
def test_mutated_files_are_stored_or_refused(data: bytes) -> None:
    try:
        with transaction(write=True) as session:
            result = store_instance(session, data, origin="fuzz")
    except (InvalidInstance, InstanceConflict):
        return
    assert result.status in ("stored", "duplicate")
