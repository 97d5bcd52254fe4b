"""Two daemons on one database and one Kannel: one sends through the gateway at a time, so the
rate measured at the fake SMSC is the gateway's rate, not twice it. A daemon that stops renewing
its hold (SIGSTOP: alive, silent) loses the gateway after the hold's time to live and, woken,
sends nothing more; a daemon killed outright is taken over at once by the other one on the same
host. Through all of it nobody is messaged twice and everyone is reached or in_doubt."""

import collections
import copy
import signal
import time

import pytest

from conftest import Daemon, Loa, _tmpdir, show, wait_for
from test_campaign_kannel import OUTCOME_KEYS, seed

RATE = 20


def second_daemon(loa):
    other = Loa(_tmpdir("loa-it-b-"), loa.db_url)
    other.sections = copy.deepcopy(loa.sections)
    other.url = other.base_url
    other.sections["http"].update(listen=f"127.0.0.1:{other.http_port}", public_url=other.base_url)
    return Daemon(other)


def owner_log(d):
    log = d.log()
    return log.rfind("event=gateway_owned"), log.rfind("event=gateway_standby")


def holds(d):
    owned, standby = owner_log(d)
    return owned > standby


def start_pair(loa, daemon):
    """The test's configuration taken by the fixture's daemon (restarted) and by a second one on
    the same database; once one holds the gateway: (the second daemon, the holder, the other)."""
    daemon.stop()
    daemon.start()
    b = second_daemon(loa)
    b.start()
    try:
        wait_for(lambda: holds(daemon) or holds(b), timeout=15, what="a daemon to hold the gateway")
    except BaseException:
        b.stop()
        raise
    first, second = (daemon, b) if holds(daemon) else (b, daemon)
    return b, first, second


def busiest(samples, span=5.0):
    """The highest rate over any SPAN seconds of (monotonic time, messages received) samples.
    fakesmsc writes its log about once a second, so shorter spans measure its bursts."""
    best = 0.0
    for i, (t0, n0) in enumerate(samples):
        for t1, n1 in samples[i + 1:]:
            if t1 - t0 >= span:
                best = max(best, (n1 - n0) / (t1 - t0))
                break
    return best


