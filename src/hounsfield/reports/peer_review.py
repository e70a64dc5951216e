"""Peer review (RADPEER): a share of approved reports is sampled at random and scored by a
second doctor; the results are for report:qc (the head of department), never the author.

Sampling happens when a report is approved, with probability `reports.peer_review_rate`,
and by hand (report:qc). The reviewer is drawn from the eligible doctors: active, holding
report:approve, neither the author nor the approver, and able to read the study (unscoped,
or in a group of the study's department). With none eligible the review waits unassigned
until report:qc assigns one. Every step is audited against the report's study.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.auth import scope
from hounsfield.config import get_settings
from hounsfield.db import utcnow
from hounsfield.errors import Conflict, NotFound, PermissionDenied, Unprocessable
from hounsfield.reports.models import (
    SIGNED,
    PeerReview,
    PeerReviewStatus,
    Report,
    ReportStatus,
)
from hounsfield.studies.models import Study
from hounsfield.users.models import Group, Role, RolePermission, User, user_groups, user_roles
from hounsfield.users.permissions import Permission

_random = secrets.SystemRandom()
Row = TypeVarTuple("Row")
SCORE_KEYS = ("1", "2a", "2b", "3a", "3b")


class PeerReviewNotFound(NotFound):
    """同行评议记录不存在"""

    code = "peer_review_not_found"
    english = "Peer review not found"


class NotTheReviewer(PermissionDenied):
    """只有被指派的评议医生可以评分"""

    code = "not_the_reviewer"
    english = "Only the assigned reviewer can score this review"


class AlreadyScored(Conflict):
    """该同行评议已评分，不能再次评分"""

    code = "already_scored"
    english = "This peer review was already scored"


class ReviewOpen(Conflict):
    """该报告已有未完成的同行评议"""

    code = "peer_review_open"
    english = "This report already has an open peer review"


class ReportNotSigned(Conflict):
    """只有已审核签发的报告可以进行同行评议"""

    code = "report_not_signed"
    english = "Only approved (signed) reports can be peer reviewed"


class IneligibleReviewer(Unprocessable):
    """所选医生不能评议该报告：须为有审核权限的在职医生，且不是报告作者或审核人，并可查看该检查"""

    code = "ineligible_reviewer"
    english = (
        "The chosen doctor cannot review this report: they must be active, approve reports, "
        "be neither its author nor its approver, and be able to read the study"
    )


# -- choosing a reviewer --------------------------------------------------------------------


def eligible_reviewers(session: Session, report: Report) -> list[uuid.UUID]:
    """Who may review `report`, ordered by id (the draw is the only randomness)."""
    department = session.scalar(
        select(Study.department).where(Study.study_instance_uid == report.study_instance_uid)
    )
    excluded = {report.author_id, *([report.approver_id] if report.approver_id else [])}
    approvers = (
        select(user_roles.c.user_id)
        .join(RolePermission, RolePermission.role_id == user_roles.c.role_id)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(RolePermission.permission == Permission.report_approve.value)
    )
    in_a_group = select(user_groups.c.user_id)
    in_department = (
        select(user_groups.c.user_id)
        .join(Group, Group.id == user_groups.c.group_id)
        .where(Group.department == (department or ""))
    )
    query = (
        select(User.id)
        .where(User.active.is_(True), User.service_account.is_(False))
        .where(User.id.in_(approvers), User.id.not_in(excluded))
        .where(or_(User.id.not_in(in_a_group), User.id.in_(in_department)))
        .order_by(User.id)
    )
    return list(session.scalars(query))


def _draw(session: Session, report: Report) -> uuid.UUID | None:
    candidates = eligible_reviewers(session, report)
    return _random.choice(candidates) if candidates else None


# -- creating reviews -----------------------------------------------------------------------


def sample_on_approval(session: Session, report: Report) -> PeerReview | None:
    """Called when `report` becomes final: sample it with the configured probability."""
    rate = get_settings().reports.peer_review_rate
    if rate <= 0 or _random.random() >= rate:
        return None
    if _open_review(session, report.id) is not None:
        return None
    return _create(session, report, _draw(session, report), creator=None)


def create_by_hand(
    session: Session, user: User, report: Report, reviewer_id: uuid.UUID | None
) -> PeerReview:
    """report:qc samples a signed report; the reviewer is checked, or drawn."""
    if ReportStatus(report.status) not in SIGNED:
        raise ReportNotSigned(details={"status": report.status})
    if _open_review(session, report.id) is not None:
        raise ReviewOpen()
    if reviewer_id is not None:
        _check_eligible(session, report, reviewer_id)
    else:
        reviewer_id = _draw(session, report)
    return _create(session, report, reviewer_id, creator=user)


def assign(
    session: Session, user: User, review_id: uuid.UUID, reviewer_id: uuid.UUID
) -> PeerReview:
    """report:qc assigns (or reassigns) an open review."""
    review = _locked(session, review_id)
    if review.status == PeerReviewStatus.done:
        raise AlreadyScored()
    report = report_of(session, review)
    _check_eligible(session, report, reviewer_id)
    review.reviewer_id, review.assigned_at = reviewer_id, utcnow()
    _audit(session, "peer_review.assign", user, review, report, reviewer_id=str(reviewer_id))
    session.flush()
    return review


def _check_eligible(session: Session, report: Report, reviewer_id: uuid.UUID) -> None:
    if reviewer_id not in eligible_reviewers(session, report):
        raise IneligibleReviewer(details={"reviewer_id": str(reviewer_id)})


def _create(
    session: Session, report: Report, reviewer_id: uuid.UUID | None, *, creator: User | None
) -> PeerReview:
    review = PeerReview(
        id=uuid.uuid4(), report_id=report.id, open_report_id=report.id,
        reviewer_id=reviewer_id, assigned_at=utcnow() if reviewer_id else None,
        status=PeerReviewStatus.pending.value, comment="",
        created_by=creator.id if creator else None, created_at=utcnow(),
    )  # fmt: skip
    session.add(review)
    session.flush()
    _audit(
        session, "peer_review.create", creator, review, report,
        sampled=creator is None, reviewer_id=str(reviewer_id) if reviewer_id else None,
    )  # fmt: skip
    return review


def _open_review(session: Session, report_id: uuid.UUID) -> PeerReview | None:
    return session.scalar(select(PeerReview).where(PeerReview.open_report_id == report_id))


# -- the reviewer ---------------------------------------------------------------------------


def score(
    session: Session, user: User, review_id: uuid.UUID, *, value: int,
    significance: str | None, comment: str,
) -> PeerReview:  # fmt: skip
    """The assigned reviewer scores once (409 after)."""
    review = _locked(session, review_id)
    if review.reviewer_id != user.id:
        raise NotTheReviewer()
    if review.status == PeerReviewStatus.done:
        raise AlreadyScored()
    review.score, review.significance, review.comment = value, significance, comment
    review.status = PeerReviewStatus.done.value
    review.reviewed_at = utcnow()
    review.open_report_id = None
    _audit(session, "peer_review.score", user, review, report_of(session, review))
    session.flush()
    return review


def for_reviewer(session: Session, user: User, review_id: uuid.UUID) -> tuple[PeerReview, Report]:
    """The review and its report, for its reviewer only (others: not found)."""
    found = session.execute(
        _with_study(select(PeerReview, Report)).where(PeerReview.id == review_id)
    ).first()
    if found is None or found[0].reviewer_id != user.id:
        raise PeerReviewNotFound()
    review, report = found
    audit.record_access(
        "report.read", user, resource_type="report", resource_id=str(report.id),
        detail={"study_instance_uid": report.study_instance_uid, "peer_review": str(review.id)},
    )  # fmt: skip
    return review, report


def queue(
    session: Session, user: User, status: PeerReviewStatus | None, offset: int, limit: int
) -> tuple[int, list[tuple[PeerReview, Study]]]:
    """The caller's own reviews, oldest assignment first."""
    query = _with_study(select(PeerReview, Study)).where(PeerReview.reviewer_id == user.id)
    if status is not None:
        query = query.where(PeerReview.status == status.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(PeerReview.assigned_at, PeerReview.id)
                           .offset(offset).limit(limit))  # fmt: skip
    found = [(review, study) for review, study in rows]
    _audit_listing(user, "peer_review.list", found)
    return total, found


