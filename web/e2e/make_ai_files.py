"""Files for the AI browser test (web/e2e/ai.mjs), built from the backend tests' own fixtures.

- chest.zip: a synthetic chest CT phantom (tests/ai/test_lung_ct.py: two lungs at -850 HU
  with emphysema voxels, 96×96×12) for the built-in lung-ct algorithm;
- detector.onnx + detector.json: a tiny real ONNX detection model (tests/ai/helpers.py) and
  its manifest, for the model page's upload.
Usage: make_ai_files.py OUT_DIR PATIENT_ID
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.ai.helpers import fixed_detector, manifest
from tests.ai.test_lung_ct import ct_datasets, phantom


def main() -> None:
    out, patient_id = Path(sys.argv[1]), sys.argv[2]
    hu, _truth, _laa = phantom()
    with zipfile.ZipFile(out / "chest.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for i, ds in enumerate(ct_datasets(hu, PatientID=patient_id, PatientName="李^雷")):
            buf = io.BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            zf.writestr(f"chest/IM{i:04d}.dcm", buf.getvalue())
    (out / "detector.onnx").write_bytes(fixed_detector())
    meta = manifest("e2e-detector", "detection", description="A fixed-box test detector.")
    (out / "detector.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
