"""AI errors, each with its zh-CN (default) and English message.

A run that fails keeps the error's `code` and English text; the API shows it in the
client's language (`reason_text`).
"""

from __future__ import annotations

from typing import Any

from hounsfield.errors import Conflict, HounsfieldError, NotFound, Unprocessable

# code → (zh-CN, English) templates; the parameters come from the error's details.
MESSAGES: dict[str, tuple[str, str]] = {
    "ai_model_not_found": ("找不到该 AI 模型或版本", "No such AI model or version"),
    "ai_run_not_found": ("找不到该 AI 分析任务", "No such AI run"),
    "ai_finding_not_found": ("找不到该 AI 结果", "No such AI finding"),
    "ai_invalid_manifest": (
        "模型清单无效：{problem}",
        "The model manifest is not valid: {problem}",
    ),
    "ai_invalid_model": (
        "模型文件不是有效的 ONNX 模型：{problem}",
        "The model file is not a valid ONNX model: {problem}",
    ),
    "ai_version_exists": (
        "模型 {name} 的版本 {version} 已存在；版本不可修改，请使用新的版本号",
        "Version {version} of model {name} exists; versions are immutable, use a new version",
    ),
    "ai_unknown_algorithm": ("未知的算法：{algorithm}", "Unknown algorithm: {algorithm}"),
    "ai_model_disabled": (
        "模型 {name} 没有启用的版本",
        "Model {name} has no enabled active version",
    ),
    "ai_model_corrupt": (
        "模型文件已损坏（SHA-256 不符：应为 {expected}，实际为 {actual}）",
        "The model file is corrupt (SHA-256 mismatch: expected {expected}, got {actual})",
    ),
    "ai_model_missing": ("模型文件在存储中不存在", "The model file is missing from storage"),
    "ai_wrong_input_shape": (
        "输入形状不符：模型需要 {expected}，预处理得到 {got}",
        "Wrong input shape: the model expects {expected}, the preprocessing gives {got}",
    ),
    "ai_wrong_output_shape": (
        "输出形状不符：{problem}",
        "Unexpected model output: {problem}",
    ),
    "ai_no_images": (
        "所选范围内没有可供该模型分析的图像（{problem}）",
        "No image in the selection that this model can analyse ({problem})",
    ),
    "ai_not_t1": (
        "该模型只分析 T1 加权的头部 MR 容积，此序列是 {found}",
        "This model analyses T1-weighted head MR volumes only; this series is {found}",
    ),
    "ai_not_volume": (
        "该模型需要完整的头部 MR 容积（{problem}）",
        "This model needs a whole head MR volume ({problem})",
    ),
    "ai_unreadable_image": ("图像无法读取：{problem}", "An image cannot be read: {problem}"),
    "ai_timeout": ("推理超时（{seconds} 秒）", "Inference timed out ({seconds} s)"),
    "ai_inference_failed": ("推理失败：{problem}", "Inference failed: {problem}"),
    "ai_export_failed": (
        "结果无法存入检查：{problem}",
        "The results could not be stored into the study: {problem}",
    ),
    "ai_processing_failure": ("处理失败", "Processing failure"),
    "ai_already_reviewed": (
        "该结果已被审核（{status}）",
        "This finding has already been reviewed ({status})",
    ),
    "ai_finding_version_conflict": (
        "该结果已被他人修改（当前版本 {current_version}），请刷新后重试",
        "The finding was changed by someone else (now version {current_version}): "
        "reload it and try again",
    ),
    "ai_geometry_out_of_bounds": (
        "几何形状超出图像范围（{columns}×{rows} 像素）",
        "The geometry lies outside the image ({columns}×{rows} pixels)",
    ),
    "ai_geometry_invalid": (
        "几何形状无效：{problem}",
        "The geometry is not valid: {problem}",
    ),
    "ai_no_mask": ("该结果没有分割掩膜", "This finding has no segmentation mask"),
    "ai_review_needs_change": (
        "“修改”需要给出新的标签或几何形状",
        "An edit needs a new label or geometry",
    ),
}


def reason_text(code: str, details: dict[str, Any] | None, accept_language: str | None) -> str:
    """The message of `code` in the client's language (zh-CN unless English is preferred)."""
    from hounsfield.ingest.outcome import language

    zh, en = MESSAGES.get(code, MESSAGES["ai_processing_failure"])
    template = en if language(accept_language) == "en" else zh
    try:
        return template.format(**(details or {}))
    except (KeyError, IndexError):
        return template


class AiError(HounsfieldError):
    """Base of the AI errors: `code` names the message, keyword arguments fill it."""

    def __init__(self, **params: Any) -> None:
        text = {key: str(value)[:200] for key, value in params.items()}
        super().__init__(reason_text(self.code, text, "en"), details=text or None)

    def message_for(self, accept_language: str | None) -> str:
        return reason_text(self.code, self.details, accept_language)


class ModelNotFound(AiError, NotFound):
    code = "ai_model_not_found"


class RunNotFound(AiError, NotFound):
    code = "ai_run_not_found"


class FindingNotFound(AiError, NotFound):
    code = "ai_finding_not_found"


class InvalidManifest(AiError, Unprocessable):
    code = "ai_invalid_manifest"


class InvalidModel(AiError, Unprocessable):
    code = "ai_invalid_model"


class VersionExists(AiError, Conflict):
    code = "ai_version_exists"


class UnknownAlgorithm(AiError, Unprocessable):
    code = "ai_unknown_algorithm"


class ModelDisabled(AiError, Conflict):
    code = "ai_model_disabled"


class AlreadyReviewed(AiError, Conflict):
    code = "ai_already_reviewed"


class FindingVersionConflict(AiError, Conflict):
    code = "ai_finding_version_conflict"


class GeometryOutOfBounds(AiError, Unprocessable):
    code = "ai_geometry_out_of_bounds"


class GeometryInvalid(AiError, Unprocessable):
    code = "ai_geometry_invalid"


class NoMask(AiError, NotFound):
    code = "ai_no_mask"


class ReviewNeedsChange(AiError, Unprocessable):
    code = "ai_review_needs_change"


class RunFailure(AiError, Unprocessable):
    """A run cannot succeed: it is marked failed with this reason, never retried."""

    code = "ai_processing_failure"


class ModelCorrupt(RunFailure):
    code = "ai_model_corrupt"


class ModelMissing(RunFailure):
    code = "ai_model_missing"


class WrongInputShape(RunFailure):
    code = "ai_wrong_input_shape"


class WrongOutputShape(RunFailure):
    code = "ai_wrong_output_shape"


class NoImages(RunFailure):
    code = "ai_no_images"


class UnreadableImage(RunFailure):
    code = "ai_unreadable_image"


class InferenceTimeout(RunFailure):
    code = "ai_timeout"


class InferenceFailed(RunFailure):
    code = "ai_inference_failed"


class ExportFailed(RunFailure):
    code = "ai_export_failed"


class NotT1Weighted(RunFailure):
    code = "ai_not_t1"


class NotVolume(RunFailure):
    code = "ai_not_volume"
