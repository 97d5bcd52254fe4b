"""Answers to citizens' replies, really sent by `loa serve` through real Kannel and the Zalo
double: one confirmation per opt-out, none for a name or a "yes", the FAQ bank answering by
itself, an officer's answer arriving, the help text once a day, a flood answered only a few
times, a STOP confirmed within seconds while a campaign holds the gateway, and the answer to a
Zalo user by consultation message."""

import contextlib
import csv
import io
import json
import subprocess
import time
import urllib.parse

import pytest

from conftest import Daemon, psql_command, show, wait_for
from test_zalo import mac, post_hook

NAMES = [("Nguyễn Văn Tuấn", "male", "1960-03-01"), ("Trần Thị Hoa", "female", "1958-07-12"),
         ("Lê Văn Nam", "male", "1995-01-20"), ("Phạm Thị Lan", "female", "1990-05-05")]


def seed(psql, loa, n, prefix="849150"):
    """N citizens, a segment of them all and an SMS template; their phones in order."""
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    values = ",".join(
        f"('{NAMES[i % 4][0]}', '{prefix}{i + 1:05d}', '23200', '52', '{NAMES[i % 4][1]}', DATE '{NAMES[i % 4][2]}')"
        for i in range(n))
    psql("INSERT INTO citizens (full_name, phone, commune_code, province_code, gender, birth_date) "
         f"VALUES {values}")
    tpl = loa.write_file("t.txt", "{{salutation}} {{given_name}}, BHXH nhắc đóng BHXH tự nguyện.")
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", tpl)
    return [f"{prefix}{i + 1:05d}" for i in range(n)]


@contextlib.contextmanager
def serving(loa):
    """`loa serve` started with the configuration as the test set it (the `daemon` fixture starts
    before the test body, and a restart costs seconds); stopped with SIGTERM, which must exit 0."""
    d = Daemon(loa).start()
    try:
        yield d
    except BaseException:
        print(f"--- daemon log\n{d.log()}")
        raise
    finally:
        status = d.stop()
    assert status == 0, f"loa serve exited with status {status} after SIGTERM"


def closed_window():
    """A sending window that does not hold the present moment in Vietnam."""
    h = (time.gmtime().tm_hour + 7 + 2) % 22
    return f"{h:02d}:00-{h + 1:02d}:00"


def send_mos(kannel, pairs):
    """Citizens' replies (PHONE, TEXT), written to the fake SMSC's input in the shape tests/kannel.sh
    mo writes one: a process per reply costs seconds on a loaded machine."""
    lines = []
    for phone, text in pairs:
        if text.isascii() and text.isprintable() and text.strip() == text:
            lines.append(f"{phone} {kannel.sender} text {text}\n")
        else:
            lines.append(f"{phone} {kannel.sender} ucs2 {urllib.parse.quote(text.encode('utf-16-be'), safe='')}\n")
    # fakesmsc takes one line per read of its input: one write each, a moment apart.
    with open(kannel.dir / "mo.fifo", "w") as f:
        for line in lines:
            f.write(line)
            f.flush()
            time.sleep(0.15)


def to(kannel, phone):
    return [m["text"] for m in kannel.messages() if m["to"] == phone]


def settled(psql):
    """No answer waiting to be sent."""
    return psql("SELECT count(*) FROM outbound_answers WHERE state IN ('pending','leased','retry_wait')")[0][0] == "0"


STOPS = ["TC", "T C", "tu choi", "Từ chối", "HUY", "huỷ", "STOP", "Dừng"]
NOT_STOPS = ["Đúng", "Dũng", "Huy đây"]


