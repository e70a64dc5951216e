"""What other domains plug into patients: merge hooks and timeline providers.

A domain whose rows belong to a patient record (orders, reports, ...) registers a
`MergeHook` at import: a merge calls `move` and keeps the ids it returns, an undo gives the
same ids to `restore`, so the undo moves back exactly what the merge moved, no more. A
`TimelineProvider` adds the domain's events to a patient's timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

RowId = int | str


@dataclass(frozen=True)
class MergeHook:
    name: str
    #: (session, source_id, target_id) → the ids of the rows moved from source to target
    move: Callable[[Session, int, int], Sequence[RowId]]
    #: (session, source_id, ids) → move those rows back to the source
    restore: Callable[[Session, int, Sequence[RowId]], None]


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "visit" | "study" | "order" | "report"
    at: datetime | date
    title: str
    ref: str


TimelineProvider = Callable[[Session, int], Sequence[TimelineEntry]]

MERGE_HOOKS: dict[str, MergeHook] = {}
TIMELINE_PROVIDERS: dict[str, TimelineProvider] = {}


def register_merge_hook(hook: MergeHook) -> None:
    MERGE_HOOKS[hook.name] = hook


def register_timeline_provider(name: str, provider: TimelineProvider) -> None:
    TIMELINE_PROVIDERS[name] = provider
