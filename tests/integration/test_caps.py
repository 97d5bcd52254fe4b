"""The frequency cap ([policy] frequency_cap, 2/7d by default) across every campaign, per
citizen and per phone number (a household sharing one phone is one recipient): campaigns
materialised together and leased at once never take a recipient beyond the cap; the over-cap
messages are suppressed with the reason, counted; eight days later the cap has room again. A
campaign started while another is sending takes nobody past the cap either, and one gateway
daily quota holds for both. A campaign's --daily-cap sends at most N a local day, the rest on
the following days."""

import collections
import time

from conftest import show, wait_for
from test_calendar import seed as seed_many, sent, slow

HOUSEHOLD = "84915000002"


def seed(psql, loa):
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    psql(f"""
        INSERT INTO citizens (full_name, phone, commune_code, province_code, birth_date)
        VALUES ('Lê Văn An', '84915000001', '23200', '52', DATE '1970-01-01'),
               ('Y Bih', '{HOUSEHOLD}', '23200', '52', DATE '1960-01-01'),
               ('Y Blao', '{HOUSEHOLD}', '23200', '52', DATE '1985-01-01'),
               ('Đinh Thị Hoa', '84915000003', '23200', '52', DATE '1990-01-01')""")
    tpl = loa.write_file("t.txt", "BHXH nhắc đóng BHXH tự nguyện. {{opt_out_hint}}")
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", tpl)


def settled(psql):
    return int(psql("SELECT count(*) FROM messages WHERE state IN ('pending', 'leased', 'retry_wait')")[0][0]) == 0


def test_the_cap_holds_across_campaigns_leased_at_once_and_per_shared_phone(loa, kannel, clock, daemon, psql):
    seed(psql, loa)
    loa.sections["gateway.kannel"]["rate"] = "200"
    loa.set("engine", "settle_seconds", "1")
    daemon.stop()
    daemon.start()
    # Materialised together before their window opens, so that the materialisation sees no
    # message sent yet: only the lease can hold the cap.
    clock.set(clock.local(10, 6, 0))
    # c1 sends to every member of a phone; c2 and c3 to one member per phone (the default).
    names = ["c1", "c2", "c3"]
    for n in names:
        loa.ok("campaign", "create", n, "--segment", "all", "--channels", "sms:nhac", "--window", "07:00-21:00",
               *(["--per-phone", "all"] if n == "c1" else []))
        loa.ok("campaign", "start", n)
    wait_for(lambda: all(show(loa, n)["targeted"] == 4 for n in names), what="materialisation")
    assert kannel.messages() == []
    assert int(psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0]) == 10
    clock.set(clock.local(10, 7, 0, 1))
    wait_for(lambda: settled(psql), what="every message leased and answered")
    got = kannel.wait_messages(6)
    per_phone = collections.Counter(m["to"] for m in got)
    assert per_phone == {"84915000001": 2, HOUSEHOLD: 2, "84915000003": 2}, \
        "two messages per recipient in 7 days, the household's phone included"
    bih = psql("SELECT id FROM citizens WHERE full_name = 'Y Bih'")[0][0]
    assert sorted(psql("""SELECT state, reason, count(*) FROM messages WHERE submitted_at IS NULL
                           GROUP BY 1, 2""")) == [("suppressed", "frequency cap", "4"),
                                                  ("suppressed", f"same phone as citizen {bih}", "2")]
    assert sum(show(loa, n)["outcomes"]["suppressed"] for n in names) == 6
    assert sum(sent(psql, n) for n in names) == 6

    # Eight days on, the cap has room again: one more campaign reaches everyone.
    clock.set(clock.local(18, 10, 0))
    loa.ok("campaign", "create", "c4", "--segment", "all", "--channels", "sms:nhac", "--per-phone", "all")
    loa.ok("campaign", "start", "c4")
    got = kannel.wait_messages(10)
    wait_for(lambda: settled(psql) and show(loa, "c4")["targeted"] == 4, what="c4 settled")
    assert collections.Counter(m["to"] for m in got) == {"84915000001": 3, HOUSEHOLD: 4, "84915000003": 3}
    assert show(loa, "c4")["outcomes"]["suppressed"] == 0


