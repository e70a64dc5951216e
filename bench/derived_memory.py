"""Server memory while derived work runs on a large upload, and WADO-RS frame latency.

`upload_memory.py` samples RSS only while the bytes travel; the derived work an upload
triggers (series metadata, thumbnail) runs after. This one uploads one multi-frame CT of
about --size-mb MB (POST /api/uploads), then keeps sampling the server's RSS until the
series thumbnail exists on disk, and reports the peak growth over the whole ingest.
Then it fetches --frames distinct frames (WADO-RS /frames/{n}) from 4 threads at once,
the way the viewer prefetches, and reports their mean latency and the RSS peak.

    .venv/bin/python bench/derived_memory.py --size-mb 512
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from upload_memory import (
    PASSWORD,
    RssSampler,
    free_port,
    make_big_dicom,
    multipart_body,
    wait_and_log_in,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=512)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hf-bench-derived-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")},
        "HOUNSFIELD_DATA_DIR": str(work / "data"),
        "HOUNSFIELD_DICOM__ENABLED": "false",
        "HOUNSFIELD_LOG_LEVEL": "WARNING",
        "HOUNSFIELD_NEW_PASSWORD": PASSWORD,
    }
    exe = Path(sys.executable).parent / "hounsfield"
    server = None
    port = free_port()
    try:
        subprocess.run([exe, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run(
            [exe, "user", "create", "--username", "bench", "--role", "technician"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        big = work / "big.dcm"
        size = make_big_dicom(big, args.size_mb)
        server = subprocess.Popen(
            [exe, "serve", "--port", str(port)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        thumbnails = work / "data" / "cache" / "thumbnails"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=None) as client:
            auth = wait_and_log_in(client)
            boundary = "hounsfield-bench-boundary"
            with RssSampler(server.pid) as sampler:
                baseline = sampler.rss()
                start = time.monotonic()
                response = client.post(
                    "/api/uploads", content=multipart_body(big, boundary),
                    headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                )  # fmt: skip
                assert response.status_code == 200, response.text
                uploaded = time.monotonic() - start
                while not any(thumbnails.rglob("*.jpg")):
                    if time.monotonic() - start > args.timeout:
                        raise SystemExit("derived work did not finish in time")
                    time.sleep(0.1)
                done = time.monotonic() - start
            mb = size / 2**20
            print(
                f"upload + derived work  {mb:6.0f} MB  upload {uploaded:5.1f} s, derived done "
                f"at {done:5.1f} s  server RSS {baseline / 2**20:5.0f} MB → peak "
                f"+{(sampler.peak - baseline) / 2**20:6.1f} MB"
            )
            study = client.get("/dicom-web/studies", params={"limit": 1}, headers=auth).json()[0][
                "0020000D"
            ]["Value"][0]
            meta = client.get(f"/dicom-web/studies/{study}/metadata", headers=auth).json()[0]
            series, sop = meta["0020000E"]["Value"][0], meta["00080018"]["Value"][0]
            frames = int(meta["00280008"]["Value"][0])
            url = f"/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/"
            accept = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
            numbers = [1 + (k * 37) % frames for k in range(args.frames)]

            def fetch(n: int) -> float:
                t = time.monotonic()
                r = client.get(url + str(n), headers={**auth, "Accept": accept})
                assert r.status_code == 200, r.text
                return time.monotonic() - t

            with RssSampler(server.pid) as sampler:
                baseline = sampler.rss()
                with ThreadPoolExecutor(4) as pool:
                    latencies = list(pool.map(fetch, numbers))
            print(
                f"{args.frames} frames, 4 at a time  mean {sum(latencies) / len(latencies):.3f} s"
                f"  max {max(latencies):.3f} s  server RSS {baseline / 2**20:5.0f} MB → "
                f"peak +{(sampler.peak - baseline) / 2**20:6.1f} MB"
            )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
