"""Webhooks survive a connection flood: thousands of half-sent requests trickling a byte every
few seconds from one address (loopback, the address Kannel's own reports come from) do not
shut out a genuine delivery report, a citizen's STOP or /healthz; a flood from an untrusted
address is cut at the per-address limit; a request that is not complete by the deadline is
closed however slowly it trickles. The daemon raises its open-file limit at start."""

import re
import resource
import select
import socket
import threading
import time
import urllib.parse

import pytest

from conftest import Daemon, http_get, show, wait_for


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard < need and hard != resource.RLIM_INFINITY:
            pytest.skip(f"this test needs {need} descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


class SlowClients:
    """N connections from SOURCE, each with half a request sent, then one more header byte
    every PERIOD seconds, for at most LIMIT seconds (the flood is bounded in time)."""

    HEAD = b"GET /healthz HTTP/1.1\r\nHost: loa\r\nX-Slow: "

    def __init__(self, port, n, source="127.0.0.1", period=3.0, limit=90):
        self.socks = []
        for _ in range(n):
            s = socket.socket()
            s.bind((source, 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            try:
                s.sendall(self.HEAD)
            except OSError:
                pass
            s.setblocking(False)
            self.socks.append(s)
        self.stop_ev = threading.Event()
        self.period, self.limit = period, limit
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self):
        end = time.monotonic() + self.limit
        while not self.stop_ev.wait(self.period) and time.monotonic() < end:
            for s in self.socks:
                try:
                    s.send(b"a")
                except OSError:
                    pass

    def closed_by_server(self):
        """How many of the connections the server has closed (end of stream or reset)."""
        p = select.poll()
        for i, s in enumerate(self.socks):
            p.register(s.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        ready = {fd for fd, _ in p.poll(0)}
        n = 0
        for s in self.socks:
            if s.fileno() in ready:
                try:
                    if s.recv(64, socket.MSG_PEEK) == b"":
                        n += 1
                except OSError:
                    n += 1
        return n

    def close(self):
        self.stop_ev.set()
        self.thread.join(timeout=10)
        for s in self.socks:
            s.close()


def timed(f):
    t0 = time.monotonic()
    r = f()
    return r, time.monotonic() - t0


def seed(psql, loa, n):
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    rows = psql(f"""
        INSERT INTO citizens (full_name, phone, commune_code, province_code, gender, birth_date)
        SELECT 'Lê Văn ' || i, '849150' || lpad(i::text, 5, '0'), '23200', '52', 'male',
               DATE '1980-01-01' + i
          FROM generate_series(1, {int(n)}) i
        RETURNING phone""")
    tpl = loa.write_file("t.txt", "{{salutation}} {{given_name}}, BHXH nhắc đóng BHXH tự nguyện.")
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", tpl)
    return [r[0] for r in rows]


def start_daemon(loa, nofile=None):
    d = Daemon(loa)
    if nofile:
        d.argv = ["prlimit", f"--nofile={nofile}", "--", *d.argv]
    return d.start()


def test_flood_of_2000_slow_connections_does_not_shut_out_webhooks(loa, kannel, psql):
    raise_nofile(2600)
    phones = seed(psql, loa, 2)
    # Only eviction protects here: the deadline is far beyond the test.
    loa.set("http", "header_timeout_ms", "120000")
    # A low soft limit that the daemon must raise; its hard limit keeps the connection limit
    # (limit - reserve) well below the 2,000 of the flood.
    d = start_daemon(loa, nofile="256:1536")
    flood = None
    try:
        limits = open(f"/proc/{d.proc.pid}/limits").read()
        assert re.search(r"Max open files\s+1536\s+1536", limits), limits
        assert "event=fd_limit from=256 to=1536" in d.log()
        m = re.search(r"event=http_limits max_connections=(\d+)", d.log())
        assert m and int(m.group(1)) < 1536 - 256, d.log()

        t0 = time.monotonic()
        flood = SlowClients(loa.http_port, 2000)
        opened = time.monotonic() - t0
        # The flood is shedding its own oldest connections, and most of it is still open.
        wait_for(lambda: re.search(r"event=http_connections_shed .*evicted=[1-9]", d.log()), timeout=10,
                 what="the server to evict connections")
        alive = 2000 - flood.closed_by_server()
        assert alive > 500, alive

        (status, _), t_health = timed(lambda: http_get(f"{d.url}/healthz", timeout=10))
        assert status == 200
        forged = "/hooks/kannel/kannel/dlr?c=1&m=1&t=" + "0" * 32 + "&s=1"
        (status, _), t_forged = timed(lambda: http_get(d.url + forged, timeout=10))
        assert status == 403

        # A genuine delivery report, through Kannel, from the flooded address.
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
        t1 = time.monotonic()
        loa.ok("campaign", "start", "c")
        wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'delivered'")[0][0] == "2",
                 timeout=20, what="both delivery reports")
        t_dlr = time.monotonic() - t1
        # A citizen's STOP, through Kannel's MO hook.
        t2 = time.monotonic()
        kannel.send_mo(phones[0], "TC")
        wait_for(lambda: psql("SELECT count(*) FROM opt_outs")[0][0] == "1", timeout=10, what="the opt-out")
        t_stop = time.monotonic() - t2
        still = 2000 - flood.closed_by_server()
        print(f"flood: 2000 opened in {opened:.1f}s, {alive} open after shedding, {still} at the end; "
              f"healthz {t_health * 1000:.0f} ms, forged DLR 403 in {t_forged * 1000:.0f} ms, "
              f"campaign start to 2 DLRs applied {t_dlr:.1f}s, STOP applied {t_stop:.1f}s")
        assert t_health < 3 and t_forged < 3
        assert t_dlr < 15 and t_stop < 12   # without a flood: about 1.5 s and 5 s here
    finally:
        if flood:
            flood.close()
        # Afterwards the daemon is healthy and stops cleanly.
        status, _ = http_get(f"{d.url}/healthz", timeout=5)
        rc = d.stop()
        if status != 200 or rc != 0:
            print(d.log()[-4000:])
    assert status == 200
    assert rc == 0
    assert show(loa, "c")["outcomes"]["delivered"] == 2


def test_flood_from_one_untrusted_address_is_cut_at_the_per_address_limit(loa, kannel, psql):
    raise_nofile(600)
    loa.set("http", "max_connections_per_address", "50")
    loa.set("http", "trusted_addresses", "127.0.0.1")
    d = start_daemon(loa)
    flood = None
    try:
        flood = SlowClients(loa.http_port, 200, source="127.0.0.2")
        wait_for(lambda: flood.closed_by_server() == 150, timeout=10, what="150 connections refused")
        time.sleep(0.5)
        assert flood.closed_by_server() == 150
        # The trusted address is not held to the limit of the other.
        (status, _), took = timed(lambda: http_get(f"{d.url}/healthz", timeout=5))
        assert status == 200 and took < 2
        wait_for(lambda: re.search(r"event=http_connections_shed .*refused=150", d.log()), timeout=5,
                 what="the refusals to be logged")
    finally:
        if flood:
            flood.close()
        rc = d.stop()
    assert rc == 0


def test_flood_request_not_complete_by_the_deadline_is_closed(loa, psql):
    loa.set("http", "header_timeout_ms", "1000")
    d = start_daemon(loa)
    flood = None
    try:
        t0 = time.monotonic()
        flood = SlowClients(loa.http_port, 50, period=0.2)
        wait_for(lambda: flood.closed_by_server() == 50, timeout=10, what="all 50 to be closed")
        took = time.monotonic() - t0
        # A byte every 0.2 s never reset the deadline; the sweep runs every second.
        assert 0.9 <= took < 3.5, took
        status, _ = http_get(f"{d.url}/healthz", timeout=5)
        assert status == 200
    finally:
        if flood:
            flood.close()
        rc = d.stop()
    assert rc == 0
