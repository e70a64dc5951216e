"""DICOMweb benchmark, Hounsfield side by side with Orthanc (Debian's orthanc +
orthanc-dicomweb): STOW-RS and WADO-RS throughput, QIDO-RS p50/p95 at 8 and 32 clients over
an index of 100,000+ instances, /metadata of a 1,000-instance series, /rendered p95.
Not part of `make test`; run as root (a loopback-only network namespace, BENCHMARKING.md):

    .venv/bin/python bench/dicomweb_bench.py            # or: make bench-dicomweb
    .venv/bin/python bench/dicomweb_bench.py --runs 1 --slices 50 --duration 3   # quick

HTTP load comes from wrk (one thread, `Accept-Encoding: identity`), STOW-RS from small Python
clients in separate processes (50 instances per request). Each server runs alone, inside the
namespace `hfbench_dicomweb`, with the clients. Counts are checked: STOW counts only the
instances the server referenced in its answer, then its own QIDO count.
Orthanc's index holds only the real objects sent to it (a few hundred instances); ours holds
those plus 100,000 index rows generated in SQL: that difference favours Orthanc on QIDO.
Figures are medians of `--runs` runs with min-max.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
NS = "hfbench_dicomweb"
HF_PORT, ORTHANC_PORT = 8000, 8042
PASSWORD = "Quartz-Heron-8812-Lamp"
PREFIX = "1.2.826.0.1.3680043.10.777"
LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.3f %.3f %d %d %d\\n", summary.requests,
    summary.bytes, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def netns(*args: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *args]


def ensure_namespace() -> None:
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if NS not in existing.split():
        subprocess.run(["ip", "netns", "add", NS], check=True)
    subprocess.run(netns("ip", "link", "set", "lo", "up"), check=True)


def dataset(study: str, series: str, number: int, size: int, rng: np.random.Generator) -> bytes:
    import io

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientName, ds.PatientID = "Bench^DICOMweb", "BENCHDW"
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20240101", "120000", "BENCHDW"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, number
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.ImagePositionPatient = [0, 0, float(number)]
    ds.PixelData = rng.integers(0, 4000, size * size).astype(np.uint16).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def make_series(directory: Path, count: int, size: int) -> tuple[str, str, list[Path]]:
    directory.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    rng = np.random.default_rng(len(str(directory)))
    files = []
    for i in range(count):
        path = directory / f"{i:05d}.dcm"
        path.write_bytes(dataset(study, series, i + 1, size, rng))
        files.append(path)
    return study, series, files


# -- clients ------------------------------------------------------------------------------


def stow_client(url: str, auth: str, files: list[str], batch: int) -> None:
    """(Runs inside the namespace.) STOW-RS `files` in requests of `batch`; print count."""
    import secrets

    import requests

    session = requests.Session()
    stored = 0
    for start in range(0, len(files), batch):
        boundary = secrets.token_hex(16)
        parts = []
        for name in files[start : start + batch]:
            parts.append(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
            parts.append(Path(name).read_bytes())
            parts.append(b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        response = session.post(
            f"{url}/studies",
            data=b"".join(parts),
            headers={
                "Authorization": auth,
                "Accept": "application/dicom+json",
                "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            },
            timeout=600,
        )
        if response.status_code not in (200, 202):
            raise RuntimeError(f"STOW-RS answered {response.status_code}")
        stored += len(response.json().get("00081199", {}).get("Value", []))
    print(stored)


def stow(url: str, auth: str, files: list[Path], clients: int, batch: int = 50) -> float:
    """Seconds to STOW every file with `clients` parallel clients (all must be stored)."""
    chunks = [files[i::clients] for i in range(clients)]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            netns(
                PYTHON,
                __file__,
                "--stow-client",
                url,
                "--auth",
                auth,
                "--batch",
                str(batch),
                *map(str, chunk),
            ),
            stdout=subprocess.PIPE,
            text=True,
        )
        for chunk in chunks
    ]
    outputs = [p.communicate()[0] for p in processes]
    elapsed = time.perf_counter() - started
    stored = sum(int(o.strip().splitlines()[-1]) for o in outputs)
    if stored != len(files):
        raise RuntimeError(f"STOW-RS stored {stored} of {len(files)}")
    return elapsed


def wrk(url: str, auth: str, accept: str, connections: int, duration: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    try:
        out = subprocess.run(
            netns("wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", script.name,
                  "-H", f"Authorization: {auth}", "-H", f"Accept: {accept}",
                  "-H", "Accept-Encoding: identity", url),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    requests_, bytes_, p50, p95, micros, status_errors, socket_errors = line.split()[1:]
    seconds = int(micros) / 1e6
    if int(status_errors):
        raise RuntimeError(f"wrk saw {status_errors} non-2xx answers on {url}")
    if int(socket_errors):
        print(f"    note: {socket_errors} socket errors (of {requests_} requests) on {url[:60]}…",
              flush=True)  # fmt: skip
    return {
        "rps": int(requests_) / seconds,
        "mbps": int(bytes_) / seconds / 1e6,
        "p50": float(p50),
        "p95": float(p95),
    }


def curl_json(url: str, auth: str) -> object:
    out = subprocess.run(
        netns("curl", "-sf", "-H", f"Authorization: {auth}", "-H",
              "Accept: application/dicom+json", url),
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out or "[]")


def count_instances(base: str, auth: str, study: str) -> int:
    rows = curl_json(f"{base}/studies?StudyInstanceUID={study}&includefield=00201208", auth)
    assert isinstance(rows, list)
    return int(rows[0]["00201208"]["Value"][0]) if rows else 0


def wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError("server exited")
        code = subprocess.run(netns("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url),
                              capture_output=True, text=True).stdout  # fmt: skip
        if code not in ("", "000"):
            return
        time.sleep(0.2)
    raise RuntimeError("server did not start")


# -- servers ------------------------------------------------------------------------------


def seed_index(data: Path, instances: int) -> str:
    """Insert `instances` index rows (10 per series, 2 series per study) straight in SQL."""
    code = f"""
