"""Sweeps after crashes: objects without an index row, and left-over temporary files.

The ingest writes an object before its index rows commit, so a crash (or a lost race)
in between leaves an object no row names. Objects younger than the grace period are left
alone: their ingest may still be running.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from sqlalchemy import select

from hounsfield.ai import service as ai_service
from hounsfield.config import Settings
from hounsfield.db import transaction
from hounsfield.storage import StorageBackend, get_storage
from hounsfield.storage.local import LocalStorage
from hounsfield.studies.models import Instance

logger = logging.getLogger(__name__)

BATCH = 1000


def sweep_orphan_objects(storage: StorageBackend, grace_s: float, now: float | None = None) -> int:
    """Delete stored objects older than `grace_s` that no instance row names. Returns how many."""
    cutoff = (now if now is not None else time.time()) - grace_s
    removed = 0
    batch: list[str] = []

    def flush() -> int:
        with transaction() as session:
            known = set(
                session.scalars(select(Instance.storage_key).where(Instance.storage_key.in_(batch)))
            )
            known |= ai_service.model_keys(session, batch)  # AI model files live there too
        count = 0
        for key in batch:
            if key not in known:
                storage.delete(key)
                count += 1
        batch.clear()
        return count

    for key, modified in storage.iter_keys():
        if modified < cutoff:
            batch.append(key)
            if len(batch) >= BATCH:
                removed += flush()
    if batch:
        removed += flush()
    if removed:
        logger.info("orphan sweep removed %d objects", removed)
    return removed


def sweep_temporary_files(settings: Settings, grace_s: float, now: float | None = None) -> int:
    """Remove spool files, upload work directories and unrenamed object files (local
    storage) left by a crash. Returns how many."""
    cutoff = (now if now is not None else time.time()) - grace_s
    removed = 0
    candidates: list[Path] = []
    spool = settings.data_dir / "spool"
    if spool.is_dir():
        candidates.extend(spool.glob("ingest-*"))
    uploads = settings.data_dir / "uploads"
    if uploads.is_dir():
        candidates.extend(p for p in uploads.iterdir() if p.name.startswith(("upload-", "zip-")))
    storage = get_storage(settings)
    if isinstance(storage, LocalStorage):
        candidates.extend(storage.temporary_files())
    for path in candidates:
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        except FileNotFoundError:
            continue
    return removed
