"""De-identification: PS3.15 Annex E Basic Application Confidentiality Profile with the
Retain Longitudinal Temporal Information with Modified Dates Option.

The attribute actions are Table E.1-1 as published by the ``dicom-anonymizer`` package
(its 2026c table), applied here with our own choices where the table offers several:

- ``X`` remove, ``Z`` empty, ``D`` dummy value, ``U`` consistent UID remapping (keyed hash,
  so the same study exported twice gets the same new UIDs and references still resolve);
- ``X/Z``, ``X/Z/D`` → empty; ``Z/D``, ``X/D`` → dummy; ``X/Z/U*`` → remap UIDs, else empty;
- times are kept (dates move by whole days, so they stay consistent), but not birth time;
- dates and date-times the table would remove, empty or replace are instead shifted by a
  whole number of days, constant per patient (PS3.15 E.3.6 Modified Dates), except the
  patient's birth date, which is emptied;
- private attributes, curves (50xx) and overlay comments/data (60xx,4000/3000) are removed;
- sequences are walked item by item with the same rules.

Two options of PS3.15 E.3 may be chosen explicitly (the default is the safe profile):

- **Retain UIDs** (E.3.9, code 113110): UIDs the table would remap (``U``) are kept, so the
  copy can be matched with the original (e.g. to send results back to the same study);
- **Clean Descriptors** (E.3.5, code 113105): the descriptions the profile would remove
  (study and series description, protocol name, comments, ...: ``DESCRIPTORS``) are kept
  with identifying text taken out: every identifying value of the same object (names and
  their components, IDs, accession number, institution, dates) wherever it occurs in them,
  and anything that looks like a date or a number of six or more digits.

The output declares (0012,0062) YES, (0012,0063) and (0012,0064) with codes 113100,
113107 and those of the chosen options, and (0028,0303) MODIFIED.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from dicomanonymizer.dicom_anonymization_databases import (  # type: ignore[import-untyped]
    dicomfields_2026c as table,
)
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag

__all__ = [
    "DEIDENTIFICATION_METHOD",
    "DESCRIPTORS",
    "BurnedInAnnotationRisk",
    "Deidentifier",
    "burned_in_annotation_risk",
]

DEIDENTIFICATION_METHOD = "Hounsfield PS3.15 E.1 Basic Profile; Retain Long. Modified Dates"

#: Table E.1-1's Clean Descriptors column: kept, cleaned, under that option.
DESCRIPTORS: frozenset[int] = frozenset({
    0x00081030, 0x0008103E, 0x00081080, 0x00082111, 0x00102000, 0x00102110,
    0x00102180, 0x001021B0, 0x00104000, 0x00180010, 0x00181030, 0x00184000, 0x00189424,
    0x00204000, 0x00209158, 0x00321030, 0x00321060, 0x00321070, 0x00324000, 0x00380040,
    0x00380062, 0x00380500, 0x00384000, 0x00400007, 0x00400254, 0x00400280, 0x00401002,
    0x00401400, 0x00402400, 0x20300020, 0x40004000,
})  # fmt: skip
_TEXT_VRS = ("LO", "LT", "SH", "ST", "UT", "UC")
#: Values of these VRs, where the profile acts on them, are what a descriptor is cleaned of.
_IDENTIFYING_VRS = ("PN", "LO", "SH", "LT", "ST", "UT", "UC", "DA", "DT", "AE")
_LOOKS_IDENTIFYING = re.compile(r"\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?|\d{6,}")

_Action = str  # one of "X", "Z", "D", "U", "ZU"


def _actions() -> dict[int, _Action]:
    out: dict[int, _Action] = {}
    groups: list[tuple[list[tuple[int, ...]], _Action]] = [
        (table.X_TAGS, "X"),
        (table.Z_TAGS, "Z"),
        (table.D_TAGS, "D"),
        (table.U_TAGS, "U"),
        (table.Z_D_TAGS, "D"),
        (table.X_D_TAGS, "D"),
        (table.X_Z_TAGS, "Z"),
        (table.X_Z_D_TAGS, "Z"),
        (table.X_Z_U_STAR_TAGS, "ZU"),
    ]
    for tags, action in groups:
        for entry in tags:
            if len(entry) == 2:  # masked entries (curves, overlays) are handled by group
                out[(entry[0] << 16) | entry[1]] = action
    return out


ACTIONS: dict[int, _Action] = _actions()

_PATIENT_ID = 0x00100020
_PATIENT_NAME = 0x00100010
_BIRTH_DATE = 0x00100030
_BIRTH_TIME = 0x00100032
_DATE_VRS = ("DA", "DT")


class BurnedInAnnotationRisk(ValueError):
    """The pixels may carry burned-in identifying text; the Basic Profile cannot clean them."""


def burned_in_annotation_risk(ds: Dataset) -> str | None:
    """Say why `ds` may have identifying text in its pixels, or None (PS3.15 E.1.1).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset

    Returns
    -------
    str or None
        A reason: BurnedInAnnotation is YES, or a modality that usually burns in text
        (US, SC, XA, ES) without BurnedInAnnotation NO.
    """
    if "PixelData" not in ds and "Rows" not in ds:
        return None
    burned = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if burned == "YES":
        return "BurnedInAnnotation is YES"
    modality = str(ds.get("Modality", "") or "").strip().upper()
    if burned != "NO" and modality in ("US", "SC", "XA", "ES", "OT"):
        return f"{modality} images may carry burned-in annotations (BurnedInAnnotation not NO)"
    return None


@dataclass
class Deidentifier:
    """Applies the profile with a secret key that makes UIDs and pseudonyms consistent.

    Parameters
    ----------
    key : bytes
        Secret; the same key maps the same UID, patient ID and date offset the same way.
    """

    key: bytes
    retain_uids: bool = False  # PS3.15 E.3.9 Retain UIDs Option (113110)
    clean_descriptors: bool = False  # PS3.15 E.3.5 Clean Descriptors Option (113105)
    _identifying: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    @property
    def method(self) -> tuple[list[str], list[tuple[str, str]]]:
        """(0012,0063) values (LO, 64 characters each) and (0012,0064) codes for the
        profile and the chosen options."""
        codes = [
            ("113100", "Basic Application Confidentiality Profile"),
            ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
        ]
        text = [DEIDENTIFICATION_METHOD]
        if self.clean_descriptors:
            codes.append(("113105", "Clean Descriptors Option"))
            text.append("Clean Descriptors Option")
        if self.retain_uids:
            codes.append(("113110", "Retain UIDs Option"))
            text.append("Retain UIDs Option")
        return text, codes

    def _digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.key, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()

    def uid(self, value: str) -> str:
        """A new UID under the 2.25 root (PS3.5 B.2), derived from `value` by keyed hash."""
        return "2.25." + str(int.from_bytes(self._digest("uid", value)[:16], "big"))

    def pseudonym(self, patient_id: str) -> str:
        """A stable pseudonymous patient ID."""
        return "ANON" + self._digest("patient", patient_id).hex()[:12].upper()

    def day_offset(self, patient_id: str) -> int:
        """Days (negative, 1–11 years) by which this patient's dates move."""
        return -(365 + int.from_bytes(self._digest("dates", patient_id)[:4], "big") % 3650)

    def apply(self, ds: Dataset) -> Dataset:
        """De-identify `ds` in place and return it.

        Parameters
        ----------
        ds : pydicom.dataset.Dataset
            A dataset with or without file meta.

        Returns
        -------
        pydicom.dataset.Dataset
        """
        patient_id = str(ds.get("PatientID", "") or "")
        shift = timedelta(days=self.day_offset(patient_id))
        pseudonym = self.pseudonym(patient_id)
        self._identifying = (
            _pattern(self._identifying_values(ds)) if self.clean_descriptors else None
        )
        self._walk(ds, shift, pseudonym)
        ds.PatientIdentityRemoved = "YES"
        text, codes = self.method
        ds.DeidentificationMethod = text if len(text) > 1 else text[0]
        ds.DeidentificationMethodCodeSequence = Sequence([_code(*c) for c in codes])
        ds.LongitudinalTemporalInformationModified = "MODIFIED"
        meta = getattr(ds, "file_meta", None)
        if isinstance(meta, FileMetaDataset):
            self._clean_meta(meta, ds)
        return ds

    def _clean_meta(self, meta: FileMetaDataset, ds: Dataset) -> None:
        if "SOPInstanceUID" in ds:
            meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                        "ReceivingApplicationEntityTitle", "SourcePresentationAddress",
                        "SendingPresentationAddress", "ReceivingPresentationAddress",
                        "PrivateInformation", "PrivateInformationCreatorUID"):  # fmt: skip
            if keyword in meta:
                delattr(meta, keyword)

    def _walk(self, ds: Dataset, shift: timedelta, pseudonym: str) -> None:
        for tag in list(ds.keys()):
            elem = ds[tag]
            action = self._action_for(tag)
            if self._identifying is not None and int(tag) in DESCRIPTORS and elem.VR in _TEXT_VRS:
                elem.value = _clean(elem.value, self._identifying)
                continue
            if elem.VR == "TM" and int(tag) != _BIRTH_TIME and not Tag(tag).is_private:
                continue  # times stay: dates move by whole days, so intervals are kept (E.3.6)
            if action == "X":
                del ds[tag]
                continue
            if elem.VR == "SQ":
                if action in ("Z",):
                    elem.value = Sequence()
                    continue
                for item in elem.value:
                    self._walk(item, shift, pseudonym)
                continue
            if action is None:
                continue
            self._transform(elem, action, shift, pseudonym)

    def _identifying_values(self, ds: Dataset) -> Iterator[str]:
        """The values the profile takes out of `ds` (nested too): what descriptors must lose."""
        for elem in ds.iterall():
            tag = int(elem.tag)
            if elem.VR not in _IDENTIFYING_VRS or tag in DESCRIPTORS:
                continue
            if self._action_for(elem.tag) is None or elem.value in (None, ""):
                continue
            values = elem.value if isinstance(elem.value, MultiValue | list) else [elem.value]
            for value in values:
                text = str(value).strip()
                yield text
                if elem.VR == "PN":  # each component, and each group written as one word
                    for group in text.split("="):
                        parts = [p for p in re.split(r"[\^\s]+", group) if p]
                        yield "".join(parts)
                        yield from parts
                elif elem.VR == "DA" and len(text) == 8:
                    yield from (f"{text[:4]}{sep}{text[4:6]}{sep}{text[6:]}" for sep in "-./")

    def _action_for(self, tag: BaseTag) -> _Action | None:
        value = int(tag)
        if Tag(value).is_private:
            return "X"
        group, element = value >> 16, value & 0xFFFF
        if 0x5000 <= group <= 0x50FF:  # curves (retired)
            return "X"
        if 0x6000 <= group <= 0x60FF and group % 2 == 0 and element in (0x3000, 0x4000):
            return "X"  # overlay data and comments
        return ACTIONS.get(value)

    def _transform(
        self, elem: DataElement, action: _Action, shift: timedelta, pseudonym: str
    ) -> None:
        tag = int(elem.tag)
        if tag == _PATIENT_ID:
            elem.value = pseudonym
        elif tag == _PATIENT_NAME:
            elem.value = pseudonym
        elif tag == _BIRTH_DATE:
            elem.value = ""
        elif elem.VR in _DATE_VRS and action in ("Z", "D", "ZU"):
            elem.value = _shift_value(elem.value, elem.VR, shift)
        elif elem.VR == "UI":
            if not (self.retain_uids and action in ("U", "ZU")):
                elem.value = _map_values(elem.value, self.uid)
        elif action in ("Z", "ZU"):
            elem.value = b"" if elem.VR in _BINARY_VRS else ""
        elif action == "D":
            elem.value = _dummy(elem.VR)


