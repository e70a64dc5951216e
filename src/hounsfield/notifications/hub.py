"""Live fan-out of new in-app notifications to the server-sent-event streams.

Embedded mode keeps it in process. With Redis (production) every API process publishes to
one channel and a listener thread in each process hands what arrives to its own streams, so
a notification created by any process (or a worker) reaches a browser connected to another.
Messages carry only the recipient's id and the notification's id and title (no patient
data): the browser fetches the rest through the API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections import defaultdict
from typing import Any

import redis

from hounsfield.config import get_settings

logger = logging.getLogger(__name__)

CHANNEL = "hounsfield:notifications"
QUEUE_SIZE = 100  # a stream that falls this far behind loses messages (it re-reads the list)


class Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[uuid.UUID, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]]]
        self._streams = defaultdict(set)
        self._listener: threading.Thread | None = None

    def subscribe(self, user_id: uuid.UUID) -> asyncio.Queue[str]:
        """A queue receiving the user's new notifications, as JSON (call from the loop)."""
        self._ensure_listener()
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        with self._lock:
            self._streams[user_id].add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, user_id: uuid.UUID, queue: asyncio.Queue[str]) -> None:
        with self._lock:
            streams = self._streams.get(user_id, set())
            for entry in [e for e in streams if e[1] is queue]:
                streams.discard(entry)
            if not streams:
                self._streams.pop(user_id, None)

    def publish(self, user_id: uuid.UUID, message: dict[str, Any]) -> None:
        """Send to every stream of `user_id`, in whichever process it is connected."""
        text = json.dumps({"user_id": str(user_id), "message": message})
        url = get_settings().redis_url
        if not url:
            self._deliver_local(text)
            return
        try:
            _redis(url).publish(CHANNEL, text)
        except redis.RedisError as exc:  # the stored notification is still listed
            logger.warning("notification fan-out failed (%s)", type(exc).__name__)

    def _deliver_local(self, text: str) -> None:
        envelope = json.loads(text)
        user_id = uuid.UUID(envelope["user_id"])
        body = json.dumps(envelope["message"])
        with self._lock:
            targets = list(self._streams.get(user_id, ()))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue, body)

    def _ensure_listener(self) -> None:
        url = get_settings().redis_url
        with self._lock:
            if not url or (self._listener and self._listener.is_alive()):
                return
            ready = threading.Event()
            self._listener = threading.Thread(
                target=self._listen, args=(url, ready), name="notification-fanout", daemon=True
            )
            self._listener.start()
        ready.wait(5)  # subscribed before the first stream is answered

    def _listen(self, url: str, ready: threading.Event) -> None:
        while True:
            try:
                pubsub = _redis(url).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                ready.set()
                for item in pubsub.listen():  # type: ignore[no-untyped-call]
                    if item.get("type") == "message":
                        self._deliver_local(item["data"])
            except redis.RedisError as exc:
                logger.warning("notification fan-out lost Redis (%s)", type(exc).__name__)
                threading.Event().wait(1.0)


def _offer(queue: asyncio.Queue[str], body: str) -> None:
    try:
        queue.put_nowait(body)
    except asyncio.QueueFull:
        logger.warning("a notification stream is too slow; a message was dropped")


def _redis(url: str) -> redis.Redis[str]:
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2.0)


hub = Hub()
