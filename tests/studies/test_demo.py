"""`hounsfield demo-studies`: real sample files and generated series, idempotent."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.storage import get_storage
from hounsfield.studies.demo import generated_dx, seed_demo_studies
from hounsfield.studies.models import Instance, Series, Study
from hounsfield.studies.queries import search


def test_demo_studies_are_stored_once() -> None:
    first = seed_demo_studies()
    assert first["stored"] >= 25
    assert first["refused"] == 0
    second = seed_demo_studies()
    assert second["stored"] == 0
    assert second["duplicate"] == first["stored"]
    with transaction() as session:
        rows, total = search(session, "STUDY", {"PatientName": "张^伟"})
        assert total == 1
        assert rows[0]["NumberOfStudyRelatedInstances"] == 20
        assert rows[0]["ModalitiesInStudy"] == ["CT"]
        modalities = {r["Modality"] for r in search(session, "SERIES", {})[0]}
        assert {"CT", "MR", "DX", "US", "NM"} <= modalities
        key = session.scalar(
            select(Instance.storage_key)
            .join(Series, Instance.series_pk == Series.id)
            .join(Study, Series.study_pk == Study.id)
            .where(Study.study_instance_uid == rows[0]["StudyInstanceUID"])
            .limit(1)
        )
    assert key is not None
    with get_storage().open(key) as fp:
        head = fp.read(4096)
    assert head[128:132] == b"DICM"
    assert b"GB18030" in head
    assert "张^伟".encode("gb18030") in head


@pytest.mark.nodb
def test_demo_chest_xray_is_monochrome2_and_valid(tmp_path: Path) -> None:
    """Its values rise with attenuation, so MONOCHROME2: lungs dark, mediastinum bright."""
    data = generated_dx()
    ds = dcmread(io.BytesIO(data))
    assert ds.PhotometricInterpretation == "MONOCHROME2"
    assert ds.PresentationLUTShape == "IDENTITY"
    pixels = ds.pixel_array
    lung, mediastinum, air = pixels[300, 256 - 95], pixels[300, 256], pixels[5, 5]
    assert air < lung < mediastinum
    path = tmp_path / "dx.dcm"
    path.write_bytes(data)
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    errors = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]
    assert errors == []
