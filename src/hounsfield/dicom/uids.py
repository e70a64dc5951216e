"""UID syntax (DICOM PS3.5 §9.1)."""

from __future__ import annotations

import re

__all__ = ["MAX_UID_LENGTH", "is_valid_uid", "split_uid_list"]

MAX_UID_LENGTH = 64

# PS3.5 §9.1: components of digits separated by '.', no empty component, no leading zero
# unless the component is the single digit 0.
_UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")


def is_valid_uid(value: object) -> bool:
    """Tell whether `value` is a syntactically valid DICOM UID.

    Parameters
    ----------
    value : object
        The candidate; anything but a ``str`` is invalid.

    Returns
    -------
    bool
        ``True`` for at most 64 characters of digit components separated by single dots,
        with no leading zeros (PS3.5 §9.1).

    Examples
    --------
    >>> is_valid_uid("1.2.840.10008.1.2")
    True
    >>> is_valid_uid("1.02")
    False
    """
    if not isinstance(value, str) or not value or len(value) > MAX_UID_LENGTH:
        return False
    return _UID.fullmatch(value) is not None


def split_uid_list(value: str) -> list[str]:
    """Split a backslash-separated UID list (PS3.4 C.2.2.2.2 List of UID Matching).

    Parameters
    ----------
    value : str
        One UID or several separated by ``\\``; surrounding spaces and the NUL padding
        some senders leave are removed.

    Returns
    -------
    list of str
        The non-empty UIDs, in order (not validated).
    """
    return [part.strip(" \x00") for part in value.split("\\") if part.strip(" \x00")]
