"""Slow clients cannot hold the server (SECURITY L3, issue 14.18): 50 slow-loris sockets,
/healthz still answers, and the server closes every slow socket itself."""

from __future__ import annotations

import socket

import httpx

from tests.security.conftest import SAFETY_S


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends, until it closes the connection."""
    sock.settimeout(SAFETY_S)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_slow_loris_sockets_are_closed_and_health_still_answers(
    guarded_server: tuple[str, int],
) -> None:
    host, port = guarded_server
    slow = []
    for _ in range(50):
        sock = socket.create_connection((host, port), timeout=SAFETY_S)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: b")  # headers never end
        slow.append(sock)
    response = httpx.get(f"http://{host}:{port}/healthz", timeout=SAFETY_S)
    assert response.status_code == 200
    assert "server" not in response.headers
    for sock in slow:
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 408")
        sock.close()


def test_a_stalled_body_is_cut_off(guarded_server: tuple[str, int]) -> None:
    host, port = guarded_server
    with socket.create_connection((host, port), timeout=SAFETY_S) as sock:
        sock.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"username": '
        )
        assert _read_until_closed(sock).startswith(b"HTTP/1.1 408")


def test_a_slow_but_steady_client_is_served(guarded_server: tuple[str, int]) -> None:
    """The header deadline is per request: a kept-alive connection serves the next one."""
    host, port = guarded_server
    with httpx.Client(base_url=f"http://{host}:{port}", timeout=SAFETY_S) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
