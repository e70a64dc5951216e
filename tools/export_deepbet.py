"""Export deepbet's two TorchScript U-Nets to ONNX (run by `make models`, in .venv-export).

deepbet 1.0.2 ships its weights inside its wheel (`data/models/*.pt`, a top-level `data`
package): the bounding-box net runs on a 128³ volume, the brain net on a 256³ crop. Each
is exported at that fixed input size with the TorchScript exporter (opset 17), then the
files' SHA-256 are written to SHA256SUMS beside them. The app reads only the ONNX files,
with onnxruntime; torch stays in this export venv.

    .venv-export/bin/python tools/export_deepbet.py var/models/deepbet
"""

from __future__ import annotations

import hashlib
import os
import sys
from importlib.metadata import distribution
from pathlib import Path

import torch

NETS = {"bbox_model": 128, "model": 256}  # file stem → input edge (deepbet's bet.py)


def weights(stem: str) -> Path:
    """The .pt file inside the installed wheel (not imported: deepbet's imports need more)."""
    return Path(str(distribution("deepbet").locate_file(f"data/models/{stem}.pt")))


def export(stem: str, edge: int, target: Path) -> str:
    """Write `<stem>.onnx` into target (atomically); its SHA-256."""
    net = torch.jit.load(str(weights(stem)), map_location="cpu")
    net.eval()
    partial = target / f".{stem}.onnx.partial"
    example = (torch.randn(1, 1, edge, edge, edge),)
    torch.onnx.export(net, example, str(partial), dynamo=False, opset_version=17)
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    os.replace(partial, target / f"{stem}.onnx")
    return digest


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    sums = [f"{export(stem, edge, target)}  {stem}.onnx\n" for stem, edge in NETS.items()]
    (target / "SHA256SUMS").write_text("".join(sums))
    sys.stdout.write("".join(sums))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