def test_each_opt_out_is_confirmed_once_and_a_name_opts_nobody_out(loa, kannel, daemon, psql):
    phones = seed(psql, loa, len(STOPS) + len(NOT_STOPS))
    loa.ok("campaign", "create", "c1", "--segment", "all", "--channels", "sms:nhac", "--window", closed_window())
    loa.ok("campaign", "start", "c1")
    wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0] == str(len(phones)),
             what="pending messages")
    send_mos(kannel, zip(phones, STOPS + NOT_STOPS))
    stops, others = phones[:len(STOPS)], phones[len(STOPS):]
    for phone, text in zip(stops, STOPS):
        got = wait_for(lambda: to(kannel, phone), timeout=20, what=f"the confirmation of {text!r}")
        assert len(got) == 1 and "Bạn đã từ chối nhận tin" in got[0] and "soạn DK" in got[0], (text, got)
    # Rendered with the citizen's name: the first is Nguyễn Văn Tuấn, born 1960.
    assert to(kannel, stops[0])[0].startswith("BHXH: Chào Ông Tuấn.")
    assert to(kannel, stops[1])[0].startswith("BHXH: Chào Bà Hoa.")
    # Asking again is no second opt-out, so no second confirmation.
    send_mos(kannel, [(stops[0], "TC")])
    wait_for(lambda: psql("SELECT count(*) FROM replies")[0][0] == str(len(phones) + 1), what="every reply")
    opted = {r[0] for r in psql("SELECT c.phone FROM opt_outs o JOIN citizens c ON c.id = o.citizen_id")}
    assert opted == set(stops)
    states = dict(psql("SELECT c.phone, m.state FROM messages m JOIN citizens c ON c.id = m.citizen_id"))
    assert all(states[p] == "suppressed" for p in stops)
    assert all(states[p] == "pending" for p in others)
    # A name or a "yes" opts nobody out: it gets the help text, which says how to stop.
    for phone in others:
        got = wait_for(lambda: to(kannel, phone), timeout=20, what="the help text")
        assert len(got) == 1 and "Soạn TC để từ chối" in got[0]
    wait_for(lambda: settled(psql), what="every answer sent")
    time.sleep(0.5)
    assert len(to(kannel, stops[0])) == 1, "exactly one confirmation per opt-out"
    # Answers are counted as answers, never as campaign traffic.
    counted = dict(psql("SELECT kind, sum(n) FROM answer_counters GROUP BY 1"))
    assert counted == {"opt_out": str(len(STOPS)), "help": str(len(NOT_STOPS))}
    assert psql("SELECT sum(n) FROM campaign_counters")[0][0] == str(len(phones))
    s = show(loa, "c1")
    assert s["targeted"] == len(phones) and s["by_channel"]["sms"]["sent"] == 0

    # A second campaign to the same segment suppresses exactly the opted-out citizens.
    loa.ok("campaign", "create", "c2", "--segment", "all", "--channels", "sms:nhac", "--window", closed_window())
    loa.ok("campaign", "start", "c2")
    cid = psql("SELECT id FROM campaigns WHERE name = 'c2'")[0][0]
    wait_for(lambda: psql(f"SELECT count(*) FROM messages WHERE campaign_id = {cid}")[0][0] == str(len(phones)),
             what="the second campaign's messages")
    sup = {r[0] for r in psql(f"SELECT c.phone FROM messages m JOIN citizens c ON c.id = m.citizen_id "
                              f"WHERE m.campaign_id = {cid} AND m.state = 'suppressed'")}
    assert sup == set(stops)
    log = daemon.log()
    assert "event=answer_submit" in log and not any(p in log for p in phones)
    status, body = daemon.get("/metrics")
    assert status == 200 and f'loa_answers_sent_total{{gateway="kannel"}} {len(phones)}' in body