# -- results (report:qc) --------------------------------------------------------------------


def results(
    session: Session, user: User, *, since: datetime | None, until: datetime | None,
    offset: int, limit: int,
) -> tuple[dict[str, Any], int, list[tuple[PeerReview, Report, Study]]]:  # fmt: skip
    """Every review created in [since, until), newest first, and the summary of them all."""
    query = _with_study(select(PeerReview, Report, Study))
    if since is not None:
        query = query.where(PeerReview.created_at >= since)
    if until is not None:
        query = query.where(PeerReview.created_at < until)
    counted = session.execute(
        select(PeerReview.status, PeerReview.score, PeerReview.significance, func.count())
        .where(PeerReview.id.in_(query.with_only_columns(PeerReview.id)))
        .group_by(PeerReview.status, PeerReview.score, PeerReview.significance)
    )
    summary = _summary(list(counted))
    rows = session.execute(query.order_by(PeerReview.created_at.desc(), PeerReview.id)
                           .offset(offset).limit(limit))  # fmt: skip
    found = [(review, report, study) for review, report, study in rows]
    _audit_listing(user, "peer_review.results", [(r, s) for r, _, s in found])
    return summary, summary["total"], found


def _summary(counted: list[tuple[str, int | None, str | None, int]]) -> dict[str, Any]:
    by_score = dict.fromkeys(SCORE_KEYS, 0)
    total = done = 0
    for status, value, significance, n in counted:
        total += n
        if status == PeerReviewStatus.done and value is not None:
            done += n
            key = f"{value}{significance or ''}"
            by_score[key] = by_score.get(key, 0) + n
    return {"total": total, "done": done, "by_score": by_score}


