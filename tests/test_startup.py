"""A run's fixed costs start side by side: extraction workers spawned ahead and taken by the first
reports, and the run's temporary Prefect server launched before the flow is imported."""

from __future__ import annotations

import os

from conftest import SAMPLES

from hotline_budgets.flows import isolation
from hotline_budgets.flows.isolation import Budget, take_prestarted
from hotline_budgets.flows.nightly import RunContext, process_entry
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.transform.catalog import load_catalog


def test_prestarted_workers_are_taken_by_the_run_with_the_same_budget(tmp_path):
    budget = Budget(seconds=120, memory_mb=2048)
    isolation.prestart_extractors(1, budget)
    spawned = isolation._PRESTARTED[-1]
    assert spawned._proc is not None and not spawned._ready, "spawned, not waited for"
    entry = RegistryEntry("quick", "测试中心", "460100", 2026, "budget", "unit",
                          "haikou-12345-2026-budget.pdf", SAMPLES)
    ctx = RunContext(tmp_path / "warehouse", load_catalog(), {}, budget=budget)
    try:
        outcome = process_entry(entry, ctx)
        assert outcome.status == "published", outcome.reason
        assert ctx._made == [spawned] and spawned not in isolation._PRESTARTED
    finally:
        ctx.close()
    assert spawned._proc is None, "the run closed the worker it took"
    other = take_prestarted(Budget(seconds=5, memory_mb=100))
    assert other._proc is None, "no worker with that budget was prestarted: a new one, not started"


def test_the_runs_own_server_serves_its_flow_without_heartbeats():
    from hotline_budgets.prefect_env import LocalServer, configure_prefect, using_server

    configure_prefect()
    before = os.environ.get("PREFECT_API_URL")
    server = LocalServer()
    try:
        assert server.wait_ready() > 0
        with using_server(server):
            from prefect import flow
            from prefect.client.orchestration import get_client
            from prefect.settings import get_current_settings

            @flow
            def probe() -> tuple[str, int | None, str | None]:
                return (str(get_client(sync_client=True).api_url),
                        get_current_settings().flows.heartbeat_frequency,
                        os.environ.get("PREFECT_API_URL"))

            api, heartbeat, env = probe()
        assert api.rstrip("/") == server.api_url and env == server.api_url
        assert heartbeat is None
        assert os.environ.get("PREFECT_API_URL") == before, "the environment is restored"
    finally:
        server.stop()
    assert server.process.poll() is not None
