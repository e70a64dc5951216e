"""HTTP: /api/peer-reviews (RADPEER). Reviewers (report:approve) see their own queue and
score; the results are for report:qc only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.reports import peer_review, service
from hounsfield.reports.models import PeerReview, PeerReviewStatus, Report
from hounsfield.reports.router import read as read_report
from hounsfield.reports.schemas import (
    PeerReviewAssign,
    PeerReviewCreate,
    PeerReviewDetail,
    PeerReviewItem,
    PeerReviewQueue,
    PeerReviewResult,
    PeerReviewResults,
    PeerReviewScore,
    PeerReviewSummary,
    PersonRef,
)
from hounsfield.studies.models import Study
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/peer-reviews", tags=["reports"])

Reviewer = Annotated[User, requires(Permission.report_approve)]
QualityLead = Annotated[User, requires(Permission.report_qc)]


def _item(review: PeerReview, study: Study) -> PeerReviewItem:
    return PeerReviewItem(
        id=review.id, report_id=review.report_id, study_instance_uid=study.study_instance_uid,
        patient_name=study.patient_name, modality=study.modalities_in_study,
        study_date=study.study_date, assigned_at=review.assigned_at,
        status=PeerReviewStatus(review.status).value, score=review.score,
        significance=review.significance, comment=review.comment,
        reviewed_at=review.reviewed_at,
    )  # fmt: skip


@router.get("")
def my_queue(
    user: Reviewer,
    session: SessionDep,
    review_status: Annotated[PeerReviewStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PeerReviewQueue:
    """The caller's own reviews (`status=pending|done`), oldest assignment first."""
    total, rows = peer_review.queue(session, user, review_status, offset, limit)
    return PeerReviewQueue(total=total, items=[_item(r, s) for r, s in rows])


@router.post("", status_code=status.HTTP_201_CREATED)
def sample_by_hand(
    body: PeerReviewCreate, user: QualityLead, session: WriteSessionDep
) -> PeerReviewItem:
    """Put a signed report up for review; the reviewer given is checked, or one is drawn."""
    report = service.get(session, user, body.report_id)
    review = peer_review.create_by_hand(session, user, report, body.reviewer_id)
    return _item(review, peer_review.study_of(session, report))


@router.get("/results")
def review_results(
    user: QualityLead,
    session: SessionDep,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PeerReviewResults:
    """Every review created in [from, to), newest first, with the summary of them all."""
    summary, total, rows = peer_review.results(
        session, user, since=since, until=until, offset=offset, limit=limit
    )
    ids = {i for review, report, _ in rows
           for i in (report.author_id, report.approver_id, review.reviewer_id) if i}  # fmt: skip
    people = peer_review.people(session, ids)
    items = [_result(review, report, study, people) for review, report, study in rows]
    return PeerReviewResults(summary=PeerReviewSummary(**summary), total=total, items=items)


def _result(
    review: PeerReview, report: Report, study: Study, people: dict[uuid.UUID, User]
) -> PeerReviewResult:
    def person(user_id: uuid.UUID | None) -> PersonRef | None:
        found = people.get(user_id) if user_id else None
        return PersonRef(id=found.id, display_name=found.display_name,
                         username=found.username) if found else None  # fmt: skip

    return PeerReviewResult(
        id=review.id, report_id=report.id, study_instance_uid=study.study_instance_uid,
        modality=study.modalities_in_study, study_date=study.study_date,
        author=person(report.author_id), approver=person(report.approver_id),
        reviewer=person(review.reviewer_id), status=PeerReviewStatus(review.status).value,
        score=review.score, significance=review.significance, comment=review.comment,
        sampled=review.created_by is None, created_by=review.created_by,
        created_at=review.created_at, assigned_at=review.assigned_at,
        approved_at=report.approved_at, reviewed_at=review.reviewed_at,
    )  # fmt: skip


@router.get("/{review_id}")
def review_detail(review_id: uuid.UUID, user: Reviewer, session: SessionDep) -> PeerReviewDetail:
    """The review and the report under review, for its assigned reviewer."""
    review, report = peer_review.for_reviewer(session, user, review_id)
    item = _item(review, peer_review.study_of(session, report))
    return PeerReviewDetail(**item.model_dump(), report=read_report(report))


@router.post("/{review_id}/score")
def score_review(
    review_id: uuid.UUID, body: PeerReviewScore, user: Reviewer, session: WriteSessionDep
) -> PeerReviewItem:
    """The assigned reviewer scores once (RADPEER 1, 2a/2b, 3a/3b); 409 after."""
    review = peer_review.score(
        session, user, review_id, value=body.score, significance=body.significance,
        comment=body.comment,
    )  # fmt: skip
    return _item(review, peer_review.study_of(session, peer_review.report_of(session, review)))


@router.post("/{review_id}/assign")
def assign_review(
    review_id: uuid.UUID, body: PeerReviewAssign, user: QualityLead, session: WriteSessionDep
) -> PeerReviewItem:
    """Assign (or reassign) an open review to an eligible doctor."""
    review = peer_review.assign(session, user, review_id, body.reviewer_id)
    return _item(review, peer_review.study_of(session, peer_review.report_of(session, review)))
