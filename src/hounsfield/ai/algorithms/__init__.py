"""Python algorithms: classical, explainable methods registered with the same manifest,
inputs and result types as ONNX models (kind `python`, `algorithm` names one here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hounsfield.ai.runtime import Result, SourceImage
from hounsfield.ai.schemas import Manifest

Algorithm = Callable[[Manifest, Sequence[SourceImage]], Result]


def registry() -> dict[str, Algorithm]:
    """Every algorithm by its registered name."""
    from hounsfield.ai.algorithms import deepbet, lung_ct

    return {"lung-ct-laa950": lung_ct.analyse, "deepbet": deepbet.analyse}
