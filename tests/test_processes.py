"""Several embedded processes (`hounsfield serve --workers 2`): what each must share.

A real server of two API processes on the test database: a logout in one process revokes
the token in the other, a deactivation is seen at once by the other's user cache, and both
processes listen on the DICOM port. Then the pieces on their own: the shared key-value file,
the outbox claim, the leader lock.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import TEST_PASSWORD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A running `hounsfield serve --workers 2` and the pids of its API processes."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, dicom_port: int) -> None:
        self.process, self.port, self.dicom_port = process, port, dicom_port

    def workers(self) -> list[psutil.Process]:
        children = psutil.Process(self.process.pid).children()
        return [c for c in children if self._listens(c, self.port)]

    @staticmethod
    def _listens(process: psutil.Process, port: int) -> bool:
        try:
            connections = process.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            return False
        return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)

    def connection_to(self, pid: int, tries: int = 400) -> http.client.HTTPConnection:
        """A keep-alive connection that the process `pid` accepted (bounded attempts)."""
        for _ in range(tries):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            if self.owner(conn) == pid:
                return conn
            conn.close()
        raise AssertionError(f"no connection reached process {pid} in {tries} tries")

    def owner(self, conn: http.client.HTTPConnection) -> int | None:
        assert conn.sock is not None
        client_port = conn.sock.getsockname()[1]
        for worker in self.workers():
            for c in worker.net_connections(kind="tcp"):
                if c.raddr and c.raddr.port == client_port and c.laddr.port == self.port:
                    return int(worker.pid)
        return None


@pytest.fixture(scope="module")
def server(database: str, data_dir: Path) -> Iterator[Server]:
    port, dicom_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "HOUNSFIELD_LOG_LEVEL": "WARNING",
        "HOUNSFIELD_DICOM__ENABLED": "true",
        "HOUNSFIELD_DICOM__PORT": str(dicom_port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hounsfield.cli", "serve", "--workers", "2",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env,
    )  # fmt: skip
    running = Server(process, port, dicom_port)
    try:
        for _ in range(600):  # until both processes listen (bounded), not a timed assertion
            if process.poll() is not None:
                raise RuntimeError("hounsfield serve exited")
            if len(running.workers()) == 2:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the two API processes did not start")
        yield running
    finally:
        process.terminate()
        process.wait(timeout=60)


def _call(
    conn: http.client.HTTPConnection, method: str, path: str, token: str, body: object = None
) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def _login(conn: http.client.HTTPConnection, username: str) -> str:
    body = json.dumps({"username": username, "password": TEST_PASSWORD})
    conn.request("POST", "/api/auth/login", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    assert response.status == 200, payload
    return str(json.loads(payload)["access_token"])


def test_logout_in_one_process_revokes_the_token_in_the_other(
    server: Server, make_user: Callable[..., Any]
) -> None:
    user = make_user("doctor")
    first, second = server.workers()
    conn_a, conn_b = server.connection_to(first.pid), server.connection_to(second.pid)
    token = _login(conn_a, user.username)
    assert _call(conn_b, "GET", "/api/auth/me", token) == 200  # the other process knows it
    assert _call(conn_a, "POST", "/api/auth/logout", token) == 204
    assert server.owner(conn_a) == first.pid
    assert server.owner(conn_b) == second.pid
    assert _call(conn_b, "GET", "/api/auth/me", token) == 401
    assert _call(conn_a, "GET", "/api/auth/me", token) == 401


def test_deactivation_in_one_process_is_seen_at_once_by_the_other(
    server: Server, make_user: Callable[..., Any]
) -> None:
    admin, doctor = make_user("admin"), make_user("doctor")
    first, second = server.workers()
    conn_a, conn_b = server.connection_to(first.pid), server.connection_to(second.pid)
    admin_token, doctor_token = _login(conn_a, admin.username), _login(conn_b, doctor.username)
    assert _call(conn_b, "GET", "/api/auth/me", doctor_token) == 200  # cached in process B
    path = f"/api/users/{doctor.id}"
    assert _call(conn_a, "PATCH", path, admin_token, {"active": False}) == 200
    assert server.owner(conn_b) == second.pid
    assert _call(conn_b, "GET", "/api/auth/me", doctor_token) == 401  # not 5 s later


def test_every_process_listens_on_the_dicom_port(server: Server) -> None:
    for worker in server.workers():
        for _ in range(600):  # the listener starts in the lifespan, after the HTTP socket
            if Server._listens(worker, server.dicom_port):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"process {worker.pid} has no DICOM listener")


def _sample(conn: http.client.HTTPConnection, name: str, **labels: str) -> float:
    """One sample of the /metrics answer of the process `conn` reaches (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    conn.request("GET", "/metrics")
    response = conn.getresponse()
    text = response.read().decode()
    assert response.status == 200
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_metrics_are_summed_over_the_processes(server: Server) -> None:
    """/metrics answers the same counts from either process: requests served by one are
    counted in the other's answer, and so is a DICOM association, whichever took it."""
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    from hounsfield.config import get_settings

    first, second = server.workers()
    conn_a, conn_b = server.connection_to(first.pid), server.connection_to(second.pid)
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    before = _sample(conn_b, "hounsfield_http_requests_total", **healthz)
    for _ in range(5):
        conn_a.request("GET", "/healthz")
        conn_a.getresponse().read()
    assert server.owner(conn_a) == first.pid
    assert _sample(conn_b, "hounsfield_http_requests_total", **healthz) == before + 5
    assert server.owner(conn_b) == second.pid

    accepted = {"outcome": "accepted"}
    associations = _sample(conn_a, "hounsfield_dicom_associations_total", **accepted)
    ae = AE(ae_title="METRICS")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", server.dicom_port, ae_title=get_settings().dicom.ae_title)
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assoc.release()
    for conn in (conn_a, conn_b):
        found = _sample(conn, "hounsfield_dicom_associations_total", **accepted)
        assert found == associations + 1
    assert _sample(conn_a, "hounsfield_db_connections_open") >= 1


# --- the pieces ---------------------------------------------------------------------------


def _count_up(path: str, times: int) -> None:
    from hounsfield.kv import FileStore

    store = FileStore(Path(path))
    for _ in range(times):
        store.incr("login:ip:10.0.0.1", 60)


def test_file_store_counts_across_processes(tmp_path: Path) -> None:
    from hounsfield.kv import FileStore

    path = tmp_path / "kv.sqlite3"
    fork = multiprocessing.get_context("fork")
    workers = [fork.Process(target=_count_up, args=(str(path), 50)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    store = FileStore(path)
    assert store.get("login:ip:10.0.0.1") == "100"
    assert 0 < store.ttl("login:ip:10.0.0.1") <= 60


def test_file_store_expires_and_deletes(tmp_path: Path) -> None:
    from hounsfield.kv import FileStore

    store = FileStore(tmp_path / "kv.sqlite3")
    store.set("revoked:a", "1", 3600)
    store.set("revoked:b", "1", 0)  # expired at once
    assert store.get("revoked:a") == "1"
    assert store.get("revoked:b") is None
    assert store.incr("revoked:b", 60) == 1  # an expired counter starts again
    store.delete("revoked:a", "revoked:b")
    assert store.get("revoked:a") is None
    assert store.ttl("revoked:b") == 0


def test_several_workers_share_a_file_store(settings_env: Callable[..., None]) -> None:
    from hounsfield.kv import FileStore, MemoryStore, get_store

    assert isinstance(get_store(), MemoryStore)  # one process: memory
    settings_env(HOUNSFIELD_API_WORKERS="2")
    assert isinstance(get_store(), FileStore)


def test_an_outbox_entry_is_claimed_once() -> None:
    import hounsfield.app  # noqa: F401  - registers the tasks, as in a server
    from hounsfield.db import transaction
    from hounsfield.ingest import tasks as ingest_tasks
    from hounsfield.worker import OutboxEntry, _claim, run_entry

    with transaction(write=True) as session:
        entry = OutboxEntry(task_name=ingest_tasks.purge_stale_uploads.name, kwargs="{}")
        session.add(entry)
    assert _claim(entry.id) is not None
    assert _claim(entry.id) is None  # a second dispatch (another process) does not run it
    assert run_entry(str(entry.id)) is True  # nor does a requeue: it is running elsewhere
    with transaction() as session:
        row = session.get(OutboxEntry, entry.id)
        assert row is not None
        assert row.attempts == 0


def _try_to_lead(answer: Any) -> None:
    from hounsfield import processes

    processes._fd = None  # a forked child shares the parent's lock: it must take its own
    answer.put(processes.leads())


def test_one_process_leads(tmp_path: Path, settings_env: Callable[..., None]) -> None:
    from hounsfield import processes

    processes.resign()  # whatever this test process held, for another data directory
    settings_env(HOUNSFIELD_DATA_DIR=str(tmp_path))
    fork = multiprocessing.get_context("fork")

    def other_leads() -> bool:
        answer = fork.Queue()
        child = fork.Process(target=_try_to_lead, args=(answer,))
        child.start()
        result = bool(answer.get(timeout=120))
        child.join(timeout=60)
        return result

    assert processes.leads() is True
    assert other_leads() is False
    processes.resign()
    assert other_leads() is True
    assert processes.leads() is True  # the child has exited, and its lock with it
    processes.resign()
