"""A live server with `hounsfield serve`'s uvicorn options, for tests of the HTTP edge."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn

from hounsfield.config import get_settings
from hounsfield.monitoring.server import uvicorn_options
from tests.s3_server import free_port

SAFETY_S = 60  # a hung test fails after this; the server's own deadlines are 1 s


@pytest.fixture
def serve(settings_env: Callable[..., None]) -> Iterator[Callable[..., tuple[str, int]]]:
    """serve(**env) → (host, port) of the app under uvicorn with `hounsfield serve`'s
    options, the settings changed by `env`; stopped after the test."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**env: str) -> tuple[str, int]:
        settings_env(**env)
        from hounsfield.app import create_app

        port = free_port()
        config = uvicorn.Config(
            create_app(), host="127.0.0.1", port=port, log_config=None,
            **uvicorn_options(get_settings()),
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        while not server.started:
            assert thread.is_alive(), "server did not start"
            time.sleep(0.01)
        return "127.0.0.1", port

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(SAFETY_S)


@pytest.fixture
def guarded_server(serve: Callable[..., tuple[str, int]]) -> tuple[str, int]:
    """The server with 1-second header and body deadlines."""
    return serve(HOUNSFIELD_HTTP__HEADER_TIMEOUT_S="1", HOUNSFIELD_HTTP__BODY_TIMEOUT_S="1")