import os, sys
from sqlalchemy import insert
from hounsfield.db import transaction
from hounsfield.migrate import upgrade
from hounsfield.studies.models import Instance, Patient, Series, Study
upgrade()
studies = max(1, {instances} // 20)
p = "{PREFIX}"
with transaction(write=True) as s:
    for start in range(0, studies, 2000):
        ids = range(start + 1, min(studies, start + 2000) + 1)
        s.execute(insert(Patient), [dict(id=i, patient_id=f"PID{{i:07d}}",
            patient_name=f"Name{{i}}^Test", name_alphabetic=f"name{{i}}^test",
            name_search=f" name{{i}} test", sex="O") for i in ids])
        s.execute(insert(Study), [dict(id=i, patient_pk=i, study_instance_uid=f"{{p}}.1.{{i}}",
            accession_number=f"A{{i}}", modalities_in_study="CT", number_of_series=2,
            number_of_instances=20) for i in ids])
        s.execute(insert(Series), [dict(id=2 * i - k, study_pk=i,
            series_instance_uid=f"{{p}}.2.{{i}}.{{k}}", modality="CT", series_number=k,
            number_of_instances=10) for i in ids for k in (0, 1)])
        s.execute(insert(Instance), [dict(series_pk=2 * i - k,
            sop_instance_uid=f"{{p}}.3.{{i}}.{{k}}.{{n}}", sop_class_uid="{CTImageStorage}",
            transfer_syntax_uid="1.2.840.10008.1.2.1", size=0, sha256="0" * 64,
            storage_key="00/00/" + "0" * 32) for i in ids for k in (0, 1) for n in range(10)])
print(f"PID{{studies // 2:07d}}")
"""
    env = hf_env(data)
    out = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


def hf_env(data: Path) -> dict[str, str]:
    env = {**os.environ, "HOUNSFIELD_DATA_DIR": str(data), "HOUNSFIELD_LOG_LEVEL": "WARNING",
           "HOUNSFIELD_DICOM__ENABLED": "false", "HOUNSFIELD_LOG_JSON": "true"}  # fmt: skip
    env.pop("HOUNSFIELD_DATABASE_URL", None)
    env.pop("HOUNSFIELD_REDIS_URL", None)
    return env


@contextmanager
def hounsfield(work: Path, index_rows: int, workers: int) -> Iterator[tuple[str, str, str]]:
    data = work / "hf"
    data.mkdir()
    patient = seed_index(data, index_rows)
    env = hf_env(data)
    subprocess.run([PYTHON, "-m", "hounsfield.cli", "user", "create", "--username", "bench",
                    "--role", "admin", "--password", PASSWORD], env=env, check=True,
                   capture_output=True)  # fmt: skip
    server = subprocess.Popen(
        netns(PYTHON, "-m", "hounsfield.cli", "serve", "--host", "127.0.0.1",
              "--port", str(HF_PORT), "--workers", str(workers)),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{HF_PORT}"
    try:
        wait_http(f"{base}/healthz", server)
        login = subprocess.run(
            netns("curl", "-sf", "-H", "Content-Type: application/json", "-d",
                  json.dumps({"username": "bench", "password": PASSWORD}),
                  f"{base}/api/auth/login"),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        token = json.loads(login)["access_token"]
        yield f"{base}/dicom-web", f"Bearer {token}", patient
    finally:
        server.terminate()
        server.wait(timeout=60)


@contextmanager
def orthanc(work: Path) -> Iterator[tuple[str, str, str]]:
    data = work / "orthanc"
    data.mkdir()
    config = {
        "Name": "bench", "StorageDirectory": str(data / "storage"),
        "IndexDirectory": str(data / "index"), "DicomAet": "ORTHANC", "DicomPort": 4242,
        "HttpPort": ORTHANC_PORT, "RemoteAccessAllowed": False, "AuthenticationEnabled": True,
        "RegisteredUsers": {"bench": "bench"},
        "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "StorageCompression": False, "HttpCompressionEnabled": False,
    }  # fmt: skip
    path = data / "orthanc.json"
    path.write_text(json.dumps(config))
    server = subprocess.Popen(
        netns("/usr/sbin/Orthanc", str(path)), env={**os.environ, "TCP_NODELAY": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{ORTHANC_PORT}"
    try:
        wait_http(f"{base}/system", server)
        auth = "Basic " + base64.b64encode(b"bench:bench").decode()
        yield f"{base}/dicom-web", auth, "BENCHDW"
    finally:
        server.terminate()
        server.wait(timeout=60)


# -- the benchmark ------------------------------------------------------------------------


def measure(
    name: str,
    server: object,
    args: argparse.Namespace,
    work: Path,
    results: dict[str, dict[str, list[float]]],
) -> None:
    ct_study, ct_series, ct_files = make_series(work / "ct", args.slices, 512)
    big_study, big_series, big_files = make_series(work / "meta", args.metadata_instances, 32)
    with server as (base, auth, patient):  # type: ignore[attr-defined]
        stow(base, auth, big_files, 2, batch=100)  # setup: the 1,000-instance series
        ct_instance = None
        for run in range(args.runs):
            for clients in (1, 4):
                _study, _series, files = make_series(work / f"stow-{run}-{clients}",
                                                     args.slices, 512)  # fmt: skip
                seconds = stow(base, auth, files, clients)
                megabytes = sum(f.stat().st_size for f in files) / 1e6
                record(results, name, f"STOW-RS, {clients} client(s): instances/s",
                       len(files) / seconds)  # fmt: skip
                record(results, name, f"STOW-RS, {clients} client(s): MB/s", megabytes / seconds)
                if count_instances(base, auth, _study) != len(files):
                    raise RuntimeError(f"{name}: QIDO count differs from STOW-RS")
            if run == 0:
                stow(base, auth, ct_files, 1)
                rows = curl_json(f"{base}/studies/{ct_study}/series/{ct_series}/instances", auth)
                assert isinstance(rows, list)
                ct_instance = rows[0]["00080018"]["Value"][0]
                meta = curl_json(f"{base}/studies/{big_study}/series/{big_series}/metadata", auth)
                assert isinstance(meta, list)
                assert len(meta) == args.metadata_instances
            d = args.duration
            qido = f"{base}/studies?PatientID={patient}"
            for clients in (8, 32):
                figure = wrk(qido, auth, "application/dicom+json", clients, d)
                record(results, name, f"QIDO-RS by PatientID, {clients} clients: p50 ms",
                       figure["p50"])  # fmt: skip
                record(results, name, f"QIDO-RS by PatientID, {clients} clients: p95 ms",
                       figure["p95"])  # fmt: skip
                record(results, name, f"QIDO-RS by PatientID, {clients} clients: req/s",
                       figure["rps"])  # fmt: skip
            series_url = f"{base}/studies/{ct_study}/series/{ct_series}"
            for clients in (1, 4):
                figure = wrk(series_url, auth, 'multipart/related; type="application/dicom"',
                             clients, d)  # fmt: skip
                record(results, name, f"WADO-RS series, {clients} client(s): MB/s",
                       figure["mbps"])  # fmt: skip
            meta_url = f"{base}/studies/{big_study}/series/{big_series}/metadata"
            for clients in (1, 4):
                figure = wrk(meta_url, auth, "application/dicom+json", clients, d)
                record(results, name, f"/metadata 1,000 instances, {clients} client(s): req/s",
                       figure["rps"])  # fmt: skip
                record(results, name, f"/metadata 1,000 instances, {clients} client(s): p95 ms",
                       figure["p95"])  # fmt: skip
            rendered = f"{series_url}/instances/{ct_instance}/rendered"
            for clients in (1, 4):
                figure = wrk(rendered, auth, "image/jpeg", clients, d)
                record(results, name, f"/rendered JPEG 512², {clients} client(s): req/s",
                       figure["rps"])  # fmt: skip
                record(results, name, f"/rendered JPEG 512², {clients} client(s): p95 ms",
                       figure["p95"])  # fmt: skip
            print(f"  {name}: run {run + 1} done", flush=True)


def record(results: dict[str, dict[str, list[float]]], server: str, key: str, value: float) -> None:
    results.setdefault(key, {}).setdefault(server, []).append(value)


def cell(values: list[float] | None) -> str:
    if not values:
        return "–"
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.1f}"
    return f"{median:.1f} ({min(values):.1f}–{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slices", type=int, default=100, help="512x512 CT slices per STOW run")
    parser.add_argument("--metadata-instances", type=int, default=1000)
    parser.add_argument("--index-rows", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--only", choices=["hounsfield", "orthanc"])
    parser.add_argument("--stow-client", help=argparse.SUPPRESS)
    parser.add_argument("--auth", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stow_client:
        stow_client(args.stow_client, args.auth, args.files, args.batch)
        return
    ensure_namespace()
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()}", flush=True)
    results: dict[str, dict[str, list[float]]] = {}
    names = []
    with tempfile.TemporaryDirectory(prefix="dicomweb-bench-") as tmp:
        if args.only != "orthanc":
            name = f"Hounsfield ({args.workers} workers)"
            names.append(name)
            work = Path(tmp) / "hounsfield"
            work.mkdir()
            measure(name, hounsfield(work, args.index_rows, args.workers), args, work, results)
        if args.only != "hounsfield":
            name = "Orthanc 1.10 (Debian)"
            names.append(name)
            work = Path(tmp) / "orthanc"
            work.mkdir()
            measure(name, orthanc(work), args, work, results)
    print(f"load average after: {os.getloadavg()}")
    print(f"\n| figure (median of {args.runs}, min–max) | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key, by_server in results.items():
        print(f"| {key} | " + " | ".join(cell(by_server.get(n)) for n in names) + " |")


if __name__ == "__main__":
    sys.exit(main())
