"""Prefect's quiet, network-free local mode (STACK.md), set before Prefect is imported."""

from __future__ import annotations

import os
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


def configure_prefect() -> None:
    """Apply the quiet settings unless the caller set them; keep PREFECT_HOME in a cache dir."""
    for key, value in QUIET_SETTINGS.items():
        os.environ.setdefault(key, value)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    os.environ.setdefault("PREFECT_HOME", str(cache / "hotline-budgets" / "prefect"))
    # The ephemeral server cannot start (it times out) when its home folder is missing.
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
