"""Shared by the browser tests: Debian's Chromium (required in CI) and a real `streamlit run`
of the app against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from hardening.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    """Fail in CI, skip elsewhere, when Debian's chromium is missing (required in CI)."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install -y chromium (required in CI)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)  # outside CI only: in CI the branch above fails


@contextmanager
def streamlit_server(log_dir: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port; yields its URL once healthy."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log_path = log_dir / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),  # HARDENING_DATABASE_URL points at the test database
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
