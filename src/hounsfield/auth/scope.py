"""Which studies a user may read (SECURITY.md A6, A11): the one place that decides it.

A user in one or more groups reads only the studies whose department (the DICOM
InstitutionalDepartmentName stored at ingest) is a department of their groups; a user in
no group is not scoped. A DICOM peer whose device has a department is scoped the same way.
Break-glass: a scoped user may claim emergency access with a reason; until it expires they
read every study. The claim is a Security Alert; the reads are audited as usual.

The scope of the request travels in a context variable, set once when the caller is
authenticated (auth/deps.py, dimse/scp.py), so the queries that select studies
(studies/queries.py, studies/refs.py, studies/service.py) add one condition: `visible()`.
Work with no caller (background tasks) is not scoped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.auth.models import BreakGlass
from hounsfield.db import utcnow
from hounsfield.errors import PermissionDenied
from hounsfield.studies.models import Study
from hounsfield.users.models import User


class OutOfScope(PermissionDenied):
    """This study belongs to another department. In an emergency, claim break-glass access
    (POST /api/auth/break-glass) with a reason."""

    code = "out_of_scope"


class BreakGlassExpired(PermissionDenied):
    """Your emergency (break-glass) access has expired; claim it again with a reason."""

    code = "break_glass_expired"


@dataclass(frozen=True)
class ReadScope:
    departments: frozenset[str] | None  # None: every study
    break_glass_until: datetime | None = None  # set while emergency access widens the scope
    break_glass_expired: bool = False
    actor: Actor | None = None

    @property
    def scoped(self) -> bool:
        return self.departments is not None


UNSCOPED = ReadScope(None)
_current: ContextVar[ReadScope] = ContextVar("read_scope", default=UNSCOPED)


def readable(session: Session, user: User) -> ReadScope:
    """What `user` may read now: the decision every study query follows."""
    if not user.groups:
        return ReadScope(None, actor=user)
    departments = frozenset(g.department for g in user.groups)
    latest = session.scalar(
        select(BreakGlass.expires_at)
        .where(BreakGlass.user_id == user.id)
        .order_by(BreakGlass.expires_at.desc())
        .limit(1)
    )
    if latest is not None and latest > utcnow():
        return ReadScope(None, break_glass_until=latest, actor=user)
    return ReadScope(departments, break_glass_expired=latest is not None, actor=user)


def for_department(department: str) -> ReadScope:
    """A DICOM peer's scope: its device's department, or every study if it has none."""
    return ReadScope(frozenset({department})) if department else UNSCOPED


def bind(scope: ReadScope) -> None:
    _current.set(scope)


@contextmanager
def bound(scope: ReadScope) -> Iterator[None]:
    token = _current.set(scope)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> ReadScope:
    return _current.get()


def visible() -> ColumnElement[bool]:
    """The condition on Study that keeps the query within the current scope."""
    scope = _current.get()
    if scope.departments is None:
        return true()
    return Study.department.in_(sorted(scope.departments))


def explain_missing(session: Session, study_uid: str) -> None:
    """After a lookup by UID found nothing in scope: 403 when the study exists elsewhere
    (with the way out: break-glass), else return (the caller answers 404)."""
    scope = _current.get()
    if not scope.scoped:
        return
    exists = session.scalar(
        select(Study.id).where(Study.study_instance_uid == study_uid, Study.deleted_at.is_(None))
    )
    if exists is None:
        return
    if scope.break_glass_expired:
        raise BreakGlassExpired()
    raise OutOfScope()


MAX_MINUTES = 240


def claim_break_glass(session: Session, user: User, reason: str, minutes: int) -> BreakGlass:
    """Emergency access for `minutes` (time-boxed), audited as a Security Alert."""
    row = BreakGlass(
        user_id=user.id,
        reason=reason,
        started_at=utcnow(),
        expires_at=utcnow() + timedelta(minutes=min(minutes, MAX_MINUTES)),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, "auth.break_glass", user, resource_type="user", resource_id=str(user.id),
        detail={"reason": reason, "minutes": minutes, "until": row.expires_at.isoformat()},
    )  # fmt: skip
    return row