def people(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


# -- helpers --------------------------------------------------------------------------------


def _with_study(query: Select[*Row]) -> Select[*Row]:
    """Joined to the report and its study, within the caller's read scope (a scoped head
    of department sees their department's reviews)."""
    return (
        query.join(Report, Report.id == PeerReview.report_id)
        .join(Study, Study.study_instance_uid == Report.study_instance_uid)
        .where(Study.deleted_at.is_(None), scope.visible())
    )


def _locked(session: Session, review_id: uuid.UUID) -> PeerReview:
    """The review, locked, if its study is within the caller's scope."""
    visible = session.scalar(_with_study(select(PeerReview.id)).where(PeerReview.id == review_id))
    review = session.scalar(select(PeerReview).where(PeerReview.id == review_id).with_for_update())
    if review is None or visible is None:
        raise PeerReviewNotFound()
    return review


def study_of(session: Session, report: Report) -> Study:
    study = session.scalar(
        select(Study).where(Study.study_instance_uid == report.study_instance_uid)
    )
    assert study is not None  # a report is made for a stored study
    return study


def report_of(session: Session, review: PeerReview) -> Report:
    report = session.get(Report, review.report_id)
    assert report is not None  # the foreign key cascades
    return report


def _audit(
    session: Session, action: str, user: User | None, review: PeerReview, report: Report,
    **detail: Any,
) -> None:  # fmt: skip
    audit.record(
        session, action, user, resource_type="peer_review", resource_id=str(review.id),
        detail={"study_instance_uid": report.study_instance_uid, "report_id": str(report.id),
                **detail},
    )  # fmt: skip


def _audit_listing(user: User, action: str, rows: list[tuple[PeerReview, Study]]) -> None:
    """A listing names patients: one read event naming the studies shown."""
    audit.record_access(
        action, user, resource_type="peer_review", resource_id=None,
        detail={"study_instance_uids": sorted({s.study_instance_uid for _, s in rows})},
    )  # fmt: skip
