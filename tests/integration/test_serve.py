"""The daemon as an operator meets it: a database that is not there yet, /healthz, /metrics,
unknown paths and methods, and a bad configuration at start."""

import json
import shutil
import signal
import subprocess
import time

from conftest import PG_SH, Background, _migrate, _tmpdir, http_get, run_psql, wait_http


def test_serve_waits_for_an_unreachable_database_and_then_serves(loa):
    """design.md: gateway and database failures are never fatal at run time. Started with its
    database down, the daemon keeps running and says 503; once PostgreSQL is up it says 200;
    SIGTERM still ends it cleanly."""
    d = _tmpdir("loa-it-late-pg-")
    try:
        p = subprocess.run([str(PG_SH), "start", str(d)], capture_output=True, text=True,
                           timeout=120, cwd="/")
        assert p.returncode == 0, p.stderr
        url = p.stdout.strip().splitlines()[-1]
        _migrate(url, d)
        subprocess.run([str(PG_SH), "stop", str(d)], capture_output=True, timeout=120, cwd="/", check=True)

        loa.set("database", "url", url)
        loa.write_config()
        serve = Background(loa.argv("serve"), loa.dir / "serve.log", cwd=loa.dir).start()
        try:
            wait_http(f"{loa.base_url}/healthz", status=503, timeout=10, proc=serve.proc)
            status, body = http_get(f"{loa.base_url}/healthz")
            assert status == 503 and json.loads(body)["database"] is False
            time.sleep(1)
            assert serve.running(), serve.log()

            p = subprocess.run([str(PG_SH), "start", str(d)], capture_output=True, text=True,
                               timeout=120, cwd="/")
            assert p.returncode == 0, p.stderr
            # Reconnection backs off to at most 10 s between tries.
            wait_http(f"{loa.base_url}/healthz", status=200, timeout=20, proc=serve.proc)
            status, body = http_get(f"{loa.base_url}/healthz")
            assert json.loads(body)["database"] is True
            # The connections it opened late serve queries: a campaign row written now is seen.
            assert run_psql(url, "SELECT count(*) FROM campaigns") == [("0",)]
        finally:
            rc = serve.stop(signal.SIGTERM, timeout=30)
        assert rc == 0, serve.log()
        log = serve.log()
        assert "event=db_down" in log and "event=db_up" in log
    finally:
        subprocess.run([str(PG_SH), "stop", str(d)], capture_output=True, timeout=120, cwd="/")
        shutil.rmtree(d, ignore_errors=True)


def test_healthz_metrics_and_unknown_paths(loa, kannel, daemon):
    status, body = daemon.get("/healthz")
    assert status == 200
    h = json.loads(body)
    assert h["status"] == "ok" and h["database"] is True and h["gateways"] == 1

    status, body = daemon.get("/metrics")
    assert status == 200
    lines = body.splitlines()
    # Prometheus text: a TYPE line before each family, one sample per gateway.
    for family in ("loa_messages_submitted_total", "loa_in_flight", "loa_throttle_tokens"):
        assert f"# TYPE {family} " in body, family
        assert any(line.startswith(f'{family}{{gateway="kannel"}} ') for line in lines), family
    for line in lines:
        if line and not line.startswith("#"):
            name_labels, value = line.rsplit(" ", 1)
            float(value)   # every sample's value is a number
    # Webhook calls by outcome and the database's latency (the pool has answered by now).
    for outcome in ("applied", "failed", "invalid"):
        assert f'loa_webhook_events_total{{outcome="{outcome}"}} ' in body, outcome
    assert "# TYPE loa_db_query_seconds summary" in body
    # The pool's first answers (scheduler tick, gateway quota) may land just after the daemon
    # reports itself ready: wait for them rather than race them.
    deadline = time.monotonic() + 15
    while True:
        samples = dict(line.rsplit(" ", 1) for line in body.splitlines()
                       if line and not line.startswith("#"))
        if float(samples["loa_db_query_seconds_count"]) > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
        status, body = daemon.get("/metrics")
        assert status == 200
    assert float(samples["loa_db_query_seconds_count"]) > 0
    assert 0 < float(samples["loa_db_query_seconds_sum"]) and float(samples["loa_db_query_seconds_max"]) > 0

    assert daemon.get("/no/such/path")[0] == 404
    status, _ = daemon.get("/hooks/kannel/nosuchgateway/dlr?c=1&m=1&t=x&s=1")
    assert status == 404


def test_serve_refuses_a_bad_configuration_at_start(loa):
    """Only bad configuration at start-up exits: with the file, line, key and reason."""
    loa.set("engine", "lease_batch", "0")
    p = loa.run("serve", timeout=30)
    assert p.returncode == 1
    assert "loa.conf:" in p.stderr and "[engine] lease_batch" in p.stderr and "outside 1..10000" in p.stderr
