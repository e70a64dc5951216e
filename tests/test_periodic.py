"""The one background-thread base shared by the sealer, the outbox requeuer and the
embedded scheduler: it runs, is woken early, survives a failing run, and stops."""

from __future__ import annotations

import threading

from hounsfield.audit.service import Sealer
from hounsfield.periodic import PeriodicThread
from hounsfield.schedule import EmbeddedScheduler
from hounsfield.worker import Requeuer


class Probe(PeriodicThread):
    name = "probe"

    def __init__(self, interval_s: float, first_delay_s: float = 0.0) -> None:
        super().__init__(interval_s, first_delay_s=first_delay_s)
        self.runs = 0
        self.ran = threading.Event()

    def run_once(self) -> None:
        self.runs += 1
        self.ran.set()
        if self.runs == 1:
            raise RuntimeError("a failing run is logged, not fatal")


def test_runs_at_once_survives_a_failure_and_is_woken_early() -> None:
    probe = Probe(interval_s=3600)
    probe.start()
    try:
        assert probe.ran.wait(30)  # the first run happens at start, not after an hour
        probe.ran.clear()
        probe.wake()  # the hour-long wait is cut short
        assert probe.ran.wait(30)
        assert probe.runs == 2
    finally:
        probe.stop()
    assert probe._thread is None


def test_a_first_delay_defers_the_first_run_and_stop_cuts_it_short() -> None:
    probe = Probe(interval_s=1, first_delay_s=3600)
    probe.start()
    probe.stop()
    assert probe.runs == 0


def test_the_three_background_threads_share_the_base() -> None:
    for kind in (Sealer, Requeuer, EmbeddedScheduler):
        assert issubclass(kind, PeriodicThread)
