"""Archive benchmark: Hounsfield (as `make run` starts it) side by side with Debian's Orthanc,
in one run, on a realistic archive (bench/archive.py: 20 patients × 2 studies × 3 series,
2,016 CT/MR instances, a quarter of the names Chinese). Not part of `make test`.

    make bench-archive                                        # both servers, ~10 minutes
    .venv/bin/python bench/archive_bench.py --runs 1 --duration 2       # quicker
    .venv/bin/python bench/archive_bench.py --src /path/to/baseline . # two checkouts + Orthanc
    .venv/bin/python bench/archive_bench.py --only hounsfield --profile var/profile  # py-spy

Run as root: each server and its clients run alone inside a loopback-only network namespace
(`hfbench_archive`, see BENCHMARKING.md), dcmtk with TCP_NODELAY=1, wrk with one thread and
`Accept-Encoding: identity`.

Ingest: the archive is split in five parts of 24 series, each stored once by one route:
C-STORE over 1 and over 4 associations (storescu), STOW-RS 1 and 50 instances per request,
and the browser's upload (POST /api/uploads, 25 files per request; Orthanc: POST /instances,
one file per request, its REST equivalent). Only acknowledged instances count, and at the
end every study's NumberOfStudyRelatedInstances must be right (2,016 in all).
Server CPU per ingested instance and cores used come from /proc (utime + stime of the
server's whole process tree) over each part.

Then QIDO-RS (by PatientID, by name wildcard, by ModalitiesInStudy, all studies) and WADO-RS
(series, instance, frame, rendered JPEG, series metadata) under 1, 8 and 32 clients with
wrk: a Lua script picks each request's URL at random from the whole archive and checks each
answer (match count, number of DICOM parts, JPEG signature, frame size, metadata
instances); a run with a wrong answer fails the benchmark. Read figures are medians of
`--runs` (min–max); ingest is measured once per run of the benchmark (each stores new data).
Rate limiting is switched off for Hounsfield (HOUNSFIELD_HTTP__RATE_LIMIT_PER_MINUTE=0): wrk
is one user making thousands of requests a second.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archive import SeriesInfo, family, make_archive
from dicomweb_bench import cell

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
NS = "hfbench_archive"
PASSWORD = "Quartz-Heron-8812-Lamp"
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}
DICOM_PART = 'multipart/related; type="application/dicom"'
FRAME_PART = 'multipart/related; type="application/octet-stream"'


def netns(*args: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *args]


def ensure_namespace() -> None:
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if NS not in existing.split():
        subprocess.run(["ip", "netns", "add", NS], check=True)
    subprocess.run(netns("ip", "link", "set", "lo", "up"), check=True)


@dataclass
class Server:
    name: str
    http: str  # http://127.0.0.1:PORT
    dicomweb: str  # path prefix of DICOMweb
    auth: str
    ae_title: str
    dicom_port: int
    pid: int
    upload_kind: str  # "hounsfield" or "orthanc"

    def cpu_seconds(self) -> float:
        """utime + stime of the server and every process below it (psutil reads /proc)."""
        root = psutil.Process(self.pid)
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return total


# -- clients (each runs as its own process inside the namespace) ----------------------------


def stow_client(base: str, auth: str, batch: int, files: list[str]) -> int:
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    stored = 0
    for start in range(0, len(files), batch):
        boundary = secrets.token_hex(16)
        parts = []
        for name in files[start : start + batch]:
            parts += [f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode(),
                      Path(name).read_bytes(), b"\r\n"]  # fmt: skip
        parts.append(f"--{boundary}--\r\n".encode())
        conn.request("POST", f"{url.path}/studies", body=b"".join(parts), headers={
            "Authorization": auth, "Accept": "application/dicom+json",
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        })  # fmt: skip
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"STOW-RS answered {response.status}: {body[:300]!r}")
        stored += len(json.loads(body).get("00081199", {}).get("Value", []))
    return stored


def upload_client(base: str, auth: str, kind: str, files: list[str]) -> int:
    import httpx

    stored = 0
    with httpx.Client(base_url=base, timeout=600) as client:
        if kind == "hounsfield":  # the browser's upload: 25 files per multipart request
            for start in range(0, len(files), 25):
                parts = [("files", (Path(f).name, Path(f).read_bytes(), "application/dicom"))
                         for f in files[start : start + 25]]  # fmt: skip
                response = client.post("/api/uploads", files=parts, headers={"Authorization": auth})
                response.raise_for_status()
                stored += int(response.json()["stored"])
        else:  # Orthanc's REST upload takes one instance per POST
            for name in files:
                response = client.post("/instances", content=Path(name).read_bytes(),
                                       headers={"Authorization": auth,
                                                "Content-Type": "application/dicom"})  # fmt: skip
                response.raise_for_status()
                stored += response.json().get("Status") == "Success"
    return stored


def run_clients(argv_per_client: list[list[str]]) -> int:
    """Start the clients in parallel inside the namespace; the sum of what they stored."""
    processes = [subprocess.Popen(netns(PYTHON, __file__, *argv), stdout=subprocess.PIPE,
                                  text=True) for argv in argv_per_client]  # fmt: skip
    total = 0
    for process in processes:
        out, _ = process.communicate()
        if process.returncode:
            raise RuntimeError("a client failed")
        total += int(out.strip().splitlines()[-1])
    return total


def storescu(server: Server, files: list[str], associations: int) -> int:
    chunks = [files[i::associations] for i in range(associations)]
    processes = [subprocess.Popen(netns("storescu", "-aet", "BENCH", "-aec", server.ae_title,
                                        "127.0.0.1", str(server.dicom_port), *chunk),
                                  env=DCMTK_ENV, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
                 for chunk in chunks]  # fmt: skip
    acknowledged = 0
    for process, chunk in zip(processes, chunks, strict=True):
        _, err = process.communicate()
        if process.returncode == 0 and "Store Failed" not in err and "Error" not in err:
            acknowledged += len(chunk)
        else:
            print(f"    storescu: {err.strip().splitlines()[-3:]}", flush=True)
    return acknowledged


# -- ingest ---------------------------------------------------------------------------------

INGEST_ROUTES = ["C-STORE, 1 association", "C-STORE, 4 associations",
                 "STOW-RS, 1 per request", "STOW-RS, 50 per request", "upload"]  # fmt: skip


def parts(archive: list[SeriesInfo]) -> list[list[SeriesInfo]]:
    """Five parts of 24 series; the MR series spread over all of them."""
    out: list[list[SeriesInfo]] = [[] for _ in INGEST_ROUTES]
    for k, series in enumerate(archive):
        out[(k + k // 5) % 5].append(series)
    return out


def ingest(server: Server, route: str, files: list[str]) -> int:
    base = server.http + server.dicomweb
    if route.startswith("C-STORE"):
        return storescu(server, files, 1 if "1 association" in route else 4)
    if route.startswith("STOW"):
        batch = "1" if "1 per" in route else "50"
        return run_clients([["--client", "stow", base, server.auth, batch, *files]])
    return run_clients([["--client", "upload", server.http, server.auth, server.upload_kind,
                         *files]])  # fmt: skip


def measure_ingest(server: Server, archive: list[SeriesInfo], record: Callable[..., None]) -> None:
    for route, series in zip(INGEST_ROUTES, parts(archive), strict=True):
        files = [f for s in series for f in s.files]
        cpu0, t0 = server.cpu_seconds(), time.perf_counter()
        stored = ingest(server, route, files)
        seconds, cpu = time.perf_counter() - t0, server.cpu_seconds() - cpu0
        if stored != len(files):
            raise RuntimeError(f"{server.name}: {route} acknowledged {stored} of {len(files)}")
        record(f"{route} (instances/s)", len(files) / seconds)
        record(f"{route}: server CPU per instance (ms)", cpu / len(files) * 1000)
        record(f"{route}: server cores used", cpu / seconds)
        per_instance = cpu / len(files) * 1000
        print(f"  {server.name}: {route}: {len(files) / seconds:.1f} inst/s, "
              f"{per_instance:.1f} ms CPU/inst, {cpu / seconds:.2f} cores", flush=True)  # fmt: skip


def check_archive(server: Server, archive: list[SeriesInfo]) -> None:
    """Every study is there with the right number of instances (2,016 in all)."""
    expected = Counter[str]()
    for s in archive:
        expected[s.study_uid] += len(s.sop_uids)
    out = subprocess.run(netns("curl", "-sf", "-H", f"Authorization: {server.auth}",
                               "-H", "Accept: application/dicom+json",
                               f"{server.http}{server.dicomweb}/studies?limit=1000"
                               "&includefield=00201208"),
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    found = {r["0020000D"]["Value"][0]: int(r["00201208"]["Value"][0]) for r in json.loads(out)}
    if found != dict(expected):
        wrong = {k: (found.get(k), v) for k, v in expected.items() if found.get(k) != v}
        raise RuntimeError(f"{server.name}: index differs from the archive: {wrong}")


# -- reads with wrk ---------------------------------------------------------------------------

# Each answer is checked in Lua; `expect` returns true when the body is right.
LUA = """
local paths = {%(paths)s}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; first = "-"; math.randomseed(os.time() + %(seed)d) end
local function count(body, needle)
  local n, at = 0, 1
  while true do
    local i = string.find(body, needle, at, true)
    if not i then return n end
    n, at = n + 1, i + #needle
  end
