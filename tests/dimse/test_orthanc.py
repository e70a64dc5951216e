"""Done-when (#12): Debian's Orthanc retrieves a study from us by C-MOVE and sends it back
by C-STORE, every instance succeeding. Orthanc binds all interfaces, so it and our listener
run in a loopback-only network namespace the test creates (tests run as root) and removes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dimse.conftest import free_port, start_listener
from tests.dimse.helpers import fresh_copy

ORTHANC = "/usr/sbin/Orthanc"
STUDY = "1.2.826.0.1.3680043.10.9.70"


@pytest.fixture
def namespace() -> Iterator[list[str]]:
    name = f"hf_dimse_{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield ["ip", "netns", "exec", name]
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _python(env: dict[str, str], code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _rest(netns: list[str], port: int, method: str, path: str, body: object = None) -> object:
    """Orthanc's REST API, called from inside the namespace (its only reachable place)."""
    code = (
        "import json, sys, urllib.request\n"
        f"data = {json.dumps(body) if body is not None else None!r}\n"
        f"req = urllib.request.Request('http://127.0.0.1:{port}{path}', method='{method}',"
        " data=None if data is None else data.encode())\n"
        "try:\n"
        "    print(urllib.request.urlopen(req, timeout=600).read().decode())\n"
        "except urllib.error.HTTPError as exc:\n"
        "    sys.exit(f'{exc}: {exc.read().decode()}')\n"
    )
    done = subprocess.run([*netns, sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.once
def test_orthanc_moves_a_study_from_us_and_sends_it_back(
    namespace: list[str], tmp_path: Path
) -> None:
    ours, dicom, http = free_port(), free_port(), free_port()
    data = tmp_path / "hf"
    data.mkdir()
    env = {**os.environ, "HOUNSFIELD_DATA_DIR": str(data), "HOUNSFIELD_DICOM__PORT": str(ours),
           "HOUNSFIELD_DATABASE_URL": f"sqlite:///{data / 'index.db'}"}  # fmt: skip
    subprocess.run([sys.executable, "-m", "hounsfield.cli", "migrate"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    files = [fresh_copy(name, tmp_path, study_uid=STUDY, PatientID="ORTHANC1")[0]
             for name in ("CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm")]  # fmt: skip
    _python(
        env,
        f"""
from pathlib import Path
from hounsfield.db import transaction
from hounsfield.dimse import devices
from hounsfield.dimse.schemas import DeviceCreate
from hounsfield.ingest.service import ingest
with transaction(write=True) as session:
    devices.create_device(session, None, DeviceCreate(ae_title="ORTHANC", host="127.0.0.1",
        port={dicom}, operations=["store", "find", "move", "get"]))
for path in {[str(f) for f in files]!r}:
    assert ingest(Path(path).read_bytes(), origin="test").status == "stored"
""",
    )
    listener = start_listener(env, prefix=namespace)
    config = tmp_path / "orthanc.json"
    config.write_text(json.dumps({
        "Name": "test", "StorageDirectory": str(tmp_path / "o-storage"),
        "IndexDirectory": str(tmp_path / "o-index"), "DicomAet": "ORTHANC", "DicomPort": dicom,
        "HttpPort": http, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        "Plugins": [], "DicomModalities": {"hf": ["HOUNSFIELD", "127.0.0.1", ours]},
    }))  # fmt: skip
    orthanc = subprocess.Popen([*namespace, ORTHANC, str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        assert orthanc.stdout is not None
        for line in orthanc.stdout:  # readiness: its own log line, not a deadline
            if "Orthanc has started" in line:
                break
        move = {"Level": "Study", "Resources": [{"StudyInstanceUID": STUDY}],
                "TargetAet": "ORTHANC", "Synchronous": True}  # fmt: skip
        _rest(namespace, http, "POST", "/modalities/hf/move", move)
        studies = _rest(namespace, http, "GET", "/studies")
        assert isinstance(studies, list)
        assert len(studies) == 1
        instances = _rest(namespace, http, "GET", "/instances")
        assert isinstance(instances, list)
        assert len(instances) == len(files)
        sent = _rest(namespace, http, "POST", "/modalities/hf/store",
                     {"Resources": studies, "Synchronous": True})  # fmt: skip
        assert isinstance(sent, dict)
        assert sent["FailedInstancesCount"] == 0, sent
        assert sent["InstancesCount"] == len(files), sent
    finally:
        orthanc.terminate()
        orthanc.wait()
        listener.process.terminate()
        listener.process.wait()
