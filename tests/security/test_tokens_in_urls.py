"""Tokens never travel in URLs (SECURITY A8), proven without a browser: the server takes a
token only from the Authorization header, and in the web workstation's sources the session
token is read only by the request builder, which puts it in that header."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

WEB = Path(__file__).parents[2] / "web"
SOURCES = [
    p
    for folder in ("app", "components", "lib")
    for p in (WEB / folder).rglob("*")
    if p.suffix in (".ts", ".tsx", ".js", ".mjs")
    and ".test." not in p.name
    and p.name != "schema.d.ts"  # generated API types: words, no code
]
# The only modules that may touch the access token: the session store and the client.
TOKEN_READERS = {WEB / "lib/auth/store.ts", WEB / "lib/api/client.ts"}
IN_URL = re.compile(
    r"[?&](access_?token|token|jwt|bearer|authorization)=|"
    r"searchParams\.(set|append)\(\s*['\"](access_?token|token|jwt|authorization)['\"]",
    re.IGNORECASE,
)


@pytest.mark.parametrize("name", ["access_token", "token", "authorization", "jwt"])
def test_a_token_in_the_query_string_is_not_accepted(
    client: TestClient, auth_headers: Callable[..., dict[str, str]], name: str
) -> None:
    token = auth_headers("admin")["Authorization"].removeprefix("Bearer ")
    for path in ("/api/auth/me", "/dicom-web/studies"):
        response = client.get(path, params={name: token})
        assert response.status_code == 401, (name, path)


@pytest.mark.nodb
def test_only_the_request_builder_reads_the_token() -> None:
    assert len(SOURCES) > 20
    readers = {p for p in SOURCES if "accessToken" in p.read_text(encoding="utf-8")}
    assert readers == TOKEN_READERS, sorted(str(p.relative_to(WEB)) for p in readers)
    client = (WEB / "lib/api/client.ts").read_text(encoding="utf-8")
    reads = re.findall(r"[^\n]*accessToken[^\n]*", client)
    assert reads
    assert all(r.strip() == "const token = useSession.getState().accessToken;" for r in reads)
    # ...and a token is only ever interpolated into the Authorization header.
    interpolations = re.findall(r"[^\n]*\$\{token\}[^\n]*", client)
    assert interpolations
    assert all("Authorization" in line and "Bearer ${token}" in line for line in interpolations)


@pytest.mark.nodb
def test_no_source_builds_a_url_with_a_token() -> None:
    offenders = [
        f"{p.relative_to(WEB)}: {m.group(0)}"
        for p in SOURCES
        for m in IN_URL.finditer(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
