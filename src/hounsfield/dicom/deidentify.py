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

The output declares (0012,0062) YES, (0012,0063) and (0012,0064) with codes 113100 and
113107, and (0028,0303) MODIFIED.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
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
    "BurnedInAnnotationRisk",
    "Deidentifier",
    "burned_in_annotation_risk",
]

DEIDENTIFICATION_METHOD = "Hounsfield PS3.15 E.1 Basic Profile; Retain Long. Modified Dates"

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
        self._walk(ds, shift, pseudonym)
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = DEIDENTIFICATION_METHOD
        ds.DeidentificationMethodCodeSequence = Sequence(
            [
                _code("113100", "Basic Application Confidentiality Profile"),
                _code("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
            ]
        )
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
            elem.value = _map_values(elem.value, self.uid)
        elif action in ("Z", "ZU"):
            elem.value = b"" if elem.VR in _BINARY_VRS else ""
        elif action == "D":
            elem.value = _dummy(elem.VR)


_BINARY_VRS = ("OB", "OD", "OF", "OL", "OV", "OW", "UN")


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
