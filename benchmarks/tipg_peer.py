"""tipg (developmentseed/tipg, from PyPI), the anchor the OGC and tile benchmarks compare with, in
the same run over the same tables.

It gets its own virtual environment under the state folder (`<state>/bench-tipg/venv`, created
with `python -m venv` and `pip install tipg uvicorn` on first use) and is served by uvicorn in a
subprocess. tipg has no notion of a user: it connects as the database owner, so it reads every
row and enforces no row-level security (the figures say so).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from urllib.parse import quote

import httpx
import numpy as np
from serving import wait_healthy
from sqlalchemy.engine import URL

NOTE: Final = (
    "tipg connects as the database owner: it enforces no row-level security and writes no "
    "audit; this project's figures are as a signed-in user under RLS"
)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {f"p{p}": round(float(np.percentile(a, p)), 2) for p in (50, 95, 99)} | {
        "max": round(float(a.max()), 2)
    }


def venv_python(state_dir: Path) -> Path:
    """The peer environment's python, made (and tipg installed) if it is not there yet."""
    venv = state_dir / "bench-tipg" / "venv"
    python = venv / "bin" / "python"
    ready = python.exists() and (
        subprocess.run([python, "-c", "import tipg, uvicorn"], capture_output=True).returncode == 0
    )
    if not ready:
        print(f"installing tipg into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"]
        subprocess.run(pip, check=True)
    return python


def version(python: Path) -> str:
    found = subprocess.run(
        [python, "-c", "import tipg; print(tipg.__version__)"], capture_output=True, text=True
    )
    return found.stdout.strip() or "unknown"


def start(
    python: Path, owner: URL, tables: Sequence[str], port: int, timeout_s: float = 90.0
) -> subprocess.Popen[bytes]:
    """tipg on 127.0.0.1:port over `tables` (public schema), as the owner `owner`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {
        "DATABASE_URL": _dsn(owner),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": json.dumps([f"public.{t}" for t in tables]),
        "TIPG_DB_SPATIAL_EXTENT": "false",
        "TIPG_DB_DATETIME_EXTENT": "false",
        "DB_MAX_CONN_SIZE": "4",
    }
    command = [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env, cwd=python.parent.parent)
    return wait_healthy(process, port, "tipg", timeout_s)


def _dsn(owner: URL) -> str:
    """A URL tipg's settings and asyncpg both read: a Unix socket folder (the managed cluster's
    `?host=`) goes percent-encoded where the host stands (an empty host is refused)."""
    socket = owner.query.get("host")
    if not (isinstance(socket, str) and socket.startswith("/")):
        return owner.set(drivername="postgresql").render_as_string(hide_password=False)
    password = f":{quote(owner.password, safe='')}" if owner.password else ""
    user = quote(owner.username or "", safe="")
    return f"postgresql://{user}{password}@{quote(socket, safe='')}/{owner.database}"


def timed_get(client: httpx.Client, path: str, params: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code not in (200, 204):
        raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:200]}")
    return elapsed, response.content
