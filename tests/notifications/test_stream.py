"""GET /api/notifications/stream (server-sent events) against real uvicorn processes: in
process in embedded mode, and across two API processes through Redis pub/sub."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import TEST_PASSWORD, redis_url
from tests.dicom_factory import make_dataset, to_bytes
from tests.live_server import free_port, serve, stop
from tests.notifications.receivers import WAIT_S

REDIS_URL = redis_url(14)


@contextmanager
def _server(env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    process = serve(port, env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _token(base: str, username: str) -> dict[str, str]:
    response = httpx.post(f"{base}/api/auth/login",
                          json={"username": username, "password": TEST_PASSWORD})  # fmt: skip
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Stream:
    """Reads one SSE stream in a thread until its first `notification` event, then closes
    the connection; `next_event()` waits for the next event."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.headers: dict[str, str] = {}
        self._client = httpx.Client(timeout=httpx.Timeout(WAIT_S, read=None))
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                self.headers = dict(response.headers)
                name = ""
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        self.events.put((name, json.loads(line[6:])))
                        if name == "notification":
                            return
        except httpx.HTTPError:
            pass  # closed by the test

    def next_event(self) -> tuple[str, Any]:
        return self.events.get(timeout=WAIT_S)

    def close(self) -> None:
        self._thread.join(WAIT_S)
        self._client.close()


def _upload(base: str, headers: dict[str, str]) -> None:
    files = [("files", ("a.dcm", to_bytes(make_dataset()), "application/octet-stream"))]
    assert httpx.post(f"{base}/api/uploads", files=files, headers=headers).status_code == 200


def _follow(stream_base: str, upload_base: str, username: str) -> None:
    stream = Stream(f"{stream_base}/api/notifications/stream", _token(stream_base, username))
    try:
        assert stream.next_event() == ("unread", {"unread": 0})  # subscribed from here on
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["x-accel-buffering"] == "no"  # nginx must not buffer it
        _upload(upload_base, _token(upload_base, username))
        name, data = stream.next_event()
        while name == "unread":  # the count may be seen to change first
            assert data == {"unread": 1}
            name, data = stream.next_event()
        assert name == "notification"
        assert data["kind"] == "upload_finished"
        assert data["title"] == "上传完成：存储 1，重复 0，拒绝 0"
    finally:
        stream.close()


@pytest.mark.slow
def test_a_new_notification_is_pushed_to_the_open_stream(make_user: Callable[..., Any]) -> None:
    user = make_user("technician")
    with _server() as base:
        _follow(base, base, user.username)


@pytest.mark.slow
@pytest.mark.redis
def test_the_stream_gets_notifications_made_by_another_api_process(
    make_user: Callable[..., Any],
) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    user = make_user("technician")
    env = {"HOUNSFIELD_REDIS_URL": REDIS_URL}
    with _server(env) as first, _server(env) as second:
        _follow(first, second, user.username)


def test_the_stream_needs_a_token(client: Any) -> None:
    response = client.get("/api/notifications/stream")
    assert response.status_code == 401
