"""The Studies service: what the index holds and what users may see of it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hounsfield.studies.models import Instance, Series, Study


def refresh_aggregates(session: Session, series_instance_uid: str) -> None:
    """Recount a series' instances and its study's series, instances and modalities.

    Locks the study first, as the ingest does, so the two never deadlock and the counts
    cannot change under the recount.
    """
    study_pk = session.scalar(
        select(Series.study_pk).where(Series.series_instance_uid == series_instance_uid)
    )
    if study_pk is None:
        return
    study = session.scalar(
        select(Study)
        .where(Study.id == study_pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    series = session.scalar(
        select(Series)
        .where(Series.series_instance_uid == series_instance_uid)
        .execution_options(populate_existing=True)
    )
    if study is None or series is None:
        return
    live_instances = select(func.count(Instance.id)).where(
        Instance.series_pk == series.id, Instance.deleted_at.is_(None)
    )
    count = session.scalar(live_instances) or 0
    if series.number_of_instances != count:
        series.number_of_instances = count
    live_series = select(Series.id).where(Series.study_pk == study.id, Series.deleted_at.is_(None))
    n_series = session.scalar(select(func.count()).select_from(live_series.subquery())) or 0
    n_instances = (
        session.scalar(
            select(func.count(Instance.id)).where(
                Instance.series_pk.in_(live_series), Instance.deleted_at.is_(None)
            )
        )
        or 0
    )
    modalities = session.scalars(
        select(Series.modality)
        .distinct()
        .where(Series.study_pk == study.id, Series.deleted_at.is_(None), Series.modality != "")
    ).all()
    joined = "\\".join(sorted(modalities))[:128]
    if (study.number_of_series, study.number_of_instances, study.modalities_in_study) != (
        n_series,
        n_instances,
        joined,
    ):
        study.number_of_series = n_series
        study.number_of_instances = n_instances
        study.modalities_in_study = joined
