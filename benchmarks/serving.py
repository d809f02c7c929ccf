"""Serving what the benchmarks measure: a free local port, and the API under uvicorn in a
subprocess, returned once its /healthz answers 200."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from hardening.api.cli import HTTP, LOOP

BENCHMARKS = Path(__file__).resolve().parent
API = "hardening.api.app:create_app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(
    port: int,
    env: Mapping[str, str] | None = None,
    app: str = API,
    extra: Sequence[str] = (),
    timeout_s: float = 90.0,
) -> subprocess.Popen[bytes]:
    """uvicorn serving the app factory `app` (importable from here too) on 127.0.0.1:port, with
    `env` over this process's environment; SystemExit if it is not healthy within timeout_s.
    On httptools and uvloop as the service runs (hardening.api.cli); `extra` comes last, so
    its own --http or --loop wins."""
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--app-dir", str(BENCHMARKS)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--http", HTTP, "--loop", LOOP]
    process = subprocess.Popen(
        [*command, "--no-access-log", *extra], env={**os.environ, **(env or {})}
    )
    return wait_healthy(process, port, "the API", timeout_s)


def wait_healthy(
    process: subprocess.Popen[bytes], port: int, what: str, timeout_s: float
) -> subprocess.Popen[bytes]:
    """process once 127.0.0.1:port/healthz answers 200; SystemExit (and the process stopped)
    if it exits or is not healthy within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{what} exited while starting")
        time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"{what} did not become healthy within {timeout_s:g} s")
