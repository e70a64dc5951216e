"""AI test helpers: tiny real ONNX models built with onnx.helper, CT/MR series, dciodvfy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage, generate_uid

from tests.dicom_factory import make_dataset


def _model(nodes: list[Any], shape: list[int | str], out_shape: list[int | str],
           initialisers: list[Any] | None = None) -> bytes:  # fmt: skip
    graph = helper.make_graph(
        nodes, "hounsfield-test",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, out_shape)],
        initialisers or [],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def brightness_classifier(size: int = 16) -> bytes:
    """[1, 1, size, size] → [1, 2]: (1 - mean, mean) of the input: "lesion" when bright."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Reshape", ["pooled", "flat"], ["mean"]),
        helper.make_node("Sub", ["one", "mean"], ["rest"]),
        helper.make_node("Concat", ["rest", "mean"], ["scores"], axis=1),
    ]
    inits = [numpy_helper.from_array(np.array([1, 1], dtype=np.int64), "flat"),
             numpy_helper.from_array(np.array([[1.0]], dtype=np.float32), "one")]  # fmt: skip
    return _model(nodes, [1, 1, size, size], [1, 2], inits)


def bright_segmenter(size: int = 16) -> bytes:
    """[N, 1, size, size] → [N, 1, size, size] scores: sigmoid(20 (x - 0.5)), "bright"."""
    nodes = [
        helper.make_node("Sub", ["image", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["scores"]),
    ]
    inits = [numpy_helper.from_array(np.array(0.5, dtype=np.float32), "half"),
             numpy_helper.from_array(np.array(20.0, dtype=np.float32), "gain")]  # fmt: skip
    return _model(nodes, ["N", 1, size, size], ["N", 1, size, size], inits)


def fixed_detector(size: int = 16) -> bytes:
    """[1, 1, size, size] → two fixed boxes [1, 2, 6]: one "lesion" at 0.9, one at 0.2."""
    boxes = np.array([[[2, 2, 8, 8, 0.9, 1], [0, 0, 4, 4, 0.2, 1]]], dtype=np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["boxes", "nothing"], ["scores"]),
    ]
    inits = [numpy_helper.from_array(boxes, "boxes"),
             numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")]  # fmt: skip
    return _model(nodes, [1, 1, size, size], [1, 2, 6], inits)


def manifest(name: str, task: str, **overrides: Any) -> dict[str, Any]:
    labels = (
        [{"name": "normal", "normal": True}, {"name": "lesion", "threshold": 0.5}]
        if task in ("classification", "detection") else [{"name": "bright", "threshold": 0.5}]
    )  # fmt: skip
    base: dict[str, Any] = {
        "name": name, "version": "1.0.0", "task": task, "kind": "onnx",
        "filters": {"modalities": ["CT"]},
        "input": {"size": [16, 16], "channels": 1, "values": "display",
                  "window": {"center": 40, "width": 400}, "normalisation": "unit",
                  "layout": "NCHW"},
        "labels": labels, "intended_use": "Tests only.", "license": "Apache-2.0",
        "validation_metrics": {"dice": 0.9},
    }  # fmt: skip
    base.update(overrides)
    return base


def upload(client: Any, headers: dict[str, str], meta: dict[str, Any], data: bytes | None) -> Any:
    files = {"file": ("model.onnx", data, "application/octet-stream")} if data else None
    return client.post("/api/ai/models", data={"manifest": json.dumps(meta)}, files=files,
                       headers=headers)  # fmt: skip


def ct_series(
    slices: int = 3, size: int = 16, bright: bool = True, **overrides: Any
) -> list[Dataset]:
    """A CT series with geometry; its centre square is bright (200 HU) on a dark background."""
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    out = []
    for z in range(slices):
        hu = np.full((size, size), -100, dtype=np.int16)
        if bright:
            hu[4:12, 5:11] = 200
        ds = make_dataset(
            StudyInstanceUID=study, SeriesInstanceUID=series, FrameOfReferenceUID=frame,
            Rows=size, Columns=size, InstanceNumber=z + 1, PixelSpacing=[0.7, 0.7],
            SliceThickness=2.0, ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
            ImagePositionPatient=[0, 0, 2.0 * (slices - z)], PositionReferenceIndicator="",
            PixelData=(hu + 1024).astype(np.uint16).tobytes(), **overrides,
        )  # fmt: skip
        out.append(ds)
    return out


def mr_slice(pixels: np.ndarray, **overrides: Any) -> Dataset:
    """One 8-bit MR head slice around the pixels (e.g. a PNG read as grayscale)."""
    rows, cols = pixels.shape
    fields: dict[str, Any] = {
        "SOPClassUID": MRImageStorage, "Modality": "MR", "BodyPartExamined": "HEAD",
        "Rows": rows, "Columns": cols, "BitsAllocated": 8, "BitsStored": 8, "HighBit": 7,
        "RescaleIntercept": None, "RescaleSlope": None, "ScanningSequence": "SE",
        "SequenceVariant": "NONE", "ScanOptions": "", "MRAcquisitionType": "2D",
        "EchoTime": 15, "RepetitionTime": 500, "EchoTrainLength": 1,
        "ImageType": ["ORIGINAL", "PRIMARY"], "FrameOfReferenceUID": generate_uid(),
        "PixelSpacing": [1, 1], "SliceThickness": 5, "ImagePositionPatient": [0, 0, 0],
        "ImageOrientationPatient": [1, 0, 0, 0, 1, 0], "PositionReferenceIndicator": "",
        "PixelData": pixels.astype(np.uint8).tobytes(),
    }  # fmt: skip
    fields.update(overrides)
    return make_dataset(**fields)


def dciodvfy_errors(data: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / f"object-{generate_uid()}.dcm"
    path.write_bytes(data)
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]