@pytest.mark.plain_only
def test_two_daemons_share_one_gateway_rate_and_take_over(loa, kannel, daemon, psql):
    n = 400
    phones = seed(psql, loa, n)
    loa.sections["gateway.kannel"]["rate"] = str(RATE)
    loa.sections["gateway.kannel"]["concurrency"] = "5"
    loa.set("engine", "settle_seconds", "1")
    # A lease cut by the kill is taken back (in_doubt) after this, not after two minutes.
    loa.set("engine", "lease_seconds", "5")
    b, first, second = start_pair(loa, daemon)
    try:
        wait_for(lambda: "event=gateway_standby" in second.log(), timeout=5, what="the other to stand by")
        assert not holds(second)
        status = {g["name"]: g for g in loa.json("gateway", "status")["gateways"]}
        assert status["kannel"]["sent_by"] and status["kannel"]["sent_by"].endswith(f":{first.proc.pid}")

        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
        loa.ok("campaign", "start", "c")
        samples = []

        def sample_for(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                samples.append((time.monotonic(), len(kannel.received())))
                time.sleep(0.1)

        wait_for(lambda: len(kannel.received()) >= 10, timeout=30, what="sending to start")
        sample_for(4)
        both = (samples[-1][1] - samples[0][1]) / (samples[-1][0] - samples[0][0])

        # The owner stops answering: the other takes over once the hold has run out unrenewed.
        first.proc.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            deadline = stopped + 15
            while not holds(second) and time.monotonic() < deadline:
                sample_for(0.2)
            took = time.monotonic() - stopped
            assert holds(second), f"no takeover within 15 s:\n{second.log()[-2000:]}"
            sample_for(2)
        finally:
            first.proc.send_signal(signal.SIGCONT)
        # Woken, the old owner finds its hold expired and the gateway taken: it stands by.
        wait_for(lambda: not holds(first), timeout=10, what="the woken daemon to stand by")
        sample_for(2)

        # The new owner killed outright: its process is gone, the first daemon takes over at once.
        assert show(loa, "c")["status"] != "completed", "the campaign outlasts the takeovers"
        second.kill()
        killed = time.monotonic()
        wait_for(lambda: holds(first), timeout=10, what="the takeover after the kill")
        retaken = time.monotonic() - killed
        assert "event=gateway_owner_gone" in first.log()
        wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=90, what="completion")
        sample_for(1)
    finally:
        if b.running():
            b.stop()

    # Never faster than one gateway's rate: with two daemons each sending alone it would be
    # twice that. Throttle burst (rate / 10) and fakesmsc's log bursts are within the margin.
    worst = busiest(samples)
    print(f"busiest 5 s: {worst:.1f}/s (both up: {both:.1f}/s); takeover after SIGSTOP {took:.1f} s,"
          f" after SIGKILL {retaken:.1f} s")
    assert worst <= RATE * 1.3, f"{worst:.1f} messages/s through one gateway of rate {RATE}"
    assert both >= RATE * 0.6, f"only {both:.1f}/s while both were up"
    # The hold is renewed every second and expires after five unrenewed: a takeover waits for it.
    assert 3.0 <= took <= 12.0, took
    assert retaken <= 5.0, retaken

    time.sleep(1)
    states = dict(psql("SELECT state, count(*) FROM messages GROUP BY 1"))
    assert set(states) <= {"submitted", "delivered", "in_doubt"}, states
    got = collections.Counter(m["to"] for m in kannel.messages())
    twice = {p: c for p, c in got.items() if c > 1}
    assert not twice, f"received more than once: {twice}"
    rows = dict(psql("SELECT c.phone, m.state FROM messages m JOIN citizens c ON c.id = m.citizen_id"))
    assert len(rows) == n
    in_doubt = {p for p, st in rows.items() if st == "in_doubt"}
    missing = set(phones) - set(got) - in_doubt
    assert not missing, f"neither reached nor in doubt: {sorted(missing)[:10]}"
    s = show(loa, "c")
    assert sum(s["outcomes"][k] for k in OUTCOME_KEYS) == s["targeted"] == n


def test_two_daemons_count_one_daily_quota(loa, kannel, daemon, psql):
    """The daily quota is the gateway's, not each daemon's: the owner stopped cleanly after half
    of it, the other takes over at once and sends only the rest of today's count."""
    quota = 40
    seed(psql, loa, 100)
    loa.sections["gateway.kannel"].update(rate="10", concurrency="5", daily_quota=str(quota))
    loa.set("engine", "settle_seconds", "1")
    b, first, second = start_pair(loa, daemon)
    try:
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
        loa.ok("campaign", "start", "c")
        wait_for(lambda: len(kannel.received()) >= quota // 2, timeout=30, what="half the quota sent")
        assert first.stop() == 0, first.log()[-2000:]
        # Stopped cleanly, it gave the gateway up: the other holds it within a renewal.
        wait_for(lambda: holds(second), timeout=5, what="the takeover after a clean stop")
        wait_for(lambda: len(kannel.received()) >= quota, timeout=30, what="the rest of the quota")
        time.sleep(2)       # more than the rate needs to send a few more, were the count its own
        assert len(kannel.received()) == quota
        status = {g["name"]: g for g in loa.json("gateway", "status")["gateways"]}
        assert status["kannel"]["used_today"] == quota
        assert status["kannel"]["sent_by"].endswith(f":{second.proc.pid}")
        assert "used_today=" in second.log()
    finally:
        if b.running():
            b.stop()
    s = show(loa, "c")
    assert s["status"] == "running"
    assert int(psql("SELECT count(*) FROM messages WHERE state IN ('pending', 'retry_wait')")[0][0]) == 100 - quota
