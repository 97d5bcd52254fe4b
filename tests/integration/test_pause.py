"""Pause, resume and cancel measured at Kannel's fake SMSC: nothing more arrives a second after
`loa campaign pause`; resume sends the rest, nobody twice; cancel cancels only what was not yet
sent and leaves the in_doubt messages in_doubt, visible in `campaign show`."""

import collections
import datetime
import time

from conftest import show, wait_for
from test_calendar import seed, sent, slow


def test_pause_stops_sending_within_a_second_and_resume_sends_the_rest_once(loa, kannel, daemon, psql):
    phones = seed(psql, loa, 40, prefix="849160")
    slow(loa, daemon, 10)
    loa.ok("campaign", "create", "p", "--segment", "all", "--channels", "sms:nhac")
    loa.ok("campaign", "start", "p")
    kannel.wait_messages(5)
    loa.ok("campaign", "pause", "p")
    time.sleep(1.0)
    at_1s = len(kannel.messages())
    time.sleep(2.0)
    assert len(kannel.messages()) == at_1s, "nothing reaches the SMSC a second after the pause"
    assert at_1s < 40
    assert show(loa, "p")["status"] == "paused"
    assert int(psql("SELECT count(*) FROM messages WHERE state = 'leased'")[0][0]) == 0, \
        "what waited in the daemon's queue is back to pending"
    loa.ok("campaign", "resume", "p")
    got = kannel.wait_messages(40, timeout=30)
    wait_for(lambda: show(loa, "p")["status"] == "completed", what="completion")
    time.sleep(0.5)
    got = kannel.messages()
    assert sorted(m["to"] for m in got) == sorted(phones), "everyone once: nothing resent"
    assert int(psql("SELECT max(attempts) FROM messages")[0][0]) == 1


def test_cancel_keeps_in_doubt_visible_and_cancels_only_what_was_not_sent(loa, kannel, clock, daemon, psql):
    seed(psql, loa, 30, prefix="849170")
    slow(loa, daemon, 5)
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
    loa.ok("campaign", "start", "c")
    kannel.wait_messages(3)
    # Killed with rows leased: whether they reached the gateway is unknown.
    daemon.kill()
    leased = int(psql("SELECT count(*) FROM messages WHERE state = 'leased'")[0][0])
    assert leased > 0
    # Their leases (120 s) expire: the clock runs ten minutes on, and the daemon comes back
    # cancelled, so that it sends nothing more.
    clock.set(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10))
    loa.ok("campaign", "pause", "c")
    daemon.start()
    wait_for(lambda: int(psql("SELECT count(*) FROM messages WHERE state = 'in_doubt'")[0][0]) == leased,
             what="the expired leases in doubt")
    # A request the killed daemon had handed to smsbox may reach the fake SMSC a little later
    # (its row is one of those in doubt): wait until nothing more arrives for a second and a half.
    before, quiet_since = len(kannel.messages()), time.monotonic()
    while time.monotonic() - quiet_since < 1.5:
        time.sleep(0.1)
        n = len(kannel.messages())
        if n != before:
            before, quiet_since = n, time.monotonic()
    out = loa.json("campaign", "cancel", "c")
    s = show(loa, "c")
    assert s["status"] == "cancelled"
    assert s["outcomes"]["in_doubt"] == leased, "in_doubt stays in_doubt, shown"
    done = sent(psql, "c") - leased
    assert s["outcomes"]["cancelled"] == 30 - done - leased == out["messages_cancelled"]
    assert psql("SELECT DISTINCT reason FROM messages WHERE state = 'in_doubt'") == \
        [("lease expired: the gateway may have taken it",)]
    time.sleep(1.0)
    got = kannel.messages()
    assert len(got) == before, "nothing is sent after the cancel"
    assert max(collections.Counter(m["to"] for m in got).values()) == 1
    states = dict(psql("SELECT c.phone, m.state FROM messages m JOIN citizens c ON c.id = m.citizen_id"))
    assert {states[m["to"]] for m in got} <= {"submitted", "delivered", "in_doubt"}, \
        "no message recorded as cancelled reached the SMSC"
    assert "in_doubt" in loa.ok("campaign", "show", "c").stdout


def test_cancel_while_sending_cancels_only_what_no_gateway_was_given(loa, kannel, daemon, psql):
    seed(psql, loa, 40, prefix="849190")
    slow(loa, daemon, 10)
    loa.ok("campaign", "create", "k", "--segment", "all", "--channels", "sms:nhac")
    loa.ok("campaign", "start", "k")
    kannel.wait_messages(5)
    loa.ok("campaign", "cancel", "k")
    # The daemon's queue is settled too: nothing stays leased, nothing pending.
    wait_for(lambda: int(psql("""SELECT count(*) FROM messages
                                  WHERE state IN ('leased', 'pending', 'retry_wait')""")[0][0]) == 0,
             what="the queue settled")
    time.sleep(1.0)
    got = kannel.messages()
    assert len(got) < 40
    states = dict(psql("SELECT c.phone, m.state FROM messages m JOIN citizens c ON c.id = m.citizen_id"))
    assert {states[m["to"]] for m in got} <= {"submitted", "delivered"}, \
        "a message the gateway was given is never recorded as cancelled"
    assert sum(1 for st in states.values() if st == "cancelled") == 40 - len(got)
    assert show(loa, "k")["outcomes"]["cancelled"] == 40 - len(got)
