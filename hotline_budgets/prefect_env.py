"""Prefect's quiet, network-free local mode (STACK.md), set before Prefect is imported, and the
run's temporary local Prefect server, started early.

With no ``PREFECT_API_URL`` Prefect starts a temporary server the first time a flow asks for its
API: the flow then waits ~4–8 s for it, after importing the server's whole app in the flow
process only to launch it (~2 s). :class:`LocalServer` launches the same app the same way
(uvicorn running ``prefect.server.api.server:create_app`` in ephemeral mode: no UI, no
services) as soon as a run knows it has work, and points ``PREFECT_API_URL`` at it, so the
server starts while the run starts its extraction workers and imports its flow. Every process
the run starts (Dask workers included) then reports to this one server.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path

QUIET_SETTINGS = {
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    "GX_ANALYTICS_ENABLED": "false",
}
# What Prefect's own temporary server sets for its process (SubprocessASGIServer, 3.8.8).
EPHEMERAL_SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                        "PREFECT__SERVER_FINAL": "1"}


def configure_prefect() -> None:
    """Apply the quiet settings unless the caller set them; keep PREFECT_HOME in a cache dir."""
    for key, value in QUIET_SETTINGS.items():
        os.environ.setdefault(key, value)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    os.environ.setdefault("PREFECT_HOME", str(cache / "hotline-budgets" / "prefect"))
    # The ephemeral server cannot start (it times out) when its home folder is missing.
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def configured_api_url() -> str | None:
    """The Prefect API this process would use (env or active profile); None: a temporary one."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url or None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerStartError(RuntimeError):
    """The temporary Prefect server did not answer in time."""


class LocalServer:
    """A temporary Prefect server for one run, on a free loopback port; stopped at exit."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        spec = find_spec("prefect")
        assert spec is not None and spec.origin is not None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent),
             "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env={**os.environ, **EPHEMERAL_SERVER_ENV}, stdin=subprocess.DEVNULL)
        self.started = time.monotonic()
        atexit.register(self.stop)

    def wait_ready(self, timeout: float | None = None) -> float:
        """Block until the server answers /health; the seconds it took since launch."""
        timeout = timeout or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 90))
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(f"the temporary Prefect server exited with code"
                                       f" {self.process.returncode} while starting")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - self.started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise ServerStartError(f"the temporary Prefect server did not answer within {timeout:g} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_local_server() -> LocalServer | None:
    """Launch the run's temporary server now; None when a Prefect API is configured (a real
    server or Prefect Cloud). Run the flow inside :func:`using_server`.

    The server is launched before Prefect is imported here (reading Prefect's settings costs
    that import, ~1.3 s) and stopped again if the settings name an API after all (a profile)."""
    if os.environ.get("PREFECT_API_URL"):
        return None
    server = LocalServer()
    if configured_api_url():
        server.stop()
        return None
    return server


@contextmanager
def using_server(server: LocalServer | None) -> Iterator[None]:
    """Within: this process's Prefect settings, and the processes it starts (Dask workers),
    use ``server`` (once it answers); nothing changes when ``server`` is None."""
    if server is None:
        yield
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server.wait_ready()
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        # no flow-run heartbeats: they let a long-lived server find crashed runs, and this
        # server ends with the run; their thread only made the flow's end wait up to 1 s
        with temporary_settings(updates={PREFECT_API_URL: server.api_url,
                                         "flows.heartbeat_frequency": None}):
            yield
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
