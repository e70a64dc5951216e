"""The production topology, run for real (issue 11 §4): nginx (the shipped
deploy/nginx/hounsfield.conf: TLS, HTTP/2, 4 GB bodies, unbuffered streaming, HSTS) in
front of two `hounsfield serve` processes; a `hounsfield worker` per queue (default, ai)
and `hounsfield beat` on Redis; MariaDB; the S3-protocol server (tests/s3_server.py) as
the object storage; `hounsfield dicom --processes 2`.

STOW-RS through nginx and C-STORE (dcmtk's storescu) to the listener; QIDO-RS and WADO-RS
through nginx give the same bytes back. A worker killed in the middle of a task (it is
waiting on the object storage: its S3 traffic goes through a gate the test holds shut, so
"in progress" is an observed event, not a guess) is restarted and the task completes.
One API process killed: nginx keeps answering from the other.

MariaDB only: the processes share the pass's database (a file database would only test
SQLite's locking), and it runs in exactly one pass (the PostgreSQL pass skips it). Every
process is started in a session of its own and killed, with its children, at the end.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pydicom
import pytest
import redis
import requests
import urllib3
from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.studies import derived
from hounsfield.worker import OutboxEntry, pending_count
from tests.conftest import TEST_PASSWORD, redis_url
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body
from tests.live_server import free_port
from tests.s3_server import moto_server
from tests.security.test_tls_nginx import _local_config

pytestmark = [pytest.mark.server_db, pytest.mark.redis, pytest.mark.slow]

REDIS_URL = redis_url(12)
REPO = Path(__file__).resolve().parents[1]
WAIT_S = 120  # every wait is on an event; the bound only turns a hang into a failure


@pytest.fixture(autouse=True)
def _mariadb_only(database: str) -> None:
    if not database.startswith("mysql"):
        pytest.skip("the topology runs once, in the MariaDB pass")


def wait_until(what: str, condition: Callable[[], bool], seconds: float = WAIT_S) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    if not condition():
        raise AssertionError(f"timed out waiting for: {what}")


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


class Gate:
    """A TCP relay to the S3 server that holds every new connection while shut; `held` is
    set when one waits. The workers reach the storage through it, the rest directly."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.opened = threading.Event()
        self.held = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        if not self.opened.is_set():
            self.held.set()
            self.opened.wait()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            client.close()
            return

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def close(self) -> None:
        self.opened.set()
        self.server.close()


