"""pynetdicom's association threads without busy polling (issue 15).

pynetdicom runs two loops per association: the DUL thread polls its socket and its queue
(`select(timeout=0)`, then `sleep(1 ms)`), and the association thread polls the DIMSE queue
(`sleep(1 ms)`). Idle, that is ~2,000 wake-ups a second per association; busy, every
message waits up to a millisecond per hop (a quarter of the listener's CPU in the issue's
profile). Here both loops block instead: the DUL thread in `select()` on its socket and a
wake-up socket that `send_pdu` writes to, the association thread on an Event the DUL sets
after every state-machine action. The loop bodies are pynetdicom 3.0's, only the waits
differ; timers keep working (the select timeout never passes the ARTIM deadline, and the
idle/network timeout is checked at least every `_IDLE_S`).
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import ssl
import threading
from typing import Any, cast

from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu import A_ABORT_RQ

_IDLE_S = 0.25  # longest wait without an event: bounds timer checks, costs ~4 wake-ups/s


class QuietDUL(DULServiceProvider):
    """The DUL provider, blocking in select() while there is nothing to do."""

    def __init__(self, assoc: Association) -> None:
        super().__init__(assoc)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.activity = threading.Event()  # something for the association thread to look at

    def send_pdu(self, primitive: Any) -> None:
        super().send_pdu(primitive)
        self._wake()

    def kill_dul(self) -> None:
        super().kill_dul()
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # a wake-up already pending (buffer full), or closed: either is fine
            pass

    def _idle_wait(self) -> None:
        timeout = _IDLE_S
        artim: Any = self.artim_timer
        if artim.timeout is not None and artim._start_time is not None and artim._end_time is None:
            timeout = max(0.0, min(timeout, artim.remaining))
        wanted: list[Any] = [self._wake_r]
        transport: Any = self.socket
        sock = getattr(transport, "socket", None)
        if sock is not None and getattr(transport, "_is_connected", False):
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return
            wanted.append(sock)
        try:
            select.select(wanted, [], [], timeout)
        except (OSError, ValueError):  # the socket closed under us: the loop notices
            pass
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def run_reactor(self) -> None:
        """pynetdicom's DUL loop, with `_idle_wait` in place of its 1 ms sleep."""
        try:
            self._run()
        finally:
            self.activity.set()  # the association thread checks whether we are alive
            self._wake_r.close()
            self._wake_w.close()

    def _run(self) -> None:
        self._idle_timer.start()
        idle = False
        while True:
            if not self.assoc._dul_ready.is_set():
                self.assoc._dul_ready.set()
                idle = True
            if idle:
                self._idle_wait()
            if self._kill_thread:
                break
            if self.artim_timer.expired:
                self.event_queue.put("Evt18")
            try:
                if self._process_recv_primitive():
                    pass
                elif self._is_transport_event():
                    self._idle_timer.restart()
            except Exception:
                self._abort_after_error()
                return
            try:
                event = self.event_queue.get(block=False)
            except queue.Empty:
                idle = True
                continue
            self.state_machine.do_action(event)
            self.activity.set()
            idle = False

    def _abort_after_error(self) -> None:
        """As pynetdicom does: bypass the state machine, send an A-ABORT, stop both loops."""
        logging.getLogger("pynetdicom.dul").exception("Exception in DUL.run(), aborting")
        abort_pdu = A_ABORT_RQ()
        abort_pdu.source = 0x02
        abort_pdu.reason_diagnostic = 0x00
        transport: Any = self.socket
        transport.send(abort_pdu.encode())
        self.assoc.is_aborted = True
        self.assoc.is_established = False
        self.assoc._kill = True
        self._kill_thread = True


class QuietAssociation(Association):
    """An association whose reactor waits on its DUL's activity instead of sleeping 1 ms."""

    def _run_reactor(self) -> None:
        dul: Any = self.dul
        self._is_paused = False
        while not self._kill:
            dul.activity.wait(_IDLE_S)
            dul.activity.clear()
            # The rest is pynetdicom 3.0's loop body, unchanged.
            self._is_paused = True
            self._reactor_checkpoint.wait()
            self._is_paused = False
            context_id, msg = self.dimse.get_msg(block=False)
            if msg:
                self._serve_request(msg, cast(int, context_id))
            if self.is_established and self.acse.is_release_requested():
                self.acse.send_release(is_response=True)
                self.is_released = True
                self.is_established = False
                evt.trigger(self, evt.EVT_RELEASED, {})
                self.kill()
                return
            if self.acse.is_aborted():
                self.dul.receive_pdu(wait=False)
                self.is_aborted = True
                self.is_established = False
                evt.trigger(self, evt.EVT_ABORTED, {})
                self.kill()
                return
            if not self.dul.is_alive():
                self.kill()
                return
            if self.dul.idle_timer_expired():
                if self.network_timeout_response == "A-RELEASE":
                    self._is_paused = True
                    self._reactor_checkpoint.wait()
                    self.release()
                    self._is_paused = False
                else:
                    self.abort()
                self.kill()
                return


def quieten(assoc: Association) -> Association:
    """Give a not yet started association the blocking DUL and reactor."""
    old = assoc.dul
    dul = QuietDUL(assoc)
    dul.socket = old.socket
    dul.event_queue = old.event_queue  # holds Evt5 (connection open) for an acceptor
    dul.artim_timer.timeout = old.artim_timer.timeout
    dul._idle_timer.timeout = old._idle_timer.timeout
    assoc.dul = dul
    assoc.__class__ = QuietAssociation
    return assoc
