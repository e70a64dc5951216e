"""The scheduled backup: Celery beat (or the embedded scheduler) asks every quarter hour;
a snapshot is made when the newest one in `backup.target` is `backup.interval_hours` old,
then all but the `backup.keep` newest are pruned. Nothing happens without a target."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from hounsfield.config import get_settings
from hounsfield.worker import celery

logger = logging.getLogger(__name__)


@celery.task(name="backup.scheduled", acks_late=True)
def scheduled_backup() -> str | None:
    """Make the backup that is due, if any; its snapshot name (None: nothing due)."""
    from hounsfield.backup import service
    from hounsfield.monitoring.collectors import backup_finished

    settings = get_settings()
    conf = settings.backup
    if conf.target is None:
        return None
    if not service.due(conf.target, timedelta(hours=conf.interval_hours), datetime.now(UTC)):
        return None
    try:
        result = service.backup(settings, conf.target)
    except Exception:
        backup_finished(ok=False)
        raise
    backup_finished(ok=not result.problems)
    if result.problems:
        logger.error("backup %s incomplete: %d problems", result.name, len(result.problems))
    service.prune(conf.target, conf.keep)
    return result.name
