"""`digest serve` as a reader meets it: the real command in a process of its own on a loopback
port, mailing a real aiosmtpd server started by the test, over the bundled sample feeds."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import yaml
from conftest import REPO, database_setting
from conftest import rows as state_rows
from smtp_server import Received, SmtpServer

SECTIONS = ["Science", "Technology", "Culture"]  # the bundled samples' sections, in order


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_config(
    folder: Path, smtp: SmtpServer, port: int, public_url: str | None = None, **extra: object
) -> Path:
    """The bundled config and samples, mailing `smtp`, served on `port`."""
    shutil.copytree(REPO / "samples", folder / "samples", dirs_exist_ok=True)
    document = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    document.update(
        smtp={
            "host": smtp.host,
            "port": smtp.port,
            "security": "none",
            "from": "The Weekly Digest <digest@example.test>",
            "timeout": 10,
            "retry_delay": 0.01,
        },
        public_url=f"http://127.0.0.1:{port}/" if public_url is None else public_url,
        state_db=str(folder / "state.sqlite3"),
        **database_setting(folder / "state.sqlite3"),
        output_dir=str(folder / "out"),
        archive_dir=str(folder / "archive"),
        recipients=[],
    )
    serve = {**document["serve"], "port": port, **extra.pop("serve", {})}  # type: ignore[dict-item]
    document.update(serve=serve, **extra)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return path


@dataclass
class Served:
    process: subprocess.Popen[str]
    base: str  # http://127.0.0.1:PORT/

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def ended(self, timeout: float = 20) -> tuple[int, str, str]:
        """Wait for it to exit by itself (a refused start); killed if it does not."""
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise AssertionError(f"digest serve still running after {timeout} s") from None
        return self.process.returncode, out, err

    def stop(self, timeout: float = 20) -> tuple[int, str, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


def start_serve(config: Path, port: int, *args: str, wait: bool = True) -> Served:
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", "-c", str(config), *args],
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(process, f"http://127.0.0.1:{port}/")
    if wait:
        wait_until_up(served)
    return served


def wait_until_up(served: Served, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            code, out, err = served.stop()
            raise AssertionError(f"digest serve exited {code}: {out} {err}")
        try:
            if httpx.get(served.url("healthz"), timeout=1).text == "ok":
                return
        except httpx.HTTPError:
            time.sleep(0.05)
    served.stop()
    raise AssertionError(f"digest serve did not answer within {seconds} s")


@contextmanager
def serving(config: Path, port: int, *args: str) -> Iterator[Served]:
    served = start_serve(config, port, *args)
    try:
        yield served
    finally:
        served.stop()


def wait_for_mail(
    smtp: SmtpServer, address: str, count: int = 1, seconds: float = 10
) -> list[Received]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = smtp.handler.to(address)
        if len(got) >= count:
            return got
        time.sleep(0.02)
    return smtp.handler.to(address)


def text_part(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def html_part(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def link_in(text: str, path: str) -> str:
    """The first URL in `text` whose path starts with `path` (confirm/, u/, p/)."""
    found = re.search(rf"https?://[^\s<>\"]+/{re.escape(path)}[A-Za-z0-9._-]+", text)
    assert found, f"no /{path} link in: {text[:500]}"
    return found.group(0)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def rows(state_path: Path, query: str, **params: object) -> list[tuple[object, ...]]:
    return state_rows(state_path, query, **params)


def status_of(state_path: Path, email: str) -> str:
    query = "SELECT status FROM subscribers WHERE email_key = :key"
    found = rows(state_path, query, key=email.lower())
    return str(found[0][0]) if found else "absent"
