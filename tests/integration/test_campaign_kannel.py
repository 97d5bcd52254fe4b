"""A campaign sent by `loa serve` through real Kannel and its fake SMSC: every citizen gets the
message exactly once, delivery reports come back through the per-message dlr-url, forged and
malformed reports are refused, a citizen's "TC" opts them out at once, and SIGTERM drains."""

import datetime
import hashlib
import hmac
import re
import time
import urllib.parse

import pytest

from conftest import show, wait_for

OUTCOME_KEYS = ["pending", "submitted", "delivered", "undelivered", "failed", "in_doubt",
                "suppressed", "expired", "cancelled"]


def seed(psql, loa, n, body="{{salutation}} {{given_name}}, BHXH nhắc đóng BHXH tự nguyện. {{opt_out_hint}}"):
    """N citizens in Gia Lai, a segment of them all and an SMS template; their phones in order."""
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    rows = psql(f"""
        INSERT INTO citizens (full_name, phone, commune_code, province_code, gender, birth_date)
        SELECT 'Nguyễn Văn ' || i, '849130' || lpad(i::text, 5, '0'), '23200', '52',
               CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END, DATE '1980-01-01' + i
          FROM generate_series(1, {int(n)}) i
        RETURNING phone""")
    tpl = loa.write_file("t.txt", body)
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", tpl)
    return [r[0] for r in rows]


def token(secret, campaign, msg):
    return hmac.new(secret.encode(), f"{campaign}.{msg}".encode(), hashlib.sha256).hexdigest()[:32]


def closed_window():
    """A sending window that does not contain the present moment in Vietnam."""
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=7)
    h = (now.hour + 2) % 22
    return f"{h:02d}:00-{h + 1:02d}:00"


@pytest.mark.volume
def test_kannel_campaign_reaches_every_citizen_exactly_once(loa, kannel, daemon, psql):
    phones = seed(psql, loa, 1000)
    # Faster than the fixture's 50 parts/s so that the test takes seconds.
    loa.sections["gateway.kannel"]["rate"] = "1000"
    loa.sections["gateway.kannel"]["concurrency"] = "20"
    loa.set("engine", "settle_seconds", "1")
    daemon.stop()
    daemon.start()
    loa.ok("campaign", "create", "may", "--segment", "all", "--channels", "sms:nhac")
    loa.ok("campaign", "start", "may")
    wait_for(lambda: show(loa, "may")["status"] == "completed", timeout=120, what="the campaign to complete")
    # With settle_seconds = 1 a campaign may complete before the last reports are in (on a
    # loaded machine fakesmsc's reports lag): they still apply after it.
    s = wait_for(lambda: (lambda x: x if x["outcomes"]["delivered"] == 1000 else None)(show(loa, "may")),
                 timeout=60, what="every delivery report")
    assert s["targeted"] == 1000
    assert sum(s["outcomes"][k] for k in OUTCOME_KEYS) == s["targeted"]

    got = kannel.wait_messages(1000)
    assert len(got) == 1000
    assert sorted(m["to"] for m in got) == sorted(phones), "each citizen exactly once"
    assert all(m["sender"] == "BHXH" for m in got)
    assert any("nhắc đóng BHXH" in m["text"] for m in got), "UCS-2 text arrives intact"
    parts = int(psql("SELECT sum(parts) FROM messages")[0][0])
    assert parts == len(kannel.received()), "parts counted equal parts sent"
    assert psql("SELECT count(*), count(DISTINCT message_id) FROM delivery_events WHERE status = '1'")[0] == ("1000", "1000")

    log = daemon.log()
    lines = re.findall(r"event=submit .*", log)
    assert len(lines) == 1000
    assert all("to=84913***" in ln and "outcome=accepted" in ln for ln in lines)
    assert not any(p in log for p in phones[:50]), "phone numbers are masked in the log"

    status, body = daemon.get("/metrics")
    assert status == 200
    assert 'loa_messages_submitted_total{gateway="kannel"} 1000' in body
    # Every delivery report was a webhook call that reached the database.
    applied = re.search(r'^loa_webhook_events_total\{outcome="applied"\} (\d+)$', body, re.M)
    assert applied and int(applied.group(1)) >= 1000, body


