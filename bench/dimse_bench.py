"""DIMSE benchmark: C-STORE ingest (dcmtk storescu, 1 and 4 associations) side by side with
Orthanc, and C-FIND study-level latency over a large index. Not part of `make test`.

Run as root (it makes a loopback-only network namespace, BENCHMARKING.md):

    .venv/bin/python bench/dimse_bench.py --files 300 --runs 3
    .venv/bin/python bench/dimse_bench.py --skip-store --find-instances 100000

Every server runs inside the namespace `hfbench_dimse` (only `lo`), every client too, all
with TCP_NODELAY=1. Ingest counts only acknowledged instances (storescu exit status 0 for
all files) and then checks the server's own count (our index; Orthanc's /statistics).
Figures are medians of `--runs` runs with min-max; each run starts from empty storage.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
NS = "hfbench_dimse"
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


DATABASE_URL: str | None = None  # --database-url: our server then runs outside the namespace


def netns(*args: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *args]


def ours(*args: str) -> list[str]:
    """Commands for our server and its clients: in the namespace, unless an external
    database (reachable only from the host's loopback) is used; we bind 127.0.0.1 anyway."""
    return list(args) if DATABASE_URL else netns(*args)


def recreate_database(url: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(
        database="postgres" if parsed.get_backend_name() == "postgresql" else "mysql"
    )
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if parsed.get_backend_name() == "postgresql":
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
        else:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
            conn.execute(sa.text(f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4"))
    engine.dispose()


def ensure_namespace() -> None:
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if NS not in existing.split():
        subprocess.run(["ip", "netns", "add", NS], check=True)
    subprocess.run(netns("ip", "link", "set", "lo", "up"), check=True)


def make_slices(directory: Path, count: int) -> list[Path]:
    """`count` CT slices 512x512, 16-bit, one series (about 512 KiB each)."""
    directory.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    rng = np.random.default_rng(0)
    files = []
    for i in range(count):
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.PatientName, ds.PatientID = "Bench^Patient", "BENCH1"
        ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20240101", "120000", "BENCH"
        ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "CT", 1, i + 1
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = 512
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.ImagePositionPatient = [0, 0, float(i)]
        ds.PixelData = rng.integers(0, 4000, 512 * 512).astype(np.uint16).tobytes()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = directory / f"ct{i:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def wait_echo(
    ae_title: str, port: int, process: subprocess.Popen[bytes], wrap: Any = netns
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        echo = subprocess.run(
            wrap("/usr/bin/echoscu", "-aet", "BENCH", "-aec", ae_title, "127.0.0.1", str(port)),
            env=DCMTK_ENV, capture_output=True,
        )  # fmt: skip
        if echo.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("server never answered C-ECHO")


def wait_listeners(port: int, count: int, process: subprocess.Popen[bytes]) -> None:
    """Every listener process has bound the port (spawned ones start later than the first)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        listening = subprocess.run(ours("ss", "-Hltn", f"sport = :{port}"),
                                   capture_output=True, text=True).stdout  # fmt: skip
        if len(listening.strip().splitlines()) >= count:
            return
        time.sleep(0.2)
    raise RuntimeError("listener processes never all bound the port")


@contextmanager
def hounsfield(work: Path, processes: int) -> Iterator[tuple[str, int, Path]]:
    data = work / "hf"
    data.mkdir()
    env = {**os.environ, "HOUNSFIELD_DATA_DIR": str(data), "HOUNSFIELD_LOG_LEVEL": "WARNING",
           "HOUNSFIELD_DICOM__PORT": "11112", "HOUNSFIELD_DICOM__MAX_PDU": "0"}  # fmt: skip
    env.pop("HOUNSFIELD_DATABASE_URL", None)
    if DATABASE_URL:
        recreate_database(DATABASE_URL)
        env["HOUNSFIELD_DATABASE_URL"] = DATABASE_URL
    subprocess.run([PYTHON, "-m", "hounsfield.cli", "migrate"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    server = subprocess.Popen(
        ours(PYTHON, "-m", "hounsfield.cli", "dicom", "--processes", str(processes)),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_echo("HOUNSFIELD", 11112, server, ours)
        wait_listeners(11112, processes, server)
        yield "HOUNSFIELD", 11112, data
    finally:
        server.terminate()
        server.wait(timeout=60)


@contextmanager
def orthanc(work: Path) -> Iterator[tuple[str, int, Path]]:
    data = work / "orthanc"
    data.mkdir()
    config = {
        "Name": "bench", "StorageDirectory": str(data / "storage"),
        "IndexDirectory": str(data / "index"), "DicomAet": "ORTHANC", "DicomPort": 4242,
        "HttpPort": 8042, "RemoteAccessAllowed": False, "AuthenticationEnabled": True,
        "RegisteredUsers": {"bench": "bench"}, "Plugins": [],
        "DicomModalities": {"bench": ["BENCH", "127.0.0.1", 11113]},
        "StorageCompression": False, "HttpCompressionEnabled": False,
    }  # fmt: skip
    path = data / "orthanc.json"
    path.write_text(json.dumps(config))
    server = subprocess.Popen(netns("/usr/sbin/Orthanc", str(path)), env=DCMTK_ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_echo("ORTHANC", 4242, server)
        yield "ORTHANC", 4242, data
    finally:
        server.terminate()
        server.wait(timeout=60)


def count_hounsfield(data: Path) -> int:
    import sqlalchemy as sa

    url = DATABASE_URL or f"sqlite:///{data / 'hounsfield.db'}"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("SELECT count(*) FROM instances")).scalar_one())
    engine.dispose()
    return count


def count_orthanc() -> int:
    out = subprocess.run(
        netns("curl", "-s", "-u", "bench:bench", "http://127.0.0.1:8042/statistics"),
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return int(json.loads(out)["CountInstances"])


def store(
    ae_title: str, port: int, files: list[Path], associations: int, wrap: Any = netns
) -> float:
    """storescu over `associations` parallel associations; seconds from first start to end."""
    chunks = [files[i::associations] for i in range(associations)]
    started = time.perf_counter()
    clients = [
        subprocess.Popen(
            wrap(
                "/usr/bin/storescu",
                "-aet",
                "BENCH",
                "-aec",
                ae_title,
                "127.0.0.1",
                str(port),
                *map(str, chunk),
            ),
            env=DCMTK_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for chunk in chunks
    ]
    failures = [c.wait() for c in clients]
    elapsed = time.perf_counter() - started
    if any(failures):
        errors = [c.stderr.read().decode()[-500:] for c in clients if c.stderr is not None]
        raise RuntimeError(f"storescu failed: {failures} {errors}")
    return elapsed


def ingest_bench(files: list[Path], runs: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    setups = [
        ("Hounsfield, 1 process", lambda w: hounsfield(w, 1), count_hounsfield, (1, 4)),
        ("Hounsfield, 4 processes (SO_REUSEPORT)", lambda w: hounsfield(w, 4), count_hounsfield,
         (4,)),
        ("Orthanc 1.10 (Debian)", orthanc, lambda _d: count_orthanc(), (1, 4)),
    ]  # fmt: skip
    for _run in range(runs):
        for name, server, count, modes in setups:
            for associations in modes:
                with tempfile.TemporaryDirectory(prefix="dimse-bench-") as tmp:
                    with server(Path(tmp)) as (ae_title, port, data):
                        wrap = ours if ae_title == "HOUNSFIELD" else netns
                        seconds = store(ae_title, port, files, associations, wrap)
                        stored = count(data)
                if stored != len(files):
                    raise RuntimeError(f"{name}: {stored} of {len(files)} stored")
                rate = len(files) / seconds
                key = f"{name} | {associations}"
                results.setdefault(key, []).append(rate)
                print(f"  {key}: {rate:.1f} instances/s", flush=True)
    return results


def seed_index(data: Path, instances: int) -> str:
    """Bulk-insert an index of `instances` instances (10 per series, 2 series per study,
    one study per patient) straight into the tables: C-FIND reads only the index."""
    os.environ["HOUNSFIELD_DATA_DIR"] = str(data)
    os.environ.pop("HOUNSFIELD_DATABASE_URL", None)
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import insert

    from hounsfield.db import transaction
    from hounsfield.dimse.models import Device
    from hounsfield.migrate import upgrade
    from hounsfield.studies.models import Instance, Patient, Series, Study

    upgrade()
    studies = max(1, instances // 20)
    prefix = "1.2.826.0.1.3680043.10.555"
    with transaction(write=True) as session:
        session.add(Device(ae_title="BENCH", host="127.0.0.1", port=11113, operations_csv="find"))
        batch = 2000
        for start in range(0, studies, batch):
            ids = range(start + 1, min(studies, start + batch) + 1)
            session.execute(insert(Patient), [
                {"id": i, "patient_id": f"PID{i:07d}", "patient_name": f"Name{i}^Test",
                 "name_alphabetic": f"name{i} test", "name_search": f"name{i} test", "sex": "O"}
                for i in ids])  # fmt: skip
            session.execute(insert(Study), [
                {"id": i, "patient_pk": i, "study_instance_uid": f"{prefix}.1.{i}",
                 "accession_number": f"A{i}", "modalities_in_study": "CT",
                 "number_of_series": 2, "number_of_instances": 20}
                for i in ids])  # fmt: skip
            session.execute(insert(Series), [
                {"id": 2 * i - k, "study_pk": i, "series_instance_uid": f"{prefix}.2.{i}.{k}",
                 "modality": "CT", "series_number": k, "number_of_instances": 10}
                for i in ids for k in (0, 1)])  # fmt: skip
            session.execute(insert(Instance), [
                {"series_pk": 2 * i - k, "sop_instance_uid": f"{prefix}.3.{i}.{k}.{n}",
                 "sop_class_uid": str(CTImageStorage), "transfer_syntax_uid": "1.2.840.10008.1.2.1",
                 "size": 0, "sha256": "0" * 64, "storage_key": "00/00/" + "0" * 32}
                for i in ids for k in (0, 1) for n in range(10)])  # fmt: skip
    return f"PID{studies // 2:07d}"


def find_client(port: int, patient_id: str, queries: int) -> None:
    """(Runs inside the namespace.) C-FIND study level by PatientID over one association."""
    from pynetdicom import AE

    model = "1.2.840.10008.5.1.4.1.2.2.1"
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(model)
    assoc = ae.associate("127.0.0.1", port, ae_title="HOUNSFIELD")
    sock = assoc.dul.socket.socket
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.PatientID = patient_id
    query.StudyInstanceUID = ""
    query.PatientName = ""
    query.StudyDate = ""
    latencies = []
    for _ in range(queries):
        started = time.perf_counter()
        responses = list(assoc.send_c_find(query, model))
        latencies.append((time.perf_counter() - started) * 1000)
        if len(responses) != 2 or responses[-1][0].Status != 0:
            raise RuntimeError("unexpected C-FIND answer")
    assoc.release()
    print(json.dumps(latencies))


def find_bench(instances: int, queries: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="dimse-find-") as tmp:
        data = Path(tmp) / "hf"
        data.mkdir()
        patient_id = seed_index(data, instances)
        env = {**os.environ, "HOUNSFIELD_DATA_DIR": str(data), "HOUNSFIELD_LOG_LEVEL": "WARNING",
               "HOUNSFIELD_DICOM__PORT": "11112"}  # fmt: skip
        server = subprocess.Popen(netns(PYTHON, "-m", "hounsfield.cli", "dicom"), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            wait_echo("HOUNSFIELD", 11112, server)
            out = subprocess.run(
                netns(PYTHON, __file__, "--find-client", patient_id, "--queries", str(queries)),
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=60)
    return [float(x) for x in json.loads(out.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=300, help="CT slices per ingest run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--find-instances", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--skip-find", action="store_true")
    parser.add_argument("--database-url", help="our index on this MariaDB/PostgreSQL database "
                        "(dropped and re-created each run) instead of SQLite")  # fmt: skip
    parser.add_argument("--find-client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global DATABASE_URL
    DATABASE_URL = args.database_url
    if args.find_client:
        find_client(11112, args.find_client, args.queries)
        return
    ensure_namespace()
    print(f"cores: {os.cpu_count()}; load average: {os.getloadavg()}; "
          f"our index: {DATABASE_URL or 'SQLite'}", flush=True)  # fmt: skip
    if not args.skip_store:
        with tempfile.TemporaryDirectory(prefix="dimse-files-") as tmp:
            files = make_slices(Path(tmp), args.files)
            size = sum(f.stat().st_size for f in files) / 1e6
            print(f"C-STORE: {len(files)} CT slices 512x512 ({size:.0f} MB), "
                  f"{args.runs} runs", flush=True)  # fmt: skip
            results = ingest_bench(files, args.runs)
        print("\n| receiver | associations | instances/s median (min-max) |\n|---|---|---|")
        for key, rates in results.items():
            name, associations = key.split(" | ")
            print(f"| {name} | {associations} | {statistics.median(rates):.0f} "
                  f"({min(rates):.0f}-{max(rates):.0f}) |")  # fmt: skip
    if not args.skip_find and DATABASE_URL:
        print("C-FIND bench: SQLite only (the index is bulk-seeded into a fresh file)")
    elif not args.skip_find:
        latencies = sorted(find_bench(args.find_instances, args.queries))
        p50 = latencies[len(latencies) // 2]
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"\nC-FIND study level by PatientID, index of {args.find_instances} instances, "
              f"{len(latencies)} queries on one association: p50 {p50:.1f} ms, "
              f"p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms")  # fmt: skip
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
