"""A second daemon on a port already in use refuses to start (no SO_REUSEPORT: two daemons
on one port would each take a share of the webhooks), and the first one is left serving."""

import time

from conftest import http_get


def test_port_in_use_second_daemon_refuses_to_start(loa, daemon):
    t0 = time.monotonic()
    p = loa.run("serve", timeout=30)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert f"cannot listen on 127.0.0.1:{loa.http_port}: Address already in use" in p.stderr, p.stderr
    assert time.monotonic() - t0 < 10
    assert "event=started" not in p.stderr
    status, _ = http_get(f"{daemon.url}/healthz")
    assert status == 200
    assert daemon.running()
