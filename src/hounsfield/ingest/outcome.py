"""What became of one ingested instance, and how each edge says it.

One `Outcome` type for every entry point (STOW-RS, uploads, C-STORE, demo data), one table of
the DICOM statuses it maps to, and the reasons in zh-CN (the default) or English.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from hounsfield.dicom.parse import Note

Status = Literal["stored", "duplicate", "refused", "conflict", "mismatch", "unavailable", "error"]

# status → (C-STORE status, STOW-RS Failure Reason), PS3.4 Annex B / PS3.18 Table 10.5.3-1.
# Success statuses turn into 0xB000 (coercion) when the outcome carries notes.
SUCCESS = 0x0000
WARNING_COERCION = 0xB000
STATUS_CODES: dict[Status, tuple[int, int]] = {
    "stored": (SUCCESS, SUCCESS),
    "duplicate": (SUCCESS, SUCCESS),
    "refused": (0xC000, 0xC000),  # cannot understand
    "conflict": (0xA900, 0x0111),  # data set does not match SOP class / duplicate SOP instance
    "mismatch": (0xA900, 0xA900),  # not of the study the request names
    "unavailable": (0xA700, 0xA700),  # out of resources: retry later
    "error": (0x0110, 0x0110),  # processing failure
}

# The reasons an edge adds to the parser's (dicom.parse.REASONS), in English.
EDGE_REASONS = {
    "conflict": "another object is stored under this SOP Instance UID",
    "mismatch": "the instance is not of the study the request names",
    "media_type": "the part is not application/dicom",
    "storage_unavailable": "storage unavailable, retry later",
    "database_unavailable": "database unavailable, retry later",
    "processing_failure": "processing failure",
    "other_patient": "instance names another patient than its study; kept the study's patient",
    "resend": "the same instance was already stored (another encoding); kept one copy",
}

ZH_CN = {
    "not_dicom": "不是 DICOM 文件（没有 DICM 前缀，也不是可读的数据集）",
    "malformed": "DICOM 数据格式错误",
    "malformed_or_truncated": "DICOM 数据格式错误或被截断",
    "empty_dataset": "DICOM 数据集为空",
    "unreadable_meta": "文件元信息无法读取",
    "bad_transfer_syntax": "文件元信息中缺少传输语法 UID 或其无效",
    "deflate_bomb": "压缩数据集解压后超过允许的大小",
    "corrupt_deflate": "压缩数据集已损坏",
    "pixel_attributes_invalid": "像素数据缺少有效的 Rows、Columns 或 BitsAllocated",
    "pixel_dimensions_invalid": "像素数据的图像尺寸为零或负数",
    "pixel_too_large": "图像尺寸超过允许的像素数据大小",
    "pixel_truncated": "像素数据被截断（短于其声明的长度）",
    "pixel_short": "像素数据短于 Rows × Columns × Frames × Bits",
    "pixel_undefined_length": "非压缩传输语法中的像素数据长度未定义",
    "fragments_truncated": "封装的像素数据被截断",
    "fragments_malformed": "封装的像素数据格式错误",
    "fragments_too_many": "像素数据片段过多",
    "element_truncated": "元素 {tag} 被截断（长于剩余的字节）",
    "element_malformed": "元素 {tag} 格式错误",
    "uid_missing": "缺少 {keyword}",
    "uid_invalid": "{keyword} 无效（不是 DICOM UID）",
    "attributes_malformed": "属性值格式错误",
    "bare_dataset_unreadable": "不是 DICOM 文件（无法读取裸数据集）",
    "charset_guessed": "缺少 Specific Character Set；文本按 {charset} 解码",
    "meta_uid_differs": "文件元信息中的 SOP Instance UID 与数据集中的不同",
    "preamble_zeroed": "非 DICOM 的前导码已替换为零",
    "bare_dataset": "裸数据集已加上文件元信息保存",
    "conflict": "此 SOP Instance UID 下已保存另一个对象",
    "mismatch": "该实例不属于请求指定的检查",
    "media_type": "该部分不是 application/dicom",
    "storage_unavailable": "存储不可用，请稍后重试",
    "database_unavailable": "数据库不可用，请稍后重试",
    "processing_failure": "处理失败",
    "other_patient": "实例指向的患者与其检查的患者不同；保留检查的患者",
    "resend": "同一实例已保存（另一种编码）；只保留一份",
}

Language = Literal["zh-CN", "en"]


class Ids(TypedDict):
    """What identifies the instance of an Outcome."""

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    transfer_syntax_uid: str
    patient_id: str


def text(note: Note, language: Language = "zh-CN") -> str:
    """The reason in `language` (zh-CN unless English was asked for)."""
    from hounsfield.dicom.parse import REASONS

    params = dict(note.params)
    if language == "zh-CN" and note.code in ZH_CN:
        return ZH_CN[note.code].format(**params)
    template = REASONS.get(note.code) or EDGE_REASONS.get(note.code) or note.code
    return template.format(**params)


def language(accept_language: str | None) -> Language:
    """English when Accept-Language prefers it over Chinese, else zh-CN (the default)."""
    best: tuple[float, Language] | None = None
    for piece in (accept_language or "").split(","):
        tag, _, params = piece.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        found: Language | None = "en" if tag.startswith("en") else None
        if tag.startswith("zh") or tag == "*":
            found = "zh-CN"
        if found and q > 0 and (best is None or q > best[0]):
            best = (q, found)
    return best[1] if best else "zh-CN"


@dataclass(frozen=True)
class Outcome:
    """What became of one instance: stored or a duplicate (notes as warnings), or why not.

    `reason` says why it was not stored; `notes` are what was coerced or noticed on the
    way (a zeroed preamble, a guessed character set). Neither holds PHI.
    """

    status: Status
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    patient_id: str = ""
    transfer_syntax_uid: str = ""
    reason: Note | None = None
    notes: tuple[Note, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in ("stored", "duplicate")

    @property
    def warning(self) -> str | None:
        """The notes in English, or None."""
        return "; ".join(text(n, "en") for n in self.notes) or None

    def message(self, language: Language = "zh-CN") -> str | None:
        """The reason (or, for a stored instance, the notes) in `language`."""
        if self.reason is not None:
            return text(self.reason, language)
        return "; ".join(text(n, language) for n in self.notes) or None

    @property
    def dimse_status(self) -> int:
        code = STATUS_CODES[self.status][0]
        return WARNING_COERCION if code == SUCCESS and self.notes else code

    @property
    def stow_reason(self) -> int:
        """FailureReason for a failed SOP, WarningReason (0xB000) or 0 for a stored one."""
        code = STATUS_CODES[self.status][1]
        return WARNING_COERCION if code == SUCCESS and self.notes else code