def test_faq_officer_help_and_flood(loa, kannel, daemon, psql):
    asker, stranger, dung, flood = seed(psql, loa, 4)
    # A question the bank knows is answered at once, with the citizen's name.
    send_mos(kannel, [(asker, "Mức đóng BHXH tự nguyện thấp nhất là bao nhiêu?"),
                      (stranger, "Nhà tôi có con chó bị ốm, làm sao?")])
    got = wait_for(lambda: to(kannel, asker), timeout=20, what="the FAQ answer")
    assert "330.000" in got[0] and got[0].startswith("BHXH: Chào Ông Tuấn.")
    assert psql("SELECT answered_by FROM replies WHERE from_addr = :'p'", p=asker) == [("faq",)]
    # One it does not know waits for an officer; the officer's answer arrives.
    wait_for(lambda: psql("SELECT id FROM replies WHERE from_addr = :'p'", p=stranger), what="the question")
    queue = loa.json("replies", "list", "--unanswered", "--unmasked")["replies"]
    mine = [r for r in queue if r.get("from") == stranger or r.get("from_addr") == stranger]
    assert len(mine) == 1, queue
    assert to(kannel, stranger) == []
    rid = psql("SELECT id FROM replies WHERE from_addr = :'p'", p=stranger)[0][0]
    a = loa.json("replies", "answer", rid, "Xin mời mang vật nuôi đến thú y xã.", "--by", "can_bo")
    assert a["channel"] == "sms" and a["state"] == "pending"
    got = wait_for(lambda: to(kannel, stranger), timeout=20, what="the officer's answer")
    assert got == ["BHXH: Chào Bà Hoa. Xin mời mang vật nuôi đến thú y xã."]
    assert loa.run("replies", "answer", rid, "lần hai", "--by", "khac").returncode == 1
    # A bare "dung" (đúng? dừng?) opts nobody out and gets the help text once a day.
    send_mos(kannel, [(dung, "dung"), (dung, "dung")])
    wait_for(lambda: psql("SELECT count(*) FROM replies WHERE from_addr = :'p'", p=dung)[0][0] == "2",
             what="both replies")
    # A flood from one number: every message stored, at most answers_per_hour (4) answered.
    send_mos(kannel, [(flood, "VssID là gì?")] * 8)
    wait_for(lambda: psql("SELECT count(*) FROM replies WHERE from_addr = :'p'", p=flood)[0][0] == "8",
             what="the flood stored")
    wait_for(lambda: settled(psql), what="every answer sent")
    time.sleep(0.5)
    assert len(to(kannel, dung)) == 1 and "Soạn TC" in to(kannel, dung)[0]
    assert psql("SELECT count(*) FROM opt_outs")[0][0] == "0"
    assert len(to(kannel, flood)) == 4
    # Delivery reports of answers come back through their own dlr-url.
    wait_for(lambda: psql("SELECT count(*) FROM outbound_answers WHERE state = 'delivered'")[0][0] == "7",
             what="the answers' delivery reports")


