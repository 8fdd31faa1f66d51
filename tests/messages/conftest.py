"""A real SMTP server on 127.0.0.1 (aiosmtpd), and a server runtime whose SMTP channel points
at it, with an override directory for templates."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.scheduler import Scheduler
from loyalty_sdk.settings import Settings

from . import PROGRAM, SHOP, parse

SECRET_KEY = "test-secret-key-not-for-production"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed mail) per message."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], Any]] = []
        self.peers: list[Any] = []  # the client address of each message: one per connection used

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        self.received.append((list(envelope.rcpt_tos), parse(envelope.original_content or envelope.content)))
        self.peers.append(session.peer)
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [mail for recipients, mail in self.received if address in recipients]

    def subjects(self, address: str | None = None) -> list[str]:
        return [str(mail["subject"]) for recipients, mail in self.received if address is None or address in recipients]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A started SMTP server on a free port of 127.0.0.1."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """The override directory (empty: the built-in templates apply)."""
    folder = tmp_path / "templates"
    folder.mkdir()
    return folder


@pytest.fixture
def make_runtime(database_url: str, clock: Any, templates: Path) -> Iterator[Callable[..., Runtime]]:
    """``make_runtime(smtp_port, plugins=())``: a Runtime e-mailing through 127.0.0.1:smtp_port."""
    opened: list[Runtime] = []

    def build(smtp_port: int, plugins: tuple[Any, ...] = ()) -> Runtime:
        settings = Settings(database_url=database_url, secret_key=SECRET_KEY, smtp_host="127.0.0.1",
                            smtp_port=smtp_port, smtp_starttls=False, smtp_from="Northwind <rewards@north.example>",
                            message_templates=templates)
        runtime = Runtime(settings, program=PROGRAM, plugins=plugins, clock=clock, entry_points=False)
        opened.append(runtime)
        runtime.add_shop(SHOP, "custom")
        return runtime

    yield build
    for runtime in opened:
        runtime.close()


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], smtp_server: SmtpServer) -> Runtime:
    return make_runtime(smtp_server.port)


@pytest.fixture
def run_scheduler(runtime: Runtime) -> Callable[[], None]:
    """One pass of the server's scheduler: every shop's jobs, then its member messages."""
    scheduler = Scheduler(runtime, name="test-scheduler")
    return lambda: scheduler.run_once() and None
