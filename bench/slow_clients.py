"""Slow clients against a real `hounsfield serve` (SECURITY L3): N slow-loris sockets that
never finish their headers, /healthz latency while they are open, and how long until the
server has closed them all.

    .venv/bin/python bench/slow_clients.py --sockets 350
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=350)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="hf-slow-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")}
    env.update(HOUNSFIELD_DATA_DIR=work, HOUNSFIELD_DICOM__ENABLED="false",
               HOUNSFIELD_LOG_LEVEL="WARNING")  # fmt: skip
    subprocess.run([sys.executable, "-m", "hounsfield.cli", "migrate"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "hounsfield.cli", "serve", "--port", str(args.port),
         "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{args.port}"
    try:
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        start = time.monotonic()
        slow = []
        for _ in range(args.sockets):
            sock = socket.create_connection(("127.0.0.1", args.port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: b")
            slow.append(sock)
        latencies = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(50):
                t = time.monotonic()
                assert client.get("/healthz").status_code == 200
                latencies.append(time.monotonic() - t)
        closed = 0
        for sock in slow:
            sock.settimeout(120)
            while sock.recv(4096):
                pass
            closed += 1
            sock.close()
        elapsed = time.monotonic() - start
        p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
        print(
            f"{args.sockets} slow sockets: /healthz p95 {p95:.1f} ms while open; "
            f"all {closed} closed by the server after {elapsed:.1f} s"
        )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