def test_a_daily_cap_sends_at_most_n_a_local_day_and_the_rest_on_the_next_days(loa, kannel, clock, daemon, psql):
    phones = seed_many(psql, loa, 7, prefix="849180")
    loa.sections["gateway.kannel"]["rate"] = "200"
    daemon.stop()
    daemon.start()
    clock.set(clock.local(10, 10, 0))
    r = loa.run("campaign", "create", "x", "--segment", "all", "--channels", "sms:nhac", "--daily-cap", "0")
    assert r.returncode == 2 and "--daily-cap takes a number" in r.stderr
    loa.ok("campaign", "create", "capped", "--segment", "all", "--channels", "sms:nhac", "--daily-cap", "3")
    loa.ok("campaign", "start", "capped")
    kannel.wait_messages(3)
    wait_for(lambda: show(loa, "capped").get("sent_today") == 3, what="today's count")
    time.sleep(1.5)
    assert len(kannel.messages()) == 3, "three a day"
    s = show(loa, "capped")
    assert (s["daily_cap"], s["sent_today"], s["status"]) == (3, 3, "running")
    assert "daily cap 3 a day (3 sent today)" in loa.ok("campaign", "show", "capped").stdout
    clock.set(clock.local(11, 10, 0))
    kannel.wait_messages(6)
    time.sleep(1.0)
    assert len(kannel.messages()) == 6
    clock.set(clock.local(12, 10, 0))
    got = kannel.wait_messages(7)
    assert sorted(m["to"] for m in got) == sorted(phones)


def start(loa, name, *args):
    loa.ok("campaign", "create", name, "--segment", "all", "--channels", "sms:nhac", *args)
    loa.ok("campaign", "start", name)


def test_the_cap_holds_for_a_campaign_started_while_another_is_sending(loa, kannel, daemon, psql):
    n = 120
    phones = seed_many(psql, loa, n, prefix="849181")
    loa.set("policy", "frequency_cap", "1/7d")
    slow(loa, daemon, 20)
    start(loa, "first")
    wait_for(lambda: sent(psql, "first") >= 20, timeout=30, what="the first campaign sending")
    # Materialised while the first sends: most of its citizens have no message sent yet, but
    # leased or about to be; the lease must still hold the cap against every campaign.
    start(loa, "second")
    wait_for(lambda: show(loa, "second")["targeted"] == n, what="the second materialised")
    wait_for(lambda: settled(psql) and all(show(loa, c)["status"] == "completed" for c in ("first", "second")),
             timeout=60, what="both campaigns settled")
    kannel.wait_messages(n)
    time.sleep(1.0)
    got = collections.Counter(m["to"] for m in kannel.messages())
    assert set(got) == set(phones) and max(got.values()) == 1, "each citizen once in 7 days, not twice"
    assert sent(psql, "first") + sent(psql, "second") == n
    s2 = show(loa, "second")
    assert s2["outcomes"]["suppressed"] == n - sent(psql, "second") > 0
    assert psql("SELECT DISTINCT reason FROM messages WHERE state = 'suppressed'") == [("frequency cap",)]


def test_a_gateways_daily_quota_holds_across_a_campaign_started_while_another_is_sending(loa, kannel, daemon,
                                                                                        psql):
    seed_many(psql, loa, 25, prefix="849182")
    loa.sections["gateway.kannel"]["daily_quota"] = "30"
    slow(loa, daemon, 10)
    start(loa, "first")
    wait_for(lambda: sent(psql, "first") >= 10, timeout=30, what="the first campaign sending")
    # 25 more to the same citizens (the default cap is 2 in 7 days): 50 wanted, 30 allowed today.
    start(loa, "second")
    kannel.wait_messages(30, timeout=30)
    wait_for(lambda: sent(psql, "first") + sent(psql, "second") == 30, what="the quota recorded")
    time.sleep(2.0)     # time for anything past the quota to go out, were it leased
    assert len(kannel.messages()) == 30, "one quota for both campaigns"
    states = dict(psql("SELECT state, count(*) FROM messages GROUP BY 1"))
    assert int(states.get("pending", 0)) == 20 and "failed" not in states and "leased" not in states, states
    assert sent(psql, "second") > 0, "the second campaign had its share"
    for c in ("first", "second"):
        s = show(loa, c)
        assert s["status"] == ("running" if s["outcomes"]["pending"] else "completed"), s
    g = next(g for g in loa.json("gateway", "status")["gateways"] if g["name"] == "kannel")
    assert g["used_today"] == 30, g
