"""Checks of patient fields (GB 11643 national ID, phone, ICD-10) and their masked forms."""

from __future__ import annotations

import re
from datetime import date

from hounsfield.errors import Unprocessable

# GB 11643-1999: the 18th character checks the first 17 (ISO 7064 MOD 11-2).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_NATIONAL_ID = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")  # area code + number, e.g. 010 12345678
_PHONE_SEPARATORS = re.compile(r"[\s()\-]")
# ICD-10 (WHO) and the Chinese clinical editions' extensions: J18.9, I10.x00x002.
_ICD10 = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Za-z]{1,8})?$")

MESSAGES: dict[str, tuple[str, str]] = {
    "national_id_invalid": (
        "身份证号无效（应为 18 位，末位校验码须符合 GB 11643）",
        "The national ID is not valid (18 characters with a GB 11643 check digit).",
    ),
    "phone_invalid": (
        "电话号码无效（手机号 11 位，或带区号的固定电话）",
        "The phone number is not valid (an 11-digit mobile or a landline with area code).",
    ),
    "birth_date_mismatch": (
        "出生日期与身份证号中的出生日期不一致",
        "The birth date differs from the one inside the national ID.",
    ),
    "icd10_invalid": (
        "ICD-10 编码格式无效（例如 J18.9）",
        "The ICD-10 code is not well-formed (e.g. J18.9).",
    ),
    "mrn_taken": ("该病历号已被使用", "This MRN is already in use for this issuer."),
}


class PatientFieldInvalid(Unprocessable):
    """A patient field failed its check; `code` names which (the UI translates by it)."""

    def __init__(self, code: str, field: str, *, english: bool = False) -> None:
        zh, en = MESSAGES[code]
        super().__init__(en if english else zh, details={"field": field})
        self.code = code


def national_id_birth_date(value: str) -> date | None:
    """The birth date written inside an 18-character national ID, if it is a real date."""
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def normalize_national_id(value: str, *, english: bool = False) -> str:
    """The ID upper-cased and checked: 17 digits, a valid check character, a real birth date."""
    text = value.strip().upper()
    if not _NATIONAL_ID.match(text):
        raise PatientFieldInvalid("national_id_invalid", "national_id", english=english)
    total = sum(int(digit) * weight for digit, weight in zip(text[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != text[17] or national_id_birth_date(text) is None:
        raise PatientFieldInvalid("national_id_invalid", "national_id", english=english)
    return text


def check_birth_date(national_id: str | None, birth_date: date | None, *, english: bool) -> None:
    if national_id and birth_date and national_id_birth_date(national_id) != birth_date:
        raise PatientFieldInvalid("birth_date_mismatch", "birth_date", english=english)


def normalize_phone(value: str, *, english: bool = False) -> str:
    """Digits only (a +86 / 0086 country code dropped); a mobile or a landline."""
    text = _PHONE_SEPARATORS.sub("", value.strip())
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if not (_MOBILE.match(text) or _LANDLINE.match(text)):
        raise PatientFieldInvalid("phone_invalid", "phone", english=english)
    return text


def check_icd10(value: str, *, english: bool = False) -> str:
    text = value.strip()
    if not _ICD10.match(text):
        raise PatientFieldInvalid("icd10_invalid", "icd10_code", english=english)
    return text


def mask(value: str) -> str:
    """`110***********002X`, `138****8000`: the first three and last four characters stay."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