def test_kannel_forged_or_malformed_dlr_changes_nothing(loa, kannel, daemon, psql):
    seed(psql, loa, 3)
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac",
           "--window", closed_window())
    loa.ok("campaign", "start", "c")
    wait_for(lambda: psql("SELECT count(*) FROM messages")[0][0] == "3", what="materialisation")
    cid, mid = map(int, psql("SELECT campaign_id, id FROM messages ORDER BY id LIMIT 1")[0])
    # Outside its window the message stays pending; make it look submitted, as if sent (leased
    # first: the database allows no other way to submitted).
    psql(f"UPDATE messages SET state = 'leased' WHERE id = {mid}")
    psql(f"UPDATE messages SET state = 'submitted', submitted_at = now() WHERE id = {mid}")
    other = token(kannel.hook_secret, cid, mid + 1)
    base = f"/hooks/kannel/kannel/dlr?c={cid}&m={mid}"
    for q, want in [(f"{base}&s=2", 403),
                    (f"{base}&t={'0' * 32}&s=2", 403),
                    (f"{base}&t={other}&s=2", 403),
                    (f"/hooks/kannel/kannel/dlr?c={cid}&m=x{mid}&t={other}&s=2", 400),
                    (f"{base}&t={token(kannel.hook_secret, cid, mid)}", 400),
                    (f"{base}&t={token(kannel.hook_secret, cid, mid)}&s=banana", 400)]:
        status, _ = daemon.get(q)
        assert status == want, q
    assert psql(f"SELECT state FROM messages WHERE id = {mid}")[0][0] == "submitted"
    assert psql("SELECT count(*) FROM delivery_events")[0][0] == "0"
    # The genuine report is applied, and a duplicate of it changes nothing.
    good = f"{base}&t={token(kannel.hook_secret, cid, mid)}&s=2&ts=1777600000&id=abc"
    assert daemon.get(good)[0] == 200
    assert daemon.get(good)[0] == 200
    assert psql(f"SELECT state FROM messages WHERE id = {mid}")[0][0] == "undelivered"
    assert psql("SELECT count(*) FROM delivery_events")[0][0] == "2"


def test_kannel_mo_stop_opts_out_and_suppresses_at_once(loa, kannel, daemon, psql):
    phones = seed(psql, loa, 3)
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac",
           "--window", closed_window())
    loa.ok("campaign", "start", "c")
    wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0] == "3",
             what="pending messages")
    kannel.send_mo(phones[0], "TC")
    wait_for(lambda: psql("SELECT count(*) FROM opt_outs")[0][0] == "1", what="the opt-out")
    cit = psql("SELECT id FROM citizens WHERE phone = :'p'", p=phones[0])[0][0]
    assert psql("SELECT channel, source FROM opt_outs")[0] == ("all", "sms_reply")
    assert psql("SELECT state, reason FROM messages WHERE citizen_id = :'c'", c=cit)[0] == \
        ("suppressed", "opted out by reply")
    assert psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0] == "2"
    assert psql("SELECT intent, from_addr FROM replies")[0] == ("opt_out", phones[0])
    # The hook answers with an empty body: Kannel would send any body back as an SMS.
    q = urllib.parse.urlencode({"from": phones[1], "to": "8077", "text": "hỏi", "id": "x1",
                                "token": kannel.hook_secret})
    status, body = daemon.get(f"/hooks/kannel/kannel/mo?{q}")
    assert (status, body) == (200, "")
    bad = urllib.parse.urlencode({"from": phones[1], "text": "TC", "token": "nope"})
    assert daemon.get(f"/hooks/kannel/kannel/mo?{bad}")[0] == 403
    assert psql("SELECT count(*) FROM opt_outs")[0][0] == "1"


def test_kannel_sigterm_drains_and_a_restart_finishes(loa, kannel, daemon, psql):
    phones = seed(psql, loa, 200)
    loa.sections["gateway.kannel"]["rate"] = "40"
    loa.set("engine", "settle_seconds", "1")
    daemon.stop()
    daemon.start()
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
    loa.ok("campaign", "start", "c")
    wait_for(lambda: int(psql("SELECT count(*) FROM messages WHERE state IN ('submitted','delivered')")[0][0]) >= 20,
             what="some messages sent")
    assert daemon.stop() == 0
    assert "event=drained" in daemon.log()
    states = dict(psql("SELECT state, count(*) FROM messages GROUP BY 1"))
    assert "leased" not in states, states
    assert int(states.get("pending", 0)) > 0
    daemon.start()
    wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="completion after restart")
    got = kannel.wait_messages(200)
    assert sorted(m["to"] for m in got) == sorted(phones), "nobody twice, nobody forgotten"
