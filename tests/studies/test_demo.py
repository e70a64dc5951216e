"""`hounsfield demo-studies`: real sample files and generated series, idempotent."""

from __future__ import annotations

from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.storage import get_storage
from hounsfield.studies.demo import seed_demo_studies
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
