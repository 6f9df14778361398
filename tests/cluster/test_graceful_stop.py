"""SIGTERM with a live stream open (issue 15): the stream ends at once with a reconnect hint
and the server exits within 10 s (an open stream used to hold the stop for over a minute)."""

from __future__ import annotations

import shutil
import socket
import uuid
from pathlib import Path

from taydo.auth.service import create_user
from taydo.auth.tokens import issue_token
from taydo.core.db import Database
from tests.cluster.nodes import Node, node_env
from tests.serving import free_port


def read_until(sock: socket.socket, marker: bytes, seen: bytes = b"") -> bytes:
    while marker not in seen:
        chunk = sock.recv(4096)
        if not chunk:
            break
        seen += chunk
    return seen


def test_sigterm_ends_live_streams_with_a_reconnect_hint_and_exits(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "taydo.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    user = create_user(database, f"op-{uuid.uuid4().hex[:6]}", "operator")
    _row, token = issue_token(database, user.id, "test")
    database.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    node = Node(
        "single", free_port(), node_env(tmp_path, database_url=f"sqlite:///{path}"), tmp_path
    )
    try:
        node.start().wait_ready(headers)
        with socket.create_connection(("127.0.0.1", node.port), timeout=20) as sock:
            sock.sendall(
                b"GET /api/v1/stream HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n"
                + f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
            opened = read_until(sock, b"retry: 3000")
            assert b"200 OK" in opened and b"retry: 3000" in opened
            assert node.process is not None
            node.process.send_signal(15)
            # The socket's 20 s timeout bounds the wait: a stream held open fails here.
            ended = read_until(sock, b"event: shutdown")
        assert b"retry: 1000\nevent: shutdown" in ended
        assert node.process.wait(timeout=10) is not None
    finally:
        node.ensure_stopped()
