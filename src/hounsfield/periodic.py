"""One base for the process's background threads (audit sealer, outbox requeuer, scheduler)."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)


class PeriodicThread:
    """A daemon thread that calls `run_once` every `interval_s` until stopped.

    `wake()` runs it sooner. A failing run is logged and retried at the next interval.
    Tests call `run_once` directly, so what it does stays deterministic.
    """

    name = "periodic"

    def __init__(self, interval_s: float, *, first_delay_s: float = 0.0) -> None:
        self.interval_s = interval_s
        self.first_delay_s = first_delay_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        raise NotImplementedError

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def _run(self) -> None:
        if self.first_delay_s and self._stopping.wait(self.first_delay_s):
            return
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.run_once()
            except Exception:
                logger.exception("%s failed; will retry", self.name)
            self._wake.wait(self.interval_s)