@pytest.mark.parametrize("kind", ["faq", "help"])
def test_two_replies_taken_at_once_keep_the_senders_limits(psql, db_url, kind):
    """The daemon takes replies on several connections, so two replies from one sender can be
    taken at once. Each limit counts the answers already queued to the sender (answers_per_hour
    for the FAQ, the help text once in help_hours); two replies that each counted before the
    other's answer was committed both got one (a flood of 8 got 5 answers with a limit of 4).
    Here reply A is taken and its transaction held open; reply B must wait for it, not answer."""
    phone = "84915000009"
    psql("INSERT INTO citizens (full_name, phone, commune_code, province_code) "
         f"VALUES ('Trần Thị Hoa', '{phone}', '23200', '52')")
    faq, intent, earlier = ("'VssID là ứng dụng của BHXH.'", "question", 3) if kind == "faq" else ("NULL", "other", 0)

    def take(ext):
        return (f"SELECT answer_kind FROM loa_take_reply('kannel', 'sms', '{phone}', 'VssID?', '{ext}', "
                f"'{intent}', 'sms_reply', 14, 4, 24, {faq});")
    for i in range(earlier):
        assert psql(take(f"e{i}")) == [(kind,)]
    gate = 7140950
    cmd = psql_command(db_url) + ["-v", "ON_ERROR_STOP=1"]

    def waiting(gated):
        """Whether a session waits at the gate (GATED), or for anything else."""
        at_gate = f"locktype = 'advisory' AND classid = 0 AND objid = {gate}"
        return psql(f"SELECT count(*) FROM pg_locks WHERE NOT granted AND {'' if gated else 'NOT'} ({at_gate})")[0][0] != "0"
    ctl = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ctl.stdin.write(f"SELECT pg_advisory_lock({gate});\n")
    ctl.stdin.flush()
    wait_for(lambda: psql(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                          f"AND objid = {gate}")[0][0] == "1", what="the gate held")
    a = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    a.stdin.write(f"BEGIN; {take('a')} SELECT pg_advisory_lock_shared({gate}); COMMIT;\n")
    a.stdin.close()
    wait_for(lambda: waiting(True), what="reply A taken, its transaction open")
    b = subprocess.Popen(cmd + ["-c", take("b")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # B finishes, or waits for a lock A's transaction holds: the sender's, or (before the
    # sender's lock) the day's answer counter row, after B had counted and queued its answer.
    wait_for(lambda: b.poll() is not None or waiting(False), what="reply B finished or waiting for A")
    ctl.stdin.write(f"SELECT pg_advisory_unlock({gate});\n")
    ctl.stdin.close()
    a.wait(timeout=30)
    out_a, err_a = a.stdout.read(), a.stderr.read()
    out_b, err_b = b.communicate(timeout=30)
    ctl.wait(timeout=30)
    assert a.returncode == 0 and b.returncode == 0, (err_a, err_b)
    assert kind in out_a.split()
    assert kind not in out_b.split(), f"reply B was answered too: {out_b!r}"
    assert psql(f"SELECT count(*) FROM replies WHERE from_addr = '{phone}'")[0][0] == str(earlier + 2)
    assert psql(f"SELECT count(*) FROM outbound_answers a JOIN replies q ON q.id = a.reply_id "
                f"WHERE q.from_addr = '{phone}'")[0][0] == str(earlier + 1)


def test_a_citizen_writing_by_sms_and_on_zalo_has_one_limit(psql):
    """answers_per_hour counts the citizen's answers whichever address they wrote from: four FAQ
    answers by SMS leave none for a question on Zalo, while another citizen is answered."""
    psql("INSERT INTO citizens (full_name, phone, commune_code, province_code, zalo_user_id) VALUES "
         "('Trần Thị Hoa', '84915000009', '23200', '52', 'zu-9'), ('Lê Văn Nam', '84915000008', '23200', '52', 'zu-8')")

    def take(channel, sender, ext):
        return psql(f"SELECT COALESCE(answer_kind, '-') FROM loa_take_reply('{'oa' if channel == 'zalo' else 'kannel'}', "
                    f"'{channel}', '{sender}', 'VssID?', '{ext}', 'question', '{channel}_reply', 14, 4, 24, "
                    f"'VssID là ứng dụng của BHXH.')")[0][0]
    assert [take("sms", "84915000009", f"s{i}") for i in range(4)] == ["faq"] * 4
    assert take("zalo", "zu-9", "z1") == "-", "a fifth answer within the hour, on Zalo"
    assert take("zalo", "zu-8", "z2") == "faq"
    # The opt-out's confirmation is not held back by the questions' limit.
    assert psql("SELECT answer_kind FROM loa_take_reply('oa', 'zalo', 'zu-9', 'TC', 'z3', 'opt_out', "
                "'zalo_reply', 14, 4, 24, NULL)") == [("opt_out",)]
    assert psql("SELECT count(*) FROM replies") == [("7",)]


def test_stop_during_a_running_campaign_is_confirmed_within_5_s(loa, kannel, psql):
    # A slow gateway: the campaign holds it for well over the 5 s.
    loa.sections["gateway.kannel"]["rate"] = "4"
    loa.sections["gateway.kannel"]["concurrency"] = "2"
    with serving(loa):
        stop_during_a_running_campaign(loa, kannel, psql)


def stop_during_a_running_campaign(loa, kannel, psql):
    phones = seed(psql, loa, 60)
    loa.ok("campaign", "create", "big", "--segment", "all", "--channels", "sms:nhac")
    loa.ok("campaign", "start", "big")
    wait_for(lambda: int(psql("SELECT count(*) FROM messages WHERE state IN ('submitted','delivered')")[0][0]) >= 5,
             what="the campaign under way")
    late = phones[-1]
    assert psql("SELECT m.state FROM messages m JOIN citizens c ON c.id = m.citizen_id WHERE c.phone = :'p'",
                p=late)[0][0] == "pending"
    send_mos(kannel, [(late, "TC")])
    got = wait_for(lambda: to(kannel, late), timeout=10, what="the confirmation")
    # loa's part, on the database's clock: from the STOP stored to its confirmation taken by
    # Kannel (the harness's own MO injection, a process start, is not loa's delay).
    took = float(psql("SELECT extract(epoch FROM a.sent_at - r.received_at) FROM outbound_answers a"
                      " JOIN replies r ON r.id = a.reply_id WHERE r.from_addr = :'p' AND a.kind = 'opt_out'",
                      p=late)[0][0])
    assert took < 5, f"confirmed {took:.1f} s after the STOP was stored"
    assert len(got) == 1 and "từ chối" in got[0]
    assert show(loa, "big")["status"] == "running"
    assert psql("SELECT m.state FROM messages m JOIN citizens c ON c.id = m.citizen_id WHERE c.phone = :'p'",
                p=late)[0][0] == "suppressed"

    # Statistics per campaign count citizens, not messages, of the replies attributed to it:
    # those to a message sent within [replies] attribution_days (14 by default).
    sent = [r[0] for r in psql("SELECT c.phone FROM messages m JOIN citizens c ON c.id = m.citizen_id "
                               "WHERE m.state IN ('submitted','delivered') ORDER BY m.id LIMIT 4")]
    psql("UPDATE messages m SET submitted_at = now() - interval '20 days' FROM citizens c "
         "WHERE c.id = m.citizen_id AND c.phone = :'p'", p=sent[3])
    send_mos(kannel, [(sent[0], "gọi lại cho tôi"), (sent[0], "gọi lại cho tôi"),
                      (sent[1], "Cho hỏi mức đóng thấp nhất?"), (sent[2], "TC"), (sent[2], "DK"),
                      (sent[3], "gọi lại cho tôi")])
    wait_for(lambda: psql("SELECT count(*) FROM replies")[0][0] == "7", what="the replies")
    s = show(loa, "big")
    assert (s["replies"], s["opted_out"], s["opted_in"], s["registered"], s["questions"]) == (3, 1, 1, 1, 1), s
    assert psql("SELECT campaign_id IS NULL FROM replies WHERE from_addr = :'p'", p=sent[3]) == [("t",)]
    assert "registered 1" in loa.ok("campaign", "show", "big").stdout
    # The call-back list, once per citizen, with full numbers for the officers who call.
    rows = list(csv.reader(io.StringIO(loa.ok("replies", "callbacks", "--csv").stdout)))
    assert rows[0] == ["reply_id", "received", "campaign", "full_name", "phone", "channel", "commune_code",
                       "commune_name", "text"]
    assert sorted(r[4] for r in rows[1:]) == sorted([sent[0], sent[3]])
    assert sorted(r[2] for r in rows[1:]) == ["", "big"] and all(r[8] == "gọi lại cho tôi" for r in rows[1:])
    js = loa.json("replies", "callbacks", "--campaign", "big")["callbacks"]
    assert len(js) == 1 and "***" in js[0]["phone"] and js[0]["full_name"]
    assert loa.run("replies", "callbacks", "--csv", "--json").returncode == 2
    # Ends the campaign, unless a slow machine let it complete meanwhile.
    p = loa.run("campaign", "cancel", "big")
    assert p.returncode == 0 or "is completed" in p.stderr, p.stderr


def test_zalo_user_send_text_question_is_answered_by_consultation_message(loa, zalo_double, kannel, psql):
    loa.add_gateway("oa", type="zalo_oa", api_url=zalo_double.url, token_from="zalo", rate=50,
                    oa_secret="oa-secret", app_id="app-1", timeout_ms=3000)
    with serving(loa) as d:
        zalo_question_answered(zalo_double, kannel, psql)
        zalo_answer_read(d, zalo_double, psql)


def zalo_answer_read(daemon, zalo_double, psql):
    """Zalo's user_seen_message naming the consultation message delivers the answer; other ids
    and a second report change nothing."""
    mid = zalo_double.state()["cs"][0]["message_id"]
    assert psql("SELECT state FROM outbound_answers WHERE gateway_msg_id = :'m'", m=mid) == [("submitted",)]
    before = dict(psql("SELECT state, sum(n) FROM answer_counters WHERE channel = 'zalo' GROUP BY 1"))
    for ids in (["not-ours"], [mid, "not-ours"], [mid]):
        now = str(int(time.time() * 1000))
        body = json.dumps({"event_name": "user_seen_message", "app_id": "app-1", "timestamp": now,
                           "sender": {"id": "oa-1"}, "recipient": {"id": "zu-77"},
                           "message": {"msg_ids": ids}})
        assert post_hook(daemon, body, mac(body, now), name="oa") == 200
    assert psql("SELECT state, final_at IS NOT NULL FROM outbound_answers WHERE gateway_msg_id = :'m'",
                m=mid) == [("delivered", "t")]
    after = dict(psql("SELECT state, sum(n) FROM answer_counters WHERE channel = 'zalo' GROUP BY 1"))
    assert int(after.get("delivered", 0)) == int(before.get("delivered", 0)) + 1
    assert int(after.get("submitted", 0)) == int(before.get("submitted", 0)) - 1
    # Without msg_ids it is malformed: refused, and nothing changes.
    now = str(int(time.time() * 1000))
    body = json.dumps({"event_name": "user_seen_message", "app_id": "app-1", "timestamp": now,
                       "message": {}})
    assert post_hook(daemon, body, mac(body, now), name="oa") == 400


def zalo_question_answered(zalo_double, kannel, psql):
    psql("INSERT INTO citizens (full_name, phone, commune_code, province_code, gender, birth_date, zalo_user_id) "
         "VALUES ('Trần Thị Hoa', '84915099999', '23200', '52', 'female', '1958-07-12', 'zu-77'),"
         "       ('Lê Văn Nam', '84915099998', '23200', '52', 'male', '1995-01-20', 'zu-88')")
    zalo_double.control(send_text={"user_id": "zu-77", "text": "VssID là gì?", "msg_id": "m-1"})
    cs = wait_for(lambda: zalo_double.state()["cs"], timeout=20, what="a consultation message")
    assert len(cs) == 1 and cs[0]["user_id"] == "zu-77"
    assert cs[0]["text"].startswith("BHXH: Chào Bà Hoa.") and "VssID" in cs[0]["text"]
    wait_for(lambda: psql("SELECT channel, gateway, state FROM outbound_answers") == [("zalo", "oa", "submitted")],
             what="the answer recorded as submitted")
    assert kannel.messages() == []
    # Zalo refuses a consultation message to a user it counts as silent for 7 days (-230): the
    # answer goes by SMS to the citizen's phone instead.
    zalo_double.control(users_outside_window=["zu-88"])
    zalo_double.control(send_text={"user_id": "zu-88", "text": "VssID là gì?", "msg_id": "m-2"})
    got = wait_for(lambda: to(kannel, "84915099998"), timeout=20, what="the answer by SMS")
    assert got[0].startswith("BHXH: Chào Anh Nam.") and "VssID" in got[0]
    assert len(zalo_double.state()["cs"]) == 1
    assert psql("SELECT channel, gateway, attempts FROM outbound_answers WHERE address = '84915099998'") == \
        [("sms", "kannel", "2")]
