"""Character sets and person names (PS3.5 §6.1, §6.2.1 PN).

pydicom decodes text with the dataset's Specific Character Set (0008,0005), including
GB18030, GBK, ISO_IR 192 (UTF-8) and ISO 2022 IR 58; these helpers add what an index
needs: a fallback for senders that omit the character set, and names normalized for
searching (case-folded, Chinese characters kept).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

__all__ = [
    "PersonNameGroups",
    "clean_text",
    "fold_accents",
    "guess_character_set",
    "normalize_text",
    "person_name_groups",
    "search_text",
]

# Text VRs whose bytes the Specific Character Set governs (PS3.5 §6.1.2.3).
TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "PN", "UC"})


@dataclass(frozen=True)
class PersonNameGroups:
    """The three component groups of a PN value, decoded.

    Attributes
    ----------
    alphabetic, ideographic, phonetic : str
        Each group as sent, components separated by ``^`` (e.g. ``Zhang^Wei``, ``张^伟``).
    """

    alphabetic: str = ""
    ideographic: str = ""
    phonetic: str = ""

    @property
    def full(self) -> str:
        """The whole value, ``alphabetic=ideographic=phonetic`` without trailing ``=``."""
        return "=".join((self.alphabetic, self.ideographic, self.phonetic)).rstrip("=")

    def groups(self) -> tuple[str, str, str]:
        return (self.alphabetic, self.ideographic, self.phonetic)


def person_name_groups(value: object) -> PersonNameGroups:
    """Split a decoded person name into its component groups.

    Parameters
    ----------
    value : PersonName or str or None
        A value of a PN element as pydicom returns it (already decoded with the dataset's
        character set), or a plain string such as ``"Zhang^Wei=张^伟"``.

    Returns
    -------
    PersonNameGroups
        The groups with trailing ``^`` and spaces removed; empty groups for ``None``.
    """
    if value is None:
        return PersonNameGroups()
    if isinstance(value, PersonName):
        parts = [value.alphabetic, value.ideographic, value.phonetic]
    else:
        parts = [*str(value).split("="), "", "", ""][:3]
    cleaned = [_clean_group(part) for part in parts]
    return PersonNameGroups(*cleaned)


def _clean_group(group: str) -> str:
    group = clean_text(group)
    return "^".join(c.strip() for c in group.split("^")).rstrip("^")


# ISO 2022 escape sequences (PS3.5 §6.1.2.5.3): ESC, intermediate bytes, a final byte.
_ESCAPE = re.compile(r"\x1b[\x20-\x2f]*[\x30-\x7e]")


def clean_text(text: str) -> str:
    """Remove ISO 2022 escape sequences pydicom leaves in decoded text, and padding.

    Parameters
    ----------
    text : str
        Decoded text (e.g. ``"\\x1b$)A张^伟"`` from an ISO 2022 IR 58 value).

    Returns
    -------
    str
        The text without escape sequences and NULs (which PostgreSQL refuses in text),
        and without leading/trailing spaces.
    """
    return _ESCAPE.sub("", text).replace("\x00", "").strip(" ")


def normalize_text(text: str) -> str:
    """Normalize text for case-insensitive matching.

    Parameters
    ----------
    text : str
        Any decoded text.

    Returns
    -------
    str
        NFKC-normalized and case-folded (full-width Latin letters become ASCII; Chinese
        characters are kept as they are).

    Examples
    --------
    >>> normalize_text("ＺＨＡＮＧ^Wei")
    'zhang^wei'
    """
    return unicodedata.normalize("NFKC", text).casefold()


# Latin letters that carry their mark in the letter itself, so NFKD does not split it off.
_UNMARKED = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})


def fold_accents(text: str) -> str:
    """Remove the Latin diacritics of normalized text, for accent-insensitive matching.

    Parameters
    ----------
    text : str
        Text already passed through `normalize_text`.

    Returns
    -------
    str
        The text without combining diacritical marks (U+0300-U+036F) and with the few
        letters that hold their mark mapped to plain ones; Chinese characters and kana are
        kept as they are.

    Examples
    --------
    >>> fold_accents("buc^jérôme")
    'buc^jerome'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not 0x300 <= ord(c) <= 0x36F)
    return unicodedata.normalize("NFKC", bare).translate(_UNMARKED)


def search_text(groups: PersonNameGroups, extra: Iterable[str] = ()) -> str:
    """Build the text a name search (substring or component prefix) runs against.

    Parameters
    ----------
    groups : PersonNameGroups
        The person name.
    extra : iterable of str, optional
        More searchable words (none by default).

    Returns
    -------
    str
        Normalized words separated by single spaces, beginning with a space so that
        ``LIKE '% word%'`` finds a word at the start of any component: every name
        component of every group, then each group with its components joined without a
        separator (``张伟``, ``zhangwei``), so that ``张伟`` finds ``张^伟``.
    """
    words: list[str] = []
    for group in groups.groups():
        components = [normalize_text(c) for c in group.split("^") if c.strip()]
        for component in components:
            words.extend(component.split())
        if len(components) > 1:
            words.append("".join("".join(c.split()) for c in components))
    words.extend(normalize_text(w) for w in extra if w)
    seen: dict[str, None] = {}
    for word in words:
        seen.setdefault(word, None)
        seen.setdefault(fold_accents(word), None)
    return (" " + " ".join(seen)) if seen else ""


def guess_character_set(raw_values: Iterable[bytes]) -> str | None:
    """Guess the character set of text sent without a Specific Character Set.

    Parameters
    ----------
    raw_values : iterable of bytes
        Raw values of the dataset's text elements.

    Returns
    -------
    str or None
        ``None`` when every value is ASCII (the default repertoire fits); otherwise
        ``"ISO_IR 192"`` if all values are valid UTF-8, else ``"GB18030"`` if they are valid
        GB18030 (the usual case for modalities in China that omit the attribute), else
        ``"ISO_IR 100"`` (Latin-1, which decodes any byte).
    """
    non_ascii = [v for v in raw_values if v and any(b >= 0x80 for b in v)]
    if not non_ascii:
        return None
    for term, codec in (("ISO_IR 192", "utf-8"), ("GB18030", "gb18030")):
        try:
            for value in non_ascii:
                value.decode(codec)
        except UnicodeDecodeError:
            continue
        return term
    return "ISO_IR 100"


def declared_character_set(ds: Dataset) -> list[str]:
    """The dataset's Specific Character Set terms (empty list if absent)."""
    value = ds.get("SpecificCharacterSet")
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
