"""Cost of derived data and of a verified object read (issue 15), in one process.

Ingests --instances CT slices (--size² pixels, 16-bit) of one series in one transfer, then
measures, on one core:
- ingest: milliseconds per instance (prepare + index transaction, as C-STORE does);
- the series refresh's derived work for that burst (`build_series_derived`: fragments,
  series document, thumbnail), in total and per instance;
- a verified read of one instance (`objects.stream_verified`, object cache off), median
  over every instance of the series.
With --wrk it then serves the same archive (`hounsfield serve`) and runs wrk on WADO-RS
instance URLs spread over the series (4 connections).

    .venv/bin/python bench/derived_cost.py --instances 200 --size 512 --wrk
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%.1f\\n", summary.requests, summary.duration))
end
"""


def wrk_instances(work: Path, env: dict[str, str], urls: list[str], seconds: int) -> float:
    import httpx
    from upload_memory import PASSWORD, free_port

    exe = Path(sys.executable).parent / "hounsfield"
    subprocess.run(
        [exe, "user", "create", "--username", "bench", "--role", "technician"],
        env={**env, "HOUNSFIELD_NEW_PASSWORD": PASSWORD}, capture_output=True, check=True,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [exe, "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        from upload_memory import wait_and_log_in

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            auth = wait_and_log_in(client)
            check = client.get(urls[0], headers={**auth, "Accept": "application/dicom"})
            assert check.status_code == 200, check.text
        paths = work / "paths.txt"
        paths.write_text("\n".join(urls) + "\n")
        script = work / "instances.lua"
        script.write_text(LUA % paths)
        out = subprocess.run(
            ["wrk", "-t1", "-c4", f"-d{seconds}s", "-s", str(script),
             "-H", f"Authorization: {auth['Authorization']}",
             "-H", 'Accept: multipart/related; type="application/dicom"',
             f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        if "Non-2xx" in out:
            raise SystemExit(f"wrk saw errors:\n{out}")
        line = next(x for x in out.splitlines() if x.startswith("RESULT"))
        requests_, micros = line.split()[1:]
        return int(requests_) / (float(micros) / 1e6)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--wrk", action="store_true", help="also wrk WADO-RS instance reads")
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hf-bench-derived-cost-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")},
        "HOUNSFIELD_DATA_DIR": str(work / "data"),
        "HOUNSFIELD_DICOM__ENABLED": "false",
        "HOUNSFIELD_LOG_LEVEL": "WARNING",
        "HOUNSFIELD_DICOMWEB__OBJECT_CACHE_MB": "0",  # every read is a storage read
    }
    os.environ.update(env)
    try:
        from dicomweb_bench import make_series

        from hounsfield.db import transaction
        from hounsfield.ingest.service import ingest
        from hounsfield.migrate import upgrade
        from hounsfield.studies import derived, objects, refs
        from hounsfield.studies.service import Transfer

        upgrade()
        study, series, files = make_series(work / "files", args.instances, args.size)
        held = Transfer()  # never ended: the refresh stays queued, measured below instead
        started = time.process_time()
        with held.active():
            for path in files:
                assert ingest(path.read_bytes(), origin="bench").status == "stored"
        ingest = time.process_time() - started
        started = time.process_time()
        derived.build_series_derived(series)
        build = time.process_time() - started
        with transaction() as session:
            instances = refs.instances(session, study, series)
        reads = []
        for ref in instances:
            started = time.perf_counter()
            for _chunk in objects.stream_verified(ref):
                pass
            reads.append(time.perf_counter() - started)
        n = args.instances
        print(f"{n} instances of {args.size}² (CPU time, one process)")
        print(f"  ingest                 {ingest / n * 1000:7.2f} ms/instance")
        print(f"  series derived build   {build:7.3f} s  ({build / n * 1000:.2f} ms/instance)")
        print(f"  verified instance read {statistics.median(reads) * 1000:7.2f} ms (median)")
        if args.wrk:
            urls = [
                f"/dicom-web/studies/{study}/series/{series}/instances/{r.sop_instance_uid}"
                for r in instances
            ]
            rps = wrk_instances(work, env, urls, args.duration)
            print(f"  WADO-RS instance, wrk -c4 {rps:7.1f} req/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
