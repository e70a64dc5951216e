"""Orders fixtures: patient records and orders built directly (make_x(**overrides))."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.dimse.conftest import listener, register, storescp  # noqa: F401  (fixtures)

SCHEDULED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Beijing


@pytest.fixture
def make_record() -> Callable[..., Any]:
    """make_record(mrn=..., name_ideographic=..., ...) → a patient record (id, mrn)."""
    from hounsfield.db import transaction
    from hounsfield.patients.models import PatientRecord

    def make(**fields: Any) -> Any:
        values = {"mrn": "MRN001", "name_ideographic": "张^三丰",
                  "name_alphabetic": "Zhang^Sanfeng", "sex": "M", **fields}  # fmt: skip
        with transaction(write=True) as session:
            record = PatientRecord(**values)
            session.add(record)
            session.flush()
            return record

    return make


@pytest.fixture
def make_order() -> Callable[..., Any]:
    """make_order(patient_id, **overrides) → an Order scheduled through the service."""
    from hounsfield.db import transaction
    from hounsfield.orders import service
    from hounsfield.orders.schemas import OrderCreate

    def make(patient_id: int, **overrides: Any) -> Any:
        data = {"patient_id": patient_id, "procedure": "CT 胸部平扫", "modality": "CT",
                "body_part": "CHEST", "scheduled_at": SCHEDULED, "station_ae": "CT1",
                **overrides}  # fmt: skip
        with transaction(write=True) as session:
            return service.create_order(session, None, OrderCreate.model_validate(data))

    return make