class Topology:
    """The processes; each in a session of its own so that it dies with its children."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory, self.env = directory, env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "hounsfield.cli", *args],
            env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")

    def wait_log(self, name: str, needle: str) -> None:
        process = self.processes[name]

        def seen() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited: {self.log(name)[-3000:]}")
            return needle in self.log(name)

        wait_until(f"{needle!r} in {name}'s log", seen)

    def wait_port(self, name: str, port: int) -> None:
        process = self.processes[name]

        def listening() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited: {self.log(name)[-3000:]}")
            return port_open(port)

        wait_until(f"{name} on port {port}", listening)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            self.kill(name)  # and whatever of its children is left


def _nginx_config(directory: Path, tls_port: int, api_ports: list[int]) -> Path:
    """The shipped site (tests/security/test_tls_nginx.py's local rendering) with the two
    API processes as its upstream."""
    main = _local_config(directory, tls_port, api_ports[0])
    site = directory / "site.conf"
    text = site.read_text()
    one = f"server 127.0.0.1:{api_ports[0]};"
    assert one in text
    site.write_text(text.replace(one, " ".join(f"server 127.0.0.1:{p};" for p in api_ports)))
    return main


@pytest.fixture
def topology(tmp_path: Path, data_dir: Path, database: str) -> Iterator[dict[str, Any]]:
    redis.Redis.from_url(REDIS_URL).flushdb()  # CI starts Redis; its absence is a failure
    bucket = f"hf-topology-{uuid.uuid4().hex[:8]}"
    with moto_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test",
                     ).create_bucket(Bucket=bucket)  # fmt: skip
        gate = Gate(int(endpoint.rsplit(":", 1)[1]))
        api_ports, tls_port, dicom_port = [free_port(), free_port()], free_port(), free_port()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "HOUNSFIELD_DATABASE_URL": database,
            "HOUNSFIELD_DATA_DIR": str(data_dir),
            "HOUNSFIELD_REDIS_URL": REDIS_URL,
            "HOUNSFIELD_LOG_LEVEL": "INFO",
            "HOUNSFIELD_STORAGE__BACKEND": "s3",
            "HOUNSFIELD_STORAGE__S3_ENDPOINT_URL": endpoint,
            "HOUNSFIELD_STORAGE__S3_BUCKET": bucket,
            "HOUNSFIELD_STORAGE__S3_ACCESS_KEY_ID": "test",
            "HOUNSFIELD_STORAGE__S3_SECRET_ACCESS_KEY": "test",
            "HOUNSFIELD_STORAGE__S3_MAX_ATTEMPTS": "2",
            "HOUNSFIELD_DICOM__ENABLED": "false",  # the listener runs on its own
            # a killed worker's task: its claim abandoned, its outbox entry re-sent, soon
            "HOUNSFIELD_WORKER__CLAIM_TIMEOUT_S": "3",
            "HOUNSFIELD_WORKER__VISIBILITY_TIMEOUT_S": "6",
            "HOUNSFIELD_WORKER__REQUEUE_INTERVAL_S": "1",
        }
        procs = Topology(tmp_path, env)
        nginx: subprocess.Popen[bytes] | None = None
        try:
            worker_env = {"HOUNSFIELD_STORAGE__S3_ENDPOINT_URL": f"http://127.0.0.1:{gate.port}"}
            procs.start("worker-default", "worker", "--queues", "default", "--concurrency",
                        "1", **worker_env)  # fmt: skip
            procs.start("worker-ai", "worker", "--queues", "ai", "--concurrency", "1",
                        **worker_env)  # fmt: skip
            procs.start("beat", "beat")
            for n, port in enumerate(api_ports):
                procs.start(f"api-{n}", "serve", "--workers", "1", "--host", "127.0.0.1",
                            "--port", str(port))  # fmt: skip
            procs.start("dicom", "dicom", "--processes", "2",
                        HOUNSFIELD_DICOM__ENABLED="true",
                        HOUNSFIELD_DICOM__PORT=str(dicom_port))  # fmt: skip
            config = _nginx_config(tmp_path, tls_port, api_ports)
            subprocess.run(["nginx", "-t", "-c", str(config), "-p", str(tmp_path)],
                           check=True, capture_output=True)  # fmt: skip
            nginx = subprocess.Popen(["nginx", "-c", str(config), "-p", str(tmp_path)],
                                     start_new_session=True)  # fmt: skip
            for n, port in enumerate(api_ports):
                procs.wait_port(f"api-{n}", port)
            procs.wait_port("dicom", dicom_port)
            wait_until("nginx", lambda: port_open(tls_port))
            for name in ("worker-default", "worker-ai"):
                procs.wait_log(name, " ready.")
            procs.wait_log("beat", "beat: Starting")
            yield {"procs": procs, "gate": gate, "tls": tls_port, "dicom": dicom_port,
                   "api": api_ports, "worker_env": worker_env}  # fmt: skip
        finally:
            gate.close()
            procs.stop_all()
            if nginx is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(nginx.pid, signal.SIGTERM)
                nginx.wait(timeout=30)


def claimed() -> int:
    """Outbox entries a worker has taken and not finished (tasks in progress)."""
    with transaction() as session:
        return len(session.scalars(select(OutboxEntry.id).where(
            OutboxEntry.claimed_at.is_not(None))).all())  # fmt: skip


def _thumbnail(data_dir: Path, sop: str, sha256: str) -> Path:
    return derived._fanned(data_dir / "cache" / "thumbnails", derived._digest(sop, sha256),
                           "-128.jpg")  # fmt: skip


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_the_production_topology(
    topology: dict[str, Any], make_user: Callable[..., Any], data_dir: Path, tmp_path: Path
) -> None:
    import hashlib

    urllib3.disable_warnings()
    procs: Topology = topology["procs"]
    gate: Gate = topology["gate"]
    base = f"https://127.0.0.1:{topology['tls']}"
    http = requests.Session()
    http.verify = False  # the test's own self-signed certificate
    http.trust_env = False  # nor a CA bundle from the environment instead

    # The edge: HTTP/2 over TLS, HSTS and the API's headers, a body over 4 GB refused by nginx.
    version = subprocess.run(
        ["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version}",
         f"{base}/healthz"], capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert version == "2"
    health = http.get(f"{base}/healthz", timeout=60)
    assert health.status_code == 200
    assert "max-age=63072000" in health.headers["Strict-Transport-Security"]
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    too_big = http.post(f"{base}/dicom-web/studies", data=b"",
                        headers={"Content-Length": str(5 * 1024**3)}, timeout=60)  # fmt: skip
    assert too_big.status_code == 413

    user = make_user("technician")
    token = requests.post(
        f"{base}/api/auth/login",
        verify=False,
        timeout=60,
        json={"username": user.username, "password": TEST_PASSWORD},
    )
    assert token.status_code == 200, token.text
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}

    # STOW-RS through nginx; the default worker then takes the series' derived work and
    # waits on the object storage (the gate is shut): a task in progress.
    stowed = make_dataset(PatientID="TOPO-1", PatientName="TOPO^STOW")
    stowed_bytes = to_bytes(stowed)
    body, content_type = multipart_body([stowed_bytes])
    response = http.post(f"{base}/dicom-web/studies", data=body, timeout=120,
                         headers={**auth, "Content-Type": content_type,
                                  "Accept": "application/dicom+json"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert gate.held.wait(WAIT_S), "no worker reached the object storage"
    assert claimed() >= 1  # a worker took an outbox entry and has not finished it

    # C-STORE with dcmtk to the listener (two processes on one port) meanwhile.
    sent = make_dataset(PatientID="TOPO-2", PatientName="TOPO^CSTORE", seed=7)
    sent_file = tmp_path / "sent.dcm"
    sent_file.write_bytes(to_bytes(sent))
    store = subprocess.run(
        ["storescu", "-aet", "TOPOSCU", "-aec", "HOUNSFIELD", "127.0.0.1",
         str(topology["dicom"]), str(sent_file)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert store.returncode == 0, store.stdout + store.stderr

    # Kill the worker mid-task, open the gate, start it again: the task completes.
    procs.kill("worker-default")
    gate.opened.set()
    procs.start("worker-default", "worker", "--queues", "default", "--concurrency", "1",
                **topology["worker_env"])  # fmt: skip
    procs.wait_log("worker-default", " ready.")
    sha = hashlib.sha256(stowed_bytes).hexdigest()
    thumb = _thumbnail(data_dir, str(stowed.SOPInstanceUID), sha)
    wait_until("the killed worker's task done after the restart",
               lambda: pending_count() == 0 and thumb.exists())  # fmt: skip

    # QIDO-RS and WADO-RS through nginx: both studies, the same bytes back.
    def retrieved(ds: Any) -> bytes:
        found = http.get(
            f"{base}/dicom-web/studies",
            params={"PatientID": ds.PatientID},
            headers={**auth, "Accept": "application/dicom+json"},
            timeout=60,
        )
        assert found.status_code == 200, found.text
        assert [s["0020000D"]["Value"][0] for s in found.json()] == [ds.StudyInstanceUID]
        url = (f"{base}/dicom-web/studies/{ds.StudyInstanceUID}/series/"
               f"{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}")  # fmt: skip
        got = http.get(url, headers={**auth, "Accept": "application/dicom"}, timeout=60)
        assert got.status_code == 200
        return bytes(got.content)

    assert retrieved(stowed) == stowed_bytes  # STOW-RS keeps the bytes as sent
    back = pydicom.dcmread(io.BytesIO(retrieved(sent)))  # C-STORE: the dataset as sent
    assert back.SOPInstanceUID == sent.SOPInstanceUID
    assert back.PixelData == sent.PixelData
    assert str(back.PatientName) == "TOPO^CSTORE"

    # One API process killed: nginx serves every request from the other.
    procs.kill("api-0")
    statuses = [http.get(f"{base}/dicom-web/studies", params={"PatientID": "TOPO-1"},
                         headers={**auth, "Accept": "application/dicom+json"},
                         timeout=60).status_code for _ in range(10)]  # fmt: skip
    assert statuses == [200] * 10
    assert procs.processes["api-1"].poll() is None
    assert procs.processes["beat"].poll() is None
    assert procs.processes["worker-ai"].poll() is None
