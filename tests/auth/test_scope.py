"""Study scoping by group/department (SECURITY.md A6) and break-glass (A11).

Two tenants: cardiology and neurology. A user scoped to cardiology replays every GET
route with neurology's UIDs and searches at every level: nothing of neurology comes back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hounsfield.audit.models import AuditEvent
from hounsfield.auth.models import BreakGlass
from hounsfield.db import transaction, utcnow
from tests.conftest import TEST_PASSWORD, login
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body
from tests.dicomweb.test_dicomweb_client import live_server  # noqa: F401  (fixture)
from tests.test_route_protection import _api_routes

CANARY = "ZZNEURO"


@pytest.fixture
def tenants(client: TestClient, auth_headers: Callable[..., dict[str, str]]) -> dict[str, Any]:
    """One study per department, stored by an unscoped technician; the groups exist."""
    admin = auth_headers("admin")
    for name, department in (("cardio", "CARDIOLOGY"), ("neuro", "NEUROLOGY")):
        made = client.post("/api/groups", json={"name": name, "department": department},
                           headers=admin)  # fmt: skip
        assert made.status_code == 201, made.text
    studies = {}
    technician = auth_headers("technician")
    for key, department, patient in (("x", "CARDIOLOGY", "ZZCARDIO"), ("y", "NEUROLOGY", CANARY)):
        ds = make_dataset(
            InstitutionalDepartmentName=department, PatientID=f"{patient}-ID",
            PatientName=f"{patient}^Canary", AccessionNumber=f"{patient}ACC",
        )  # fmt: skip
        body, content_type = multipart_body([to_bytes(ds)])
        stored = client.post(
            "/dicom-web/studies", content=body,
            headers={**technician, "Content-Type": content_type},
        )  # fmt: skip
        assert stored.status_code == 200, stored.text
        studies[key] = ds
    return {"admin": admin, **studies}


def _scoped_doctor(client: TestClient, make_user: Any, group: str = "cardio") -> Any:
    user = make_user("doctor", groups=[group])
    return user, login(client, user.username)


def _get_routes(client: TestClient) -> list[str]:
    routes = _api_routes(client.app)
    return sorted({r.path for r in routes if "GET" in r.methods and "{study" in r.path})


def _fill(path: str, ds: Any) -> str:
    values = {"study": ds.StudyInstanceUID, "study_uid": ds.StudyInstanceUID,
              "series": ds.SeriesInstanceUID, "sop": ds.SOPInstanceUID, "frames": "1"}  # fmt: skip
    path = path.replace("{path:path}", "7FE00010")  # bulk data: the pixel data
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_a_scoped_user_reaches_nothing_of_another_department(
    client: TestClient, make_user: Any, tenants: dict[str, Any]
) -> None:
    x, y = tenants["x"], tenants["y"]
    _user, headers = _scoped_doctor(client, make_user)
    routes = _get_routes(client)
    assert len(routes) >= 15, routes  # WADO, metadata, rendered, thumbnails, export, REST
    for path in routes:
        mine = client.get(_fill(path, x), headers=headers)
        theirs = client.get(_fill(path, y), headers=headers)
        assert CANARY.encode() not in theirs.content, path
        if theirs.status_code in (200, 204):  # a QIDO search: it found nothing
            assert path.endswith(("/series", "/instances")), path
            assert theirs.status_code == 204 or theirs.json() == [], path
        else:
            assert theirs.status_code in (403, 404), (path, theirs.status_code)
        assert mine.status_code not in (403, 404) or "thumbnail" in path, (path, mine.status_code)
    wado = {"requestType": "WADO", "studyUID": y.StudyInstanceUID,
            "seriesUID": y.SeriesInstanceUID, "objectUID": y.SOPInstanceUID}  # fmt: skip
    for content_type in ("application/dicom", "image/jpeg"):
        refused = client.get("/dicom-web/wado", params={**wado, "contentType": content_type},
                             headers=headers)  # fmt: skip
        assert refused.status_code in (403, 404)

    searches = ["/dicom-web/studies", "/dicom-web/series", "/dicom-web/instances",
                f"/dicom-web/studies/{y.StudyInstanceUID}/series",
                f"/dicom-web/studies/{y.StudyInstanceUID}/instances",
                f"/dicom-web/studies/{y.StudyInstanceUID}/series/{y.SeriesInstanceUID}/instances",
                "/api/studies", f"/api/studies?q={CANARY}"]  # fmt: skip
    for url in searches:
        found = client.get(url, headers=headers)
        assert found.status_code in (200, 204), (url, found.status_code)
        assert CANARY.encode() not in found.content, url
    mine = client.get("/dicom-web/studies", headers=headers).json()
    assert [s["0020000D"]["Value"][0] for s in mine] == [x.StudyInstanceUID]
    patients = client.get("/api/studies", headers=headers).json()
    assert patients["total"] == 1


def test_an_unscoped_user_sees_both(
    client: TestClient, make_user: Any, tenants: dict[str, Any]
) -> None:
    headers = login(client, make_user("doctor").username)
    assert len(client.get("/dicom-web/studies", headers=headers).json()) == 2


def test_break_glass_needs_a_reason_is_time_boxed_and_a_security_alert(
    client: TestClient, make_user: Any, tenants: dict[str, Any]
) -> None:
    y = tenants["y"]
    user, headers = _scoped_doctor(client, make_user)
    url = f"/dicom-web/studies/{y.StudyInstanceUID}/metadata"
    before = client.get(url, headers=headers)
    assert before.status_code == 403
    assert before.json()["error"]["code"] == "out_of_scope"

    assert client.post("/api/auth/break-glass", json={}, headers=headers).status_code == 422
    short = client.post("/api/auth/break-glass", json={"reason": "now"}, headers=headers)
    assert short.status_code == 422
    reason = "Stroke alert in ED, prior neuro imaging needed"
    claimed = client.post("/api/auth/break-glass", json={"reason": reason, "minutes": 30},
                          headers=headers)  # fmt: skip
    assert claimed.status_code == 201
    assert client.get(url, headers=headers).status_code == 200
    with transaction() as session:
        alert = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.break_glass")
        ).one()
        session.execute(  # the clock moves past the box
            update(BreakGlass).where(BreakGlass.user_id == user.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )  # fmt: skip
    assert alert.event_code == "110113"
    assert reason in alert.detail
    expired = client.get(url, headers=headers)
    assert expired.status_code == 403
    assert expired.json()["error"]["code"] == "break_glass_expired"


@pytest.mark.slow
# What a real server adds is uvicorn's worker threads; the scope's SQL runs on every
# database in the tests above.
@pytest.mark.once
def test_the_scope_holds_under_a_real_server(
    live_server: str,  # noqa: F811
    client: TestClient,
    make_user: Any,
    tenants: dict[str, Any],
) -> None:
    """uvicorn runs sync endpoints in worker threads: the bound scope must reach them."""
    user = make_user("doctor", groups=["cardio"])
    token = requests.post(
        f"{live_server}/api/auth/login",
        json={"username": user.username, "password": TEST_PASSWORD}, timeout=10,
    ).json()["access_token"]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # several requests, on one keep-alive connection and new ones
        found = requests.get(f"{live_server}/dicom-web/studies", headers=headers, timeout=10)
        assert [s["0020000D"]["Value"][0] for s in found.json()] == [tenants["x"].StudyInstanceUID]
    y = tenants["y"]
    theirs = requests.get(
        f"{live_server}/dicom-web/studies/{y.StudyInstanceUID}/metadata", headers=headers,
        timeout=10,
    )  # fmt: skip
    assert theirs.status_code == 403
    other = make_user("doctor")
    token = requests.post(
        f"{live_server}/api/auth/login",
        json={"username": other.username, "password": TEST_PASSWORD}, timeout=10,
    ).json()["access_token"]  # fmt: skip
    everyone = requests.get(
        f"{live_server}/dicom-web/studies", headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )  # fmt: skip
    assert len(everyone.json()) == 2  # no scope left behind by the previous requests
