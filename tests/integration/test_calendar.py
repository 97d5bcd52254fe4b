"""The calendar with the clock set (LOA_TEST_CLOCK): a future --start fires only when the clock
reaches it, what is left at --end expires (also when the daemon was down across the end, so a
campaign never fires late), and a sending window closes at 21:00 and opens again at 07:00 in
Asia/Ho_Chi_Minh. A week of calendar runs in seconds."""

import datetime
import time

from conftest import show, wait_for

H = datetime.timedelta(hours=1)
S = datetime.timedelta(seconds=1)


def seed(psql, loa, n, prefix="849140"):
    """N citizens on phones of their own, a segment of them all and a one-part SMS template."""
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    rows = psql(f"""
        INSERT INTO citizens (full_name, phone, commune_code, province_code, birth_date)
        SELECT 'Trần Thị ' || i, '{prefix}' || lpad(i::text, 5, '0'), '23200', '52', DATE '1980-01-01' + i
          FROM generate_series(1, {int(n)}) i
        RETURNING phone""")
    tpl = loa.write_file("t.txt", "BHXH nhắc đóng BHXH tự nguyện. {{opt_out_hint}}")
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", tpl)
    return [r[0] for r in rows]


def slow(loa, daemon, rate):
    """The Kannel gateway at RATE messages a second (restarts the daemon)."""
    loa.sections["gateway.kannel"]["rate"] = str(rate)
    loa.sections["gateway.kannel"]["concurrency"] = "2"
    loa.set("engine", "settle_seconds", "1")
    daemon.stop()
    daemon.start()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S+07:00")


def sent(psql, name):
    return int(psql(f"""SELECT count(*) FROM messages m JOIN campaigns k ON k.id = m.campaign_id
                         WHERE k.name = '{name}' AND m.submitted_at IS NOT NULL""")[0][0])


def test_a_future_start_fires_only_when_the_clock_reaches_it(loa, kannel, clock, daemon, psql):
    phones = seed(psql, loa, 5)
    t0 = clock.local(10, 10, 0)
    clock.set(t0)
    start = t0 + 3 * H
    loa.ok("campaign", "create", "later", "--segment", "all", "--channels", "sms:nhac", "--start", iso(start))
    loa.ok("campaign", "start", "later")
    # Two hours on: still before the start. Several scheduler ticks pass.
    clock.set(t0 + 2 * H)
    time.sleep(1.5)
    assert show(loa, "later")["status"] == "scheduled"
    assert kannel.messages() == [], "nothing is sent before --start"
    clock.set(start + S)
    got = kannel.wait_messages(5)
    assert sorted(m["to"] for m in got) == sorted(phones)
    s = wait_for(lambda: (lambda x: x if x["status"] == "completed" else None)(show(loa, "later")),
                 what="completion")
    assert s["targeted"] == 5


def test_what_is_left_at_end_expires_and_a_daemon_down_across_the_end_sends_nothing_late(
        loa, kannel, clock, daemon, psql):
    phones = seed(psql, loa, 20)
    slow(loa, daemon, 4)
    t0 = clock.local(10, 10, 0)
    clock.set(t0)
    end = t0 + H
    loa.ok("campaign", "create", "short", "--segment", "all", "--channels", "sms:nhac", "--end", iso(end))
    loa.ok("campaign", "start", "short")
    kannel.wait_messages(3)
    daemon.stop()
    before = sent(psql, "short")
    assert 3 <= before < 20
    # Down across the end: a day later the daemon starts again.
    clock.set(end + 24 * H)
    daemon.start()
    s = wait_for(lambda: (lambda x: x if x["status"] == "completed" else None)(show(loa, "short")),
                 what="the campaign to end")
    time.sleep(1.0)
    got = kannel.messages()
    assert len(got) == before, "nothing is sent after --end"
    assert len({m["to"] for m in got}) == len(got)
    assert s["outcomes"]["expired"] == 20 - before
    assert psql("""SELECT DISTINCT state, reason FROM messages
                    WHERE submitted_at IS NULL""") == [("expired", "campaign ended")]
    assert sent(psql, "short") == before
    assert set(m["to"] for m in got) <= set(phones)


def test_the_window_closes_at_21_and_opens_again_at_7_local(loa, kannel, clock, daemon, psql):
    phones = seed(psql, loa, 30)
    slow(loa, daemon, 5)
    # The campaign starts well inside the window; once it sends, the clock jumps to just before
    # 21:00. (Set to 20:59:57 before the start, a slow machine reached 21:00 before the first
    # send.)
    clock.set(clock.local(10, 20, 50, 0))
    loa.ok("campaign", "create", "evening", "--segment", "all", "--channels", "sms:nhac",
           "--window", "07:00-21:00")
    loa.ok("campaign", "start", "evening")
    kannel.wait_messages(1, timeout=30)
    clock.set(clock.local(10, 20, 59, 58))
    # 21:00 local: sending stops (what was leased just before is held back, not sent late).
    clock.wait_until(clock.local(10, 21, 0, 1))
    closed = sent(psql, "evening")
    time.sleep(1.5)
    assert sent(psql, "evening") == closed, "nothing is sent after 21:00"
    assert 1 <= closed < 30
    assert len(kannel.messages()) == closed
    assert int(psql("SELECT count(*) FROM messages WHERE state = 'leased'")[0][0]) == 0
    # The night passes in a moment; at 06:59:58 the window is still closed.
    clock.set(clock.local(11, 6, 59, 58))
    time.sleep(1.0)
    assert sent(psql, "evening") == closed, "nothing is sent before 07:00"
    clock.wait_until(clock.local(11, 7, 0, 0))
    got = kannel.wait_messages(30, timeout=30)
    assert sorted(m["to"] for m in got) == sorted(phones), "everyone exactly once"
    wait_for(lambda: show(loa, "evening")["status"] == "completed", what="completion")
    assert int(psql("SELECT max(attempts) FROM messages")[0][0]) == 1, "held back, not retried"