_BINARY_VRS = ("OB", "OD", "OF", "OL", "OV", "OW", "UN")


def _pattern(values: Iterator[str]) -> re.Pattern[str]:
    """One case-insensitive pattern for every identifying value, the longest first.
    Short Latin values (one or two letters: a sex, an initial) would mangle words and
    identify no one; any CJK value is kept, as one character can be a given name."""
    kept = {v for v in values if len(v) > 2 or (v and not v.isascii())}
    words = sorted(kept, key=len, reverse=True)
    alternatives = [re.escape(w) for w in words] + [_LOOKS_IDENTIFYING.pattern]
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _clean(value: object, identifying: re.Pattern[str]) -> object:
    def one(text: str) -> str:
        return " ".join(identifying.sub(" ", str(text)).split())

    if isinstance(value, list | tuple | MultiValue):
        return [one(v) for v in value]
    return one(str(value)) if value not in (None, "") else value


def _map_values(value: object, mapper: Callable[[str], str]) -> object:
    if isinstance(value, list | tuple | MultiValue):
        return [mapper(str(v)) for v in value]
    return mapper(str(value)) if value not in (None, "") else value


def _shift_value(value: object, vr: str, shift: timedelta) -> object:
    def one(text: str) -> str:
        text = str(text).strip()
        if not text:
            return ""
        try:
            if vr == "DA":
                day = date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
                return (day + shift).strftime("%Y%m%d")
            stamp = datetime(int(text[0:4]), int(text[4:6] or 1), int(text[6:8] or 1))
            return (stamp + shift).strftime("%Y%m%d") + text[8:]
        except (ValueError, IndexError):
            return ""  # unparseable dates are removed rather than kept

    if isinstance(value, list | tuple | MultiValue):
        return [one(v) for v in value]
    return one(str(value)) if value not in (None, "") else value


def _dummy(vr: str) -> object:
    if vr in ("PN",):
        return "ANONYMOUS"
    if vr in ("LO", "SH", "LT", "ST", "UT", "UC", "CS", "AE"):
        return "ANONYMIZED"[: 16 if vr in ("SH", "CS", "AE") else 64]
    if vr in ("DS", "IS"):
        return "0"
    if vr in ("US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"):
        return 0
    if vr == "TM":
        return "000000"
    if vr == "AS":
        return "000Y"
    if vr in _BINARY_VRS:
        return b"\x00\x00"
    return ""


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item
