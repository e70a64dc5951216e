"""Patient search: the terms a patient is found by, and the query over them.

Every way to find a visible patient is a row of `patient_search_terms` (term, sort_name,
patient_id), whose primary key is the index: a search is one range scan, `term >= q AND
term < q'`, on SQLite, MariaDB and PostgreSQL alike (the column compares by code point
everywhere), and its cost grows with the matches, not with the number of patients. The
key holds the sort name, so the count and the page sorted by name read the key alone.

Terms are folded (NFKC, case-folded, accents and every non-alphanumeric removed):
- the MRN;
- the Chinese name from its first character and from the given name (张三丰, 三丰);
- its pinyin, whole and initials, from the same two places (zhangsanfeng, sanfeng, zsf,
  sf), for every reading of polyphonic characters (单 dan/shan/chan) as pypinyin knows
  them, at most MAX_READINGS combinations per name;
- the Latin name, in its own order and given-name first (zhangsanfeng, sanfengzhang);
- the phonetic name;
- keyed hashes of the national ID and phone (exact match only; see crypto.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin
from sqlalchemy import ColumnElement, and_, or_

from hounsfield.dicom.charset import fold_accents, normalize_text
from hounsfield.patients.models import PatientSearchTerm

TERM_LENGTH = 64
MAX_READINGS = 16  # pinyin combinations per name: 单曾解 has 3 × 2 × 2
HASH_MARK = "#"  # folded text never holds it, so a hash never meets a typed prefix


def fold(text: str) -> str:
    """The searchable form: `Zhang^San-Feng` → `zhangsanfeng`, `张 三丰` → `张三丰`."""
    folded = fold_accents(normalize_text(text))
    return "".join(c for c in folded if c.isalnum())[:TERM_LENGTH]


def _components(name: str) -> list[str]:
    return [fold(part) for part in name.split("^") if fold(part)]


def _given_start(components: list[str]) -> int:
    """Where the given name starts in the joined components (1 if the name is one word)."""
    if len(components) > 1:
        return len(components[0])
    word = components[0] if components else ""
    return 2 if len(word) >= 4 else 1  # 欧阳娜娜: a compound surname is likelier


@lru_cache(maxsize=65536)
def _char_readings(char: str) -> tuple[str, ...]:
    """Every pinyin reading of one character (another character stands for itself)."""
    found = pinyin(char, style=Style.NORMAL, heteronym=True, errors="default")
    readings = {fold(r) for r in found[0]} if found else set()
    readings.discard("")
    return tuple(sorted(readings)) or (char,)


@lru_cache(maxsize=65536)
def _usual_reading(char: str) -> str:
    return fold(lazy_pinyin(char)[0]) or char


def _readings(chars: str) -> list[tuple[str, ...]]:
    return [_char_readings(c) for c in chars]


def _spellings(readings: list[tuple[str, ...]]) -> set[str]:
    combos = itertools.islice(itertools.product(*readings), MAX_READINGS)
    found: set[str] = set()
    for combo in combos:
        found.add("".join(combo)[:TERM_LENGTH])
        found.add("".join(r[0] for r in combo)[:TERM_LENGTH])
    return found


def _chinese_terms(ideographic: str) -> set[str]:
    components = _components(ideographic)
    chars = "".join(components)
    if not chars:
        return set()
    readings = _readings(chars)
    terms: set[str] = set()
    starts = {0, _given_start(components)} if len(chars) > 1 else {0}
    for start in starts:
        terms.add(chars[start:])
        terms |= _spellings(readings[start:])
    return terms


def _latin_terms(alphabetic: str) -> set[str]:
    components = _components(alphabetic)
    if not components:
        return set()
    terms = {"".join(components)[:TERM_LENGTH]}
    if len(components) > 1:
        given_first = components[1:] + components[:1]
        terms |= {"".join(components[1:])[:TERM_LENGTH], "".join(given_first)[:TERM_LENGTH]}
    return terms


def hash_term(kind: str, digest: str) -> str:
    return f"{HASH_MARK}{kind}{digest[:40]}"


@dataclass(frozen=True)
class Searchable:
    mrn: str
    name_ideographic: str = ""
    name_alphabetic: str = ""
    name_phonetic: str = ""
    national_id_hash: str | None = None
    phone_hash: str | None = None


def terms(patient: Searchable) -> set[str]:
    """Every term the patient is found by."""
    found = {fold(patient.mrn)}
    found |= _chinese_terms(patient.name_ideographic)
    found |= _latin_terms(patient.name_alphabetic)
    found.add(fold(patient.name_phonetic))
    if patient.national_id_hash:
        found.add(hash_term("n", patient.national_id_hash))
    if patient.phone_hash:
        found.add(hash_term("p", patient.phone_hash))
    found.discard("")
    return found


def sort_name(ideographic: str, alphabetic: str) -> str:
    """The name the list sorts by: the pinyin of the Chinese name, else the Latin name."""
    chars = "".join(_components(ideographic))
    if chars:
        return ("".join(_usual_reading(c) for c in chars) + chars)[:200]
    return fold(alphabetic)


def _after(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def term_match(q: str, hashes: Iterable[str]) -> ColumnElement[bool] | None:
    """Terms starting with folded `q` or equal to one of `hashes`; None if none can match."""
    term = PatientSearchTerm.term
    alternatives: list[ColumnElement[bool]] = [term == h for h in hashes]
    prefix = fold(q)
    if prefix and ord(prefix[-1]) < 0x10FFFF:
        alternatives.append(and_(term >= prefix, term < _after(prefix)))
    if not alternatives:
        return None
    return or_(*alternatives)