end
local function expect(body)
  %(check)s
end
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
response = function(status, headers, body)
  if status ~= 200 or not expect(body) then
    if bad == 0 then
      first = status .. ":" .. string.gsub(string.sub(body, 1, 120), "[^%%w%%p]", "_")
    end
    bad = bad + 1
  end
end
done = function(summary, latency, requests)
  local b = 0
  local f = "-"
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    if t:get("bad") > 0 then f = t:get("first") end
  end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%d %%d %%d\\n", summary.requests,
    summary.bytes, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.duration, b, e.connect + e.read + e.write + e.timeout))
  io.write("FIRSTBAD " .. f .. "\\n")
end
"""

STUDY_COUNT = 'return count(body, "0020000D") == %d'
READS: dict[str, tuple[str, str]] = {  # kind → (Accept, Lua check)
    "QIDO studies by PatientID": ("application/dicom+json", STUDY_COUNT % 2),
    "QIDO studies by name wildcard": ("application/dicom+json", STUDY_COUNT % 2),
    "QIDO studies by ModalitiesInStudy": (
        "application/dicom+json",
        'local n = count(body, "0020000D"); return n == 40 or n == 24',
    ),
    "QIDO all studies": ("application/dicom+json", STUDY_COUNT % 40),
    "WADO-RS series": (DICOM_PART, 'local n = count(body, "DICM"); return n == 16 or n == 20'),
    "WADO-RS instance": (DICOM_PART, 'return count(body, "DICM") == 1'),
    "WADO-RS frame": (FRAME_PART, "return #body >= 131072"),
    "WADO-RS rendered JPEG": ("image/jpeg", 'return string.sub(body, 1, 2) == "\\255\\216"'),
    "WADO-RS series metadata": (
        "application/dicom+json",
        'local n = count(body, "00080018"); return n == 16 or n == 20',
    ),
}


def read_paths(kind: str, prefix: str, archive: list[SeriesInfo]) -> list[str]:
    patients = sorted({s.patient_id for s in archive})
    instances = [f"{prefix}/studies/{s.study_uid}/series/{s.series_uid}/instances/{i}"
                 for s in archive for i in s.sop_uids]  # fmt: skip
    series = [f"{prefix}/studies/{s.study_uid}/series/{s.series_uid}" for s in archive]
    return {
        "QIDO studies by PatientID": [f"{prefix}/studies?PatientID={p}" for p in patients],
        "QIDO studies by name wildcard": [
            f"{prefix}/studies?PatientName={family(n)}*" for n in range(len(patients))
        ],
        "QIDO studies by ModalitiesInStudy": [
            f"{prefix}/studies?ModalitiesInStudy={m}" for m in ("CT", "MR")
        ],
        "QIDO all studies": [f"{prefix}/studies"],
        "WADO-RS series": series,
        "WADO-RS instance": instances,
        "WADO-RS frame": [f"{i}/frames/1" for i in instances],
        "WADO-RS rendered JPEG": [f"{i}/rendered" for i in instances],
        "WADO-RS series metadata": [f"{s}/metadata" for s in series],
    }[kind]


def wrk(
    server: Server, kind: str, paths: list[str], clients: int, seconds: int
) -> dict[str, float]:
    accept, check = READS[kind]
    table = ",".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"paths": table, "check": check, "seed": clients})
    try:
        cpu0 = server.cpu_seconds()
        out = subprocess.run(
            netns("wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s",
                  "-s", script.name, "-H", f"Authorization: {server.auth}",
                  "-H", f"Accept: {accept}", "-H", "Accept-Encoding: identity", server.http),
            capture_output=True, text=True, errors="replace", check=True,
        ).stdout  # fmt: skip
        cpu = server.cpu_seconds() - cpu0
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    requests_, bytes_, p50, _p95, micros, bad, socket_errors = line.split()[1:]
    elapsed = int(micros) / 1e6
    if int(bad):  # counted and shown, not hidden: the figure is kept with its failures
        first = next((x for x in out.splitlines() if x.startswith("FIRSTBAD")), "")
        print(f"    WRONG: {server.name}: {kind}, {clients} clients: {bad} wrong answers of "
              f"{requests_}; first: {first[9:]}", flush=True)  # fmt: skip
    if int(socket_errors):
        print(f"    note: {socket_errors} socket errors in {requests_} requests", flush=True)
    return {"rps": int(requests_) / elapsed, "mbps": int(bytes_) / elapsed / 1e6,
            "p50": float(p50), "cores": cpu / elapsed, "bad": int(bad)}  # fmt: skip


def measure_reads(server: Server, archive: list[SeriesInfo], args: argparse.Namespace,
                  record: Callable[..., None]) -> None:  # fmt: skip
    for kind in READS:
        if args.reads and not any(word in kind for word in args.reads):
            continue
        paths = read_paths(kind, server.dicomweb, archive)
        for clients in args.clients:
            figure = wrk(server, kind, paths, clients, args.duration)
            unit = "MB/s" if kind == "WADO-RS series" else "req/s"
            record(f"{kind}, {clients} clients ({unit})",
                   figure["mbps"] if unit == "MB/s" else figure["rps"])  # fmt: skip
            if figure["bad"]:
                record(f"{kind}, {clients} clients: WRONG answers", figure["bad"])
            if clients == max(args.clients):
                record(f"{kind}, {clients} clients: p50 ms", figure["p50"])
                record(f"{kind}, {clients} clients: server cores used", figure["cores"])


# -- servers --------------------------------------------------------------------------------


def wait_for(check: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(1200):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def http_up(url: str) -> Callable[[], bool]:
    def check() -> bool:
        code = subprocess.run(netns("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url),
                              capture_output=True, text=True).stdout  # fmt: skip
        return code not in ("", "000")

    return check


def dicom_up(ae_title: str, port: int) -> Callable[[], bool]:
    def check() -> bool:
        return subprocess.run(netns("echoscu", "-aet", "BENCH", "-aec", ae_title, "127.0.0.1",
                                    str(port)), env=DCMTK_ENV,
                              capture_output=True).returncode == 0  # fmt: skip

    return check


@contextmanager
def hounsfield(work: Path, src: Path, log_path: Path | None) -> Iterator[Server]:
    env = {**os.environ, "HOUNSFIELD_DATA_DIR": str(work / "hf"),
           "HOUNSFIELD_LOG_LEVEL": "WARNING", "HOUNSFIELD_HTTP__RATE_LIMIT_PER_MINUTE": "0",
           "PYTHONPATH": str(src / "src")}  # fmt: skip
    for key in ("HOUNSFIELD_DATABASE_URL", "HOUNSFIELD_REDIS_URL", "HOUNSFIELD_API_WORKERS"):
        env.pop(key, None)
    cli = [PYTHON, "-m", "hounsfield.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "user", "create", "--username", "bench", "--role", "admin",
                    "--password", PASSWORD], env=env, check=True, capture_output=True)  # fmt: skip
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(netns(*cli, "serve"), env=env, stdout=log, stderr=log)
    http = "http://127.0.0.1:8000"
    try:
        wait_for(http_up(f"{http}/healthz"), process, "hounsfield serve")
        wait_for(dicom_up("HOUNSFIELD", 11112), process, "the DICOM listener")
        login = subprocess.run(netns("curl", "-sf", "-H", "Content-Type: application/json", "-d",
                                     json.dumps({"username": "bench", "password": PASSWORD}),
                                     f"{http}/api/auth/login"),
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
        token = json.loads(login)["access_token"]
        pid = server_pid(process.pid)
        workers = sum("resource_tracker" not in " ".join(c.cmdline())
                      for c in psutil.Process(pid).children())  # fmt: skip
        name = f"Hounsfield ({src.name}, {workers or 1} process{'es' if workers > 1 else ''})"
        yield Server(name, http, "/dicom-web", f"Bearer {token}", "HOUNSFIELD", 11112, pid,
                     "hounsfield")  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def server_pid(netns_pid: int) -> int:
    """`ip netns exec` execs the command: the pid is the server's (or its parent's)."""
    process = psutil.Process(netns_pid)
    return process.pid if "python" in process.name() else process.children()[0].pid


@contextmanager
def orthanc(work: Path) -> Iterator[Server]:
    data = work / "orthanc"
    data.mkdir()
    config = {
        "Name": "bench", "StorageDirectory": str(data / "storage"),
        "IndexDirectory": str(data / "index"), "DicomAet": "ORTHANC", "DicomPort": 4242,
        "HttpPort": 8042, "RemoteAccessAllowed": False, "AuthenticationEnabled": True,
        "RegisteredUsers": {"bench": "bench"},
        "DicomModalities": {"bench": ["BENCH", "127.0.0.1", 4243]},
        "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "StorageCompression": False, "HttpCompressionEnabled": False,
    }  # fmt: skip
    path = data / "orthanc.json"
    path.write_text(json.dumps(config))
    process = subprocess.Popen(netns("/usr/sbin/Orthanc", str(path)), env=DCMTK_ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    http = "http://127.0.0.1:8042"
    try:
        wait_for(http_up(f"{http}/system"), process, "Orthanc")
        wait_for(dicom_up("ORTHANC", 4242), process, "Orthanc's DICOM listener")
        auth = "Basic " + base64.b64encode(b"bench:bench").decode()
        yield Server("Orthanc 1.10 (Debian)", http, "/dicom-web", auth, "ORTHANC", 4242,
                     process.pid, "orthanc")  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=120)


# -- profiling -------------------------------------------------------------------------------


@contextmanager
def profiled(server: Server, out: Path | None, phase: str) -> Iterator[None]:
    """py-spy on the server's whole process tree during a phase (raw collapsed stacks)."""
    if out is None or not server.name.startswith("Hounsfield"):
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"hounsfield-{phase}.txt"
    spy = subprocess.Popen([str(ROOT / ".venv" / "bin" / "py-spy"), "record", "--pid",
                            str(server.pid), "--subprocesses", "--rate", "50", "--format", "raw",
                            "--output", str(target)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=120)
        summarize_profile(target)


def summarize_profile(path: Path, top: int = 25) -> None:
    """Print the functions present in the most samples (inclusive), idle threads left out."""
    if not path.exists():
        print(f"  (no profile written to {path})")
        return
    inclusive, total = Counter[str](), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any(idle in stack for idle in ("select (selectors.py", "wait (threading.py",
                                          "_worker (concurrent/futures")):  # fmt: skip
            continue
        total += int(count)
        for frame in set(frames):
            inclusive[frame.split(" (")[0] + " (" + frame.rsplit("/", 1)[-1]] += int(count)
    print(f"  profile {path} ({total} busy samples): top functions, inclusive share")
    for frame, count in inclusive.most_common(top):
        print(f"    {count / max(total, 1):6.1%}  {frame[:110]}")


# -- the benchmark ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archive", type=Path, default=Path("/tmp/hf-archive"))
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per figure (median)")
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--only", choices=["hounsfield", "orthanc"])
    parser.add_argument("--src", type=Path, nargs="+", default=[ROOT],
                        help="the Hounsfield checkout(s) to run, each in turn")  # fmt: skip
    parser.add_argument("--profile", type=Path, help="py-spy the Hounsfield server into DIR")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--server-log", type=Path, help="append Hounsfield's log (warnings up)")
    parser.add_argument("--reads", nargs="+", help="only the read kinds containing these words")
    parser.add_argument("--client", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        kind, base, auth, option, *files = args.client
        if kind == "stow":
            print(stow_client(base, auth, int(option), files))
        else:
            print(upload_client(base, auth, option, files))
        return
    ensure_namespace()
    archive = make_archive(args.archive)
    results: dict[str, dict[str, list[float]]] = {}
    names: list[str] = []
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as tmp:
        servers = []
        if args.only != "orthanc":
            for src in args.src:
                servers.append(lambda w, src=src: hounsfield(w, src.resolve(), args.server_log))
        if args.only != "hounsfield":
            servers.append(orthanc)
        for i, start in enumerate(servers):
            work = Path(tmp) / str(i)
            work.mkdir()
            with start(work) as server:
                names.append(server.name)

                def record(key: str, value: float, name: str = server.name) -> None:
                    results.setdefault(key, {}).setdefault(name, []).append(value)

                print(f"{server.name}: ingest (load {os.getloadavg()[0]:.1f})", flush=True)
                with profiled(server, args.profile, "ingest"):
                    measure_ingest(server, archive, record)
                check_archive(server, archive)
                print(f"{server.name}: reads (load {os.getloadavg()[0]:.1f})", flush=True)
                with profiled(server, args.profile, "reads"):
                    for run in range(args.runs):
                        measure_reads(server, archive, args, record)
                        print(f"  {server.name}: read run {run + 1} done "
                              f"(load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
                if args.json:  # after each server: a later failure keeps what was measured
                    args.json.write_text(json.dumps({"results": results}, indent=1))
    print(f"load average after: {os.getloadavg()}")
    print(f"\n| figure (median of {args.runs} for reads, min–max) | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key, by_server in results.items():
        print(f"| {key} | " + " | ".join(cell(by_server.get(n)) for n in names) + " |")
    if args.json:
        args.json.write_text(json.dumps({"load": os.getloadavg(), "results": results}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
