"""Upload ingest throughput, Hounsfield's POST /api/uploads side by side with Orthanc's
POST /instances (Debian's orthanc, default SQLite index), both on loopback.

    .venv/bin/python bench/upload_bench.py                 # 200 slices, 1 and 4 clients, 3 runs
    .venv/bin/python bench/upload_bench.py --slices 50 --runs 1   # quick

512×512 16-bit CT slices (~513 KB each). Hounsfield receives 25 files per multipart request
(as the browser's folder upload sends them); Orthanc one file per request (its REST API
takes one instance per POST). Clients are separate processes. Each run stores new
instances; both servers' own counts are checked afterwards. Hounsfield runs embedded
(SQLite, local storage, one uvicorn process, derived work in-process), as `make run` does.
Prints instances/s and MB/s, median (min–max) of the runs.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

PASSWORD = "Upload-Measure-4242"
BATCH = 25


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_slices(directory: Path, count: int) -> list[Path]:
    directory.mkdir(parents=True)
    study, series = generate_uid(), generate_uid()
    rng = np.random.default_rng(count)
    files = []
    for i in range(count):
        ds = Dataset()
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientName, ds.PatientID = "Bench^Upload", "BENCHUP"
        ds.StudyDate, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "20240101", "CT", 1, i
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = 512
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = rng.integers(0, 4000, 512 * 512).astype(np.uint16).tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        path = directory / f"{i:05d}.dcm"
        path.write_bytes(out.getvalue())
        files.append(path)
    return files


def hounsfield_client(base: str, auth: str, files: list[str]) -> int:
    stored = 0
    with httpx.Client(base_url=base, timeout=600) as client:
        for start in range(0, len(files), BATCH):
            chunk = files[start : start + BATCH]
            parts = [("files", (Path(f).name, Path(f).read_bytes(), "application/dicom"))
                     for f in chunk]  # fmt: skip
            response = client.post("/api/uploads", files=parts, headers={"Authorization": auth})
            response.raise_for_status()
            stored += response.json()["stored"]
    return stored


def orthanc_client(base: str, auth: str, files: list[str]) -> int:
    stored = 0
    with httpx.Client(base_url=base, timeout=600) as client:
        for name in files:
            response = client.post(
                "/instances", content=Path(name).read_bytes(),
                headers={"Authorization": auth, "Content-Type": "application/dicom"},
            )  # fmt: skip
            response.raise_for_status()
            stored += response.json().get("Status") == "Success"
    return stored


def upload(kind: str, base: str, auth: str, files: list[Path], clients: int) -> float:
    client = hounsfield_client if kind == "hounsfield" else orthanc_client
    shares = [[str(f) for f in files[i::clients]] for i in range(clients)]
    with ProcessPoolExecutor(clients) as pool:
        start = time.monotonic()
        stored = sum(pool.map(client, [base] * clients, [auth] * clients, shares))
        seconds = time.monotonic() - start
    if stored != len(files):
        raise RuntimeError(f"{kind}: stored {stored} of {len(files)}")
    return seconds


def wait_http(url: str, process: subprocess.Popen[bytes], auth: str | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode})")
        try:
            headers = {"Authorization": auth} if auth else {}
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start")


@contextmanager
def hounsfield(work: Path) -> Iterator[tuple[str, str, str]]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")},
        "HOUNSFIELD_DATA_DIR": str(work / "data"),
        "HOUNSFIELD_DICOM__ENABLED": "false",
        "HOUNSFIELD_LOG_LEVEL": "WARNING",
        "HOUNSFIELD_NEW_PASSWORD": PASSWORD,
    }
    exe = str(Path(sys.executable).parent / "hounsfield")
    subprocess.run([exe, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([exe, "user", "create", "--username", "bench", "--role", "technician"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    server = subprocess.Popen([exe, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", server)
        login = {"username": "bench", "password": PASSWORD}
        token = httpx.post(f"{base}/api/auth/login", json=login).json()["access_token"]
        yield base, f"Bearer {token}", "hounsfield"
    finally:
        server.terminate()
        server.wait(timeout=60)


@contextmanager
def orthanc(work: Path) -> Iterator[tuple[str, str, str]]:
    port = free_port()
    data = work / "orthanc"
    data.mkdir(parents=True)
    config = {
        "Name": "bench", "StorageDirectory": str(data / "storage"),
        "IndexDirectory": str(data / "index"), "DicomServerEnabled": False,
        "HttpPort": port, "RemoteAccessAllowed": False, "AuthenticationEnabled": True,
        "RegisteredUsers": {"bench": "bench"}, "StorageCompression": False,
        "HttpCompressionEnabled": False, "Plugins": [],
    }  # fmt: skip
    path = data / "orthanc.json"
    path.write_text(json.dumps(config))
    server = subprocess.Popen(["/usr/sbin/Orthanc", str(path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    auth = "Basic " + base64.b64encode(b"bench:bench").decode()
    try:
        wait_http(f"{base}/system", server, auth)
        yield base, auth, "orthanc"
    finally:
        server.terminate()
        server.wait(timeout=60)


def count(kind: str, base: str, auth: str) -> int:
    headers = {"Authorization": auth}
    if kind == "orthanc":
        return int(httpx.get(f"{base}/statistics", headers=headers).json()["CountInstances"])
    total = 0
    offset = 0
    while True:
        page = httpx.get(f"{base}/api/studies", params={"limit": 500, "offset": offset},
                         headers=headers).json()  # fmt: skip
        total += sum(item["number_of_instances"] for item in page["items"])
        offset += 500
        if offset >= page["total"]:
            return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="hf-upload-bench-") as tmp:
        root = Path(tmp)
        for name, server in (("Hounsfield", hounsfield), ("Orthanc (Debian)", orthanc)):
            work = root / name.split()[0].lower()
            with server(work) as (base, auth, kind):
                sent = 0
                for run in range(args.runs):
                    for clients in (1, 4):
                        files = make_slices(work / f"run{run}-{clients}", args.slices)
                        seconds = upload(kind, base, auth, files, clients)
                        sent += len(files)
                        megabytes = sum(f.stat().st_size for f in files) / 1e6
                        row = results.setdefault(f"{clients} client(s)", {})
                        row.setdefault(f"{name} inst/s", []).append(len(files) / seconds)
                        row.setdefault(f"{name} MB/s", []).append(megabytes / seconds)
                        shutil.rmtree(work / f"run{run}-{clients}")
                held = count(kind, base, auth)
                if held != sent:
                    raise RuntimeError(f"{name} holds {held} instances, {sent} were sent")
    print(f"{args.slices} slices of 512×512 CT per run, {args.runs} run(s); median (min–max)")
    for clients, row in results.items():
        cells = "  ".join(
            f"{key}: {statistics.median(v):.1f} ({min(v):.1f}–{max(v):.1f})"
            for key, v in row.items()
        )
        print(f"{clients:12s} {cells}")


if __name__ == "__main__":
    main()
