"""Small in-process caches of bytes (rendered images, verified objects)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["ByteCache"]


class ByteCache:
    """An in-process LRU of byte strings, bounded in total bytes and per item.

    Callers key entries by the object's SHA-256 (as recorded in the index), so a changed
    object is never answered from here, and only put values made from a verified read.
    """

    def __init__(self, max_bytes: int, max_item: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_item = max_bytes // 8 if max_item is None else max_item
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        if len(value) > self.max_item:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = value
            self._size += len(value)
            while self._size > self.max_bytes:
                _key, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)
