"""Who hears of what: the domain events that notify people who did not ask for it.

- **report_approved** when a report is signed (final; an amendment, corrected or appended,
  with the variant "amended"): to the ordering doctor of the study's order when that name
  is a user's, and to the report's author; never to the signer.
- **ai_result_ready** when an AI run ends (the variant "failed" when it failed): to the user
  who asked for the run; for a run started on arrival (auto), to the study's assignee.
- **study_arrived_for_assignee** when someone assigns a study to a reader (not the reader
  themselves), and when new images of an assigned study arrive from outside (DIMSE, STOW-RS,
  upload): once per study per transfer (association or request), not once per instance.

Each is emitted in the transaction of its change (`notifications.service.emit` writes its
rows and outbox entries there and publishes in-app after commit), so a change rolled back
notifies nobody. The arrival comes from a post-commit ingest hook in a short transaction of
its own, once the instance is durable. Titles carry the accession number only (PARAM); an
accession that is not a plain identifier is sent as "-".
"""

from __future__ import annotations

import threading
import uuid
import weakref
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.ingest import hooks
from hounsfield.ingest.metrics import route_of
from hounsfield.notifications.service import PARAM, Kind, emit
from hounsfield.orders.models import Order
from hounsfield.studies.models import Study
from hounsfield.studies.service import Transfer, current_transfer
from hounsfield.users.models import User
from hounsfield.worklist.models import Reading

if TYPE_CHECKING:
    from hounsfield.ai.models import AiRun
    from hounsfield.reports.models import Report

#: Ingest routes that bring images from outside (not the archive's own SR/SEG writes).
ARRIVAL_ROUTES = frozenset({"dimse", "stow", "upload"})


def safe_accession(accession: str | None) -> str:
    return accession if accession and PARAM.fullmatch(accession) else "-"


def viewer_link(study_uid: str) -> str:
    return f"/viewer/?study={study_uid}"  # a UID is digits and dots: nothing to escape


def _accession_of(session: Session, study_uid: str) -> str:
    found = session.scalar(
        select(Study.accession_number).where(Study.study_instance_uid == study_uid)
    )
    return safe_accession(found)


def ordering_user(session: Session, study_uid: str) -> uuid.UUID | None:
    """The user who is the ordering doctor of the study's order, if that name is one.

    The order keeps a name (typed in, or the HL7 ORC-12 as `family^given`): it names a user
    whose username it is, else the one active user whose display name it is (the PN's
    components joined without or with a space). Two users of that name: nobody (a guess
    could tell the wrong doctor)."""
    ordered = select(Order.ordering_doctor).where(Order.study_instance_uid == study_uid)
    name = (session.scalar(ordered) or "").strip()
    if not name:
        return None
    people = select(User.id).where(User.active.is_(True), User.service_account.is_(False))
    by_username = session.scalar(people.where(User.username == name))
    if by_username is not None:
        return by_username
    spellings = {name, name.replace("^", ""), " ".join(name.replace("^", " ").split())}
    found = session.scalars(people.where(User.display_name.in_(spellings)).limit(2)).all()
    return found[0] if len(found) == 1 else None


def assignee_of(session: Session, study_uid: str) -> uuid.UUID | None:
    return session.scalar(
        select(Reading.assigned_to_id)
        .join(Study, Study.id == Reading.study_pk)
        .where(Study.study_instance_uid == study_uid)
    )


# -- reports --------------------------------------------------------------------------------


def report_signed(session: Session, report: Report, signer: User, *, amended: bool) -> None:
    """A report became final (or was amended): its ordering doctor and its author hear."""
    recipients = {report.author_id}
    doctor = ordering_user(session, report.study_instance_uid)
    if doctor is not None:
        recipients.add(doctor)
    recipients.discard(signer.id)
    if not recipients:
        return
    params: dict[str, str | int] = {"accession": _accession_of(session, report.study_instance_uid)}
    if amended:
        params["variant"] = "amended"
    emit(
        session, get_settings(), Kind.report_approved, recipients=sorted(recipients),
        params=params, link=viewer_link(report.study_instance_uid),
    )  # fmt: skip


# -- AI -------------------------------------------------------------------------------------


def ai_run_finished(session: Session, run: AiRun) -> None:
    """An AI run ended: whoever asked for it hears (an automatic run: the study's assignee)."""
    if run.triggered_by == "auto":
        recipient = assignee_of(session, run.study_instance_uid)
    elif run.requested_by:
        recipient = session.scalar(
            select(User.id).where(User.username == run.requested_by, User.active.is_(True))
        )
    else:
        recipient = None
    if recipient is None:
        return
    params: dict[str, str | int] = {"accession": _accession_of(session, run.study_instance_uid)}
    if run.status == "failed":
        params["variant"] = "failed"
    emit(
        session, get_settings(), Kind.ai_result_ready, recipients=[recipient], params=params,
        link=viewer_link(run.study_instance_uid),
    )  # fmt: skip


# -- arrivals and assignments -----------------------------------------------------------------


def study_assigned(session: Session, study: Study, assignee_id: uuid.UUID, by: User) -> None:
    """Someone assigned the study to a reader: the reader hears (not when it was themselves)."""
    if assignee_id == by.id:
        return
    _arrived(session, study, assignee_id)


def _arrived(session: Session, study: Study, assignee_id: uuid.UUID) -> None:
    emit(
        session, get_settings(), Kind.study_arrived_for_assignee, recipients=[assignee_id],
        params={"accession": safe_accession(study.accession_number)},
        link=viewer_link(study.study_instance_uid),
    )  # fmt: skip


# Studies whose arrival a transfer has looked at already (dropped with the transfer).
_seen: weakref.WeakKeyDictionary[Transfer, set[int]] = weakref.WeakKeyDictionary()
_seen_lock = threading.Lock()


def _first_in_transfer(study_pk: int) -> bool:
    """True for the first instance of the study in this transfer (always, outside one)."""
    current = current_transfer()
    if current is None:
        return True
    with _seen_lock:
        seen = _seen.setdefault(current, set())
        if study_pk in seen:
            return False
        seen.add(study_pk)
        return True


def _forget(study_pk: int) -> None:
    current = current_transfer()
    if current is not None:
        with _seen_lock:
            _seen.get(current, set()).discard(study_pk)


@hooks.on_stored
def _on_arrival(event: hooks.Stored) -> None:
    """New images of an assigned study arrived from outside: tell its assignee, once per
    transfer, unless the assignee sent them (nobody is told of their own upload). A new
    study has no assignee yet (its reading row comes with the first claim or assignment),
    so it costs nothing; an existing one costs one indexed read per transfer."""
    if event.new_study or route_of(event.origin) not in ARRIVAL_ROUTES:
        return
    if not _first_in_transfer(event.study_pk):
        return
    try:
        with transaction() as session:
            assignee = session.scalar(
                select(Reading.assigned_to_id).where(Reading.study_pk == event.study_pk)
            )
        if assignee is None or assignee == event.actor_id:
            return  # nobody to tell, or the assignee sent these images themselves
        with transaction(write=True) as session:
            study = session.get(Study, event.study_pk)
            if study is not None and study.deleted_at is None:
                _arrived(session, study, assignee)
    except Exception:
        _forget(event.study_pk)  # the next instance of this transfer tries again
        raise
