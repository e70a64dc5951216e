"""HTTP: /api/report-phrases (常用语)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.reports import phrases
from hounsfield.reports.models import ReportPhrase
from hounsfield.reports.schemas import PhraseCreate, PhraseRead, PhraseUpdate
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/report-phrases", tags=["reports"])

Reader = Annotated[User, requires(Permission.report_read)]
Writer = Annotated[User, requires(Permission.report_write)]


def read(user: User, phrase: ReportPhrase) -> PhraseRead:
    return PhraseRead.model_validate(
        {**{c: getattr(phrase, c) for c in PhraseRead.model_fields if hasattr(phrase, c)},
         "shared": phrase.owner_id is None, "editable": phrases.editable(user, phrase)}
    )  # fmt: skip


@router.get("")
def list_phrases(
    user: Reader,
    session: SessionDep,
    modality: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Z0-9_ ]*$")] = None,
    language: Annotated[str | None, Query(pattern=r"^(zh-CN|en)$")] = None,
) -> list[PhraseRead]:
    """The shared phrases and the caller's own (a phrase without modality fits all)."""
    return [read(user, p) for p in phrases.list_phrases(session, user, modality, language)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_phrase(body: PhraseCreate, user: Writer, session: WriteSessionDep) -> PhraseRead:
    """A personal phrase, or with `shared` (report:template) one for everyone."""
    return read(user, phrases.create(session, user, body.values(), shared=body.shared))


@router.patch("/{phrase_id}")
def update_phrase(
    phrase_id: uuid.UUID, body: PhraseUpdate, user: Writer, session: WriteSessionDep
) -> PhraseRead:
    """The owner changes a personal phrase; report:template a shared one."""
    return read(user, phrases.update(session, user, phrase_id, body.changes()))


@router.delete("/{phrase_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_phrase(phrase_id: uuid.UUID, user: Writer, session: WriteSessionDep) -> Response:
    phrases.delete(session, user, phrase_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
