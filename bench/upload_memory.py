"""Upload a large DICOM file to a real server and measure the server's memory growth.

Issue 3 asks: "Files of 2 GB upload with server memory growth under 100 MB", for both
POST /api/uploads (streamed multipart) and tus resumable uploads.

    .venv/bin/python bench/upload_memory.py --size-mb 2048

Starts `hounsfield serve` (embedded mode, SQLite, local storage, a temp data directory),
generates one multi-frame 512×512 CT of about --size-mb MB on disk, streams it to the
server and samples the server's RSS (/proc/<pid>/status) every 20 ms. Prints one line per
path: size, seconds, MB/s, baseline RSS and peak growth.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

PASSWORD = "Upload-Measure-4242"
FRAME = 512 * 512 * 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_big_dicom(path: Path, size_mb: int) -> int:
    """A multi-frame CT of ~size_mb MB, written in streaming fashion (constant memory)."""
    frames = max(1, size_mb * 1024 * 1024 // FRAME)
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Bench^Upload"
    ds.PatientID = "BENCH"
    ds.Modality = "CT"
    ds.Rows = ds.Columns = 512
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    header = io.BytesIO()
    ds.save_as(header, enforce_file_format=True)
    length = frames * FRAME
    chunk = np.random.default_rng(1).integers(0, 4096, FRAME // 2, dtype=np.uint16).tobytes()
    with path.open("wb") as out:
        out.write(header.getvalue())
        out.write(b"\xe0\x7f\x10\x00OW\x00\x00" + length.to_bytes(4, "little"))
        for _ in range(frames):
            out.write(chunk)
    return path.stat().st_size


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def multipart_body(path: Path, boundary: str) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="big.dcm"\r\nContent-Type: application/dicom\r\n\r\n'
    ).encode()
    with path.open("rb") as fp:
        while chunk := fp.read(1 << 20):
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def wait_and_log_in(client: httpx.Client, timeout_s: float = 60) -> dict[str, str]:
    """Wait for the server to answer /healthz, then log the bench user in."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if client.get("/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("server did not start")
        time.sleep(0.2)
    token = client.post("/api/auth/login", json={"username": "bench", "password": PASSWORD}).json()[
        "access_token"
    ]
    return {"Authorization": f"Bearer {token}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=2048)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hf-bench-upload-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")},
        "HOUNSFIELD_DATA_DIR": str(work / "data"),
        "HOUNSFIELD_DICOM__ENABLED": "false",
        "HOUNSFIELD_LOG_LEVEL": "WARNING",
        "HOUNSFIELD_NEW_PASSWORD": PASSWORD,
    }
    exe = Path(sys.executable).parent / "hounsfield"
    server = None
    try:
        subprocess.run([exe, "migrate"], env=env, check=True, capture_output=True)
        created_user = subprocess.run(
            [exe, "user", "create", "--username", "bench", "--role", "technician"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if created_user.returncode != 0:
            raise SystemExit(f"user create failed: {created_user.stderr}")
        big = work / "big.dcm"
        size = make_big_dicom(big, args.size_mb)
        server = subprocess.Popen(
            [exe, "serve", "--port", str(port)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=None) as client:
            auth = wait_and_log_in(client)

            boundary = "hounsfield-bench-boundary"
            with RssSampler(server.pid) as sampler:
                baseline = sampler.rss()
                start = time.monotonic()
                response = client.post(
                    "/api/uploads", content=multipart_body(big, boundary),
                    headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                )  # fmt: skip
                elapsed = time.monotonic() - start
            body = response.json()
            assert response.status_code == 200, response.text
            assert body["stored"] == 1, body
            report("POST /api/uploads", size, elapsed, baseline, sampler.peak)

            # tus: the same bytes again as another instance is not possible (same UID), so
            # the second path stores a duplicate; the bytes still travel and get hashed.
            with RssSampler(server.pid) as sampler:
                baseline = sampler.rss()
                start = time.monotonic()
                created = client.post(
                    "/api/uploads/tus",
                    headers={**auth, "Tus-Resumable": "1.0.0", "Upload-Length": str(size)},
                )
                url = created.headers["Location"]
                offset = 0
                step = 64 * 1024 * 1024
                with big.open("rb") as fp:
                    while offset < size:
                        data = fp.read(step)
                        patched = client.patch(url, content=data, headers={
                            **auth, "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                            "Content-Type": "application/offset+octet-stream"})  # fmt: skip
                        assert patched.status_code == 204, patched.text
                        offset = int(patched.headers["Upload-Offset"])
                elapsed = time.monotonic() - start
            status = client.get(url, headers=auth).json()
            assert status["complete"], status
            assert status["duplicates"] == 1, status
            report("tus (64 MiB PATCHes)", size, elapsed, baseline, sampler.peak)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # derived work held back: do not wait for it
                server.kill()
                server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def report(name: str, size: int, seconds: float, baseline: int, peak: int) -> None:
    mb = size / 1024 / 1024
    print(
        f"{name:24s} {mb:8.0f} MB  {seconds:7.1f} s  {mb / seconds:7.1f} MB/s  "
        f"server RSS {baseline / 2**20:6.0f} MB → peak +{(peak - baseline) / 2**20:5.1f} MB"
    )


if __name__ == "__main__":
    main()
