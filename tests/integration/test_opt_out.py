"""A stop is honoured at once, whichever way it comes and wherever the citizen's message is: a
message leased and waiting in the daemon for room in the throttle is not sent; an opt-out from
an import reaches a running campaign; an in-doubt message is never resent to a citizen who has
opted out since; opting out of one channel leaves the other. The confirmation is never eaten by
the flood limit, goes back on the channel the citizen used (Zalo included), and comes within
seconds while a 10,000-citizen campaign holds the gateway. A reply from a number not on file is
stored, matched to nobody. Opt-outs too many to name in one notification hold back what is
waiting, and what a lease running as they commit brings."""

import subprocess
import time

from conftest import _pg_bindir, show, wait_for
from test_answers import closed_window, send_mos, seed, serving, settled, to


def state_of(psql, phone, campaign="c"):
    return psql("SELECT m.state, m.reason FROM messages m JOIN citizens c ON c.id = m.citizen_id "
                "JOIN campaigns k ON k.id = m.campaign_id WHERE c.phone = :'p' AND k.name = :'k'",
                p=phone, k=campaign)[0]


def test_a_stop_reaches_a_message_already_leased_and_waiting_in_the_daemon(loa, kannel, psql):
    # A slow gateway with a wide window: the pump leases a window's worth of messages ahead and
    # they wait, leased, for their turn (engine/dispatch_pump.c), half a second each.
    loa.sections["gateway.kannel"]["rate"] = "2"
    loa.sections["gateway.kannel"]["concurrency"] = "20"
    with serving(loa) as d:
        phones = seed(psql, loa, 30)
        # Paused at once, so that the messages can be given a due time in the order of their
        # ids: a lease hands its rows to the ready queue in the order they came due (loa_lease),
        # so the last ones leased are the last in the queue, seconds from being sent.
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac",
               "--window", closed_window())
        loa.ok("campaign", "start", "c")
        wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0] == str(len(phones)),
                 what="the messages materialised")
        psql("UPDATE messages SET due_at = now() - interval '1 hour' + id * interval '1 second'")
        psql("UPDATE campaigns SET window_start = NULL, window_end = NULL WHERE name = 'c'")
        loa.ok("campaign", "pause", "c")
        loa.ok("campaign", "resume", "c")
        leased = wait_for(lambda: [r[0] for r in psql(
            "SELECT c.phone FROM messages m JOIN citizens c ON c.id = m.citizen_id"
            " WHERE m.state = 'leased' ORDER BY m.id DESC")] or None, what="messages leased ahead")
        assert len(leased) >= 12, f"only {len(leased)} leased ahead"
        # The last three leased stop, at least eight messages (four seconds) from their turn: the
        # STOP comes back through Kannel well before, so none of them may be sent.
        late = [p for p in leased[:3] if to(kannel, p) == []]
        assert len(late) == 3, "a message at the back of the queue went out already"
        send_mos(kannel, [(p, "TC") for p in late])
        for p in late:
            got = [t for t in wait_for(lambda: to(kannel, p) if any("từ chối nhận tin" in t for t in to(kannel, p))
                                       else None, timeout=20, what="the confirmation") if "từ chối nhận tin" in t]
            assert len(got) == 1, (p, got)
        wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=90, what="the campaign completed")
        time.sleep(1)
        for p in late:
            assert state_of(psql, p) == ("suppressed", "opted out while leased"), p
            assert len(to(kannel, p)) == 1, (p, to(kannel, p))
        for p in phones:
            if p not in late:
                assert len(to(kannel, p)) == 1, p
        assert "event=opt_outs_seen citizens=1 named=yes" in d.log()
        # The rest went out in the order they came due.
        order = [int(r[0]) for r in psql("SELECT id FROM messages WHERE state IN ('submitted', 'delivered')"
                                         " ORDER BY submitted_at, id")]
        assert len(order) == len(phones) - 3 and order == sorted(order), order


def test_an_import_opt_out_reaches_a_running_campaign(loa, kannel, psql):
    loa.sections["gateway.kannel"]["rate"] = "2"
    loa.sections["gateway.kannel"]["concurrency"] = "1"
    with serving(loa):
        phones = seed(psql, loa, 12)
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
        loa.ok("campaign", "start", "c")
        wait_for(lambda: len(kannel.messages()) >= 1, what="the campaign under way")
        # The office learns by letter that the last two refuse messages: an import says so.
        names = dict(psql("SELECT phone, full_name FROM citizens"))
        f = loa.write_file("tc.csv", "full_name,phone,commune_code,opt_out\n" + "".join(
            f"{names[p]},{p},23200,có\n" for p in phones[-2:]))
        out = loa.json("import", "citizens", f, "--json")
        assert out["opted_out"] == 2, out
        wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="the campaign completed")
        time.sleep(1)
        for p in phones[-2:]:
            assert state_of(psql, p) == ("suppressed", "opted out")
            assert to(kannel, p) == []
        assert all(len(to(kannel, p)) == 1 for p in phones[:-2])


def test_the_lease_never_takes_an_opted_out_citizen_nor_resends_one_in_doubt(psql):
    """loa_lease() itself, with every kind of row: pending or in doubt (an idempotent gateway
    resends those), opted out of every channel, of another channel, or not at all."""
    rows = psql("""
        INSERT INTO segments (name, filter) VALUES ('all', '{}');
        INSERT INTO citizens (full_name, phone, commune_code, province_code)
        SELECT 'Công dân ' || i, '8491200000' || i, '23200', '52' FROM generate_series(1, 6) i;
        INSERT INTO campaigns (name, segment_id, status, materialised) SELECT 'c', id, 'running', true FROM segments;
        SELECT campaign_partition_ensure(id) FROM campaigns;
        INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, submitted_at)
        SELECT k.id, c.id, 0, 'sms', 'k', CASE WHEN c.id % 2 = 0 THEN 'in_doubt' ELSE 'pending' END,
               CASE WHEN c.id % 2 = 0 THEN now() - interval '1 hour' END
          FROM campaigns k, citizens c;
        INSERT INTO opt_outs (citizen_id, channel, source)
        SELECT id, CASE WHEN id <= 2 THEN 'all' WHEN id <= 4 THEN 'zalo' END, 'officer'
          FROM citizens WHERE id <= 4;
        SELECT c.phone FROM loa_lease('k', 'me', 10, 60, (SELECT array_agg(id) FROM campaigns),
                                      'Asia/Ho_Chi_Minh', '00:00', '24:00', true, 0, 0) l
          JOIN citizens c ON c.id = l.citizen_id ORDER BY 1;""")
    # Citizens 1 (pending) and 2 (in doubt) refused everything; 3 and 4 only Zalo.
    assert [r[0] for r in rows[-4:]] == ["84912000003", "84912000004", "84912000005", "84912000006"], rows
    states = psql("SELECT c.id, m.state, m.reason, m.final_at IS NOT NULL FROM messages m"
                  " JOIN citizens c ON c.id = m.citizen_id ORDER BY 1")
    assert states[0] == ("1", "suppressed", "opted out", "t")
    assert states[1][:2] == ("2", "in_doubt"), "an in-doubt message of an opted-out citizen was resent"
    assert [s[1] for s in states[2:]] == ["leased"] * 4
    # The campaign does not wait for that in-doubt message, which will never be resent.
    psql("UPDATE messages SET state = 'submitted', lease_owner = NULL, lease_until = NULL,"
         " submitted_at = now() - interval '1 hour' WHERE state = 'leased'")
    assert psql("SELECT count(*) FROM loa_campaign_complete(0, ARRAY['k'])") == [("1",)]


def test_a_stop_after_a_flood_of_questions_is_still_confirmed(loa, kannel, daemon, psql):
    (asker,) = seed(psql, loa, 1)
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac", "--window", closed_window())
    loa.ok("campaign", "start", "c")
    wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0] == "1", what="pending")
    send_mos(kannel, [(asker, "VssID là gì?")] * 5)
    wait_for(lambda: psql("SELECT count(*) FROM replies")[0][0] == "5", what="the questions stored")
    wait_for(lambda: settled(psql), what="the answers sent")
    assert len(wait_for(lambda: to(kannel, asker) if len(to(kannel, asker)) >= 4 else None,
                        what="four answers")) == 4
    # Over the hour's limit of answers, a STOP is applied and confirmed all the same.
    send_mos(kannel, [(asker, "TC")])
    got = wait_for(lambda: [t for t in to(kannel, asker) if "từ chối nhận tin" in t], timeout=20,
                   what="the confirmation")
    assert len(got) == 1
    assert state_of(psql, asker) == ("suppressed", "opted out by reply")
    # Two stops more: no new opt-out, no second confirmation.
    send_mos(kannel, [(asker, "HUY"), (asker, "STOP")])
    wait_for(lambda: psql("SELECT count(*) FROM replies")[0][0] == "8", what="every reply stored")
    wait_for(lambda: settled(psql), what="nothing left to send")
    time.sleep(0.5)
    assert len([t for t in to(kannel, asker) if "từ chối nhận tin" in t]) == 1
    assert len(to(kannel, asker)) == 5


def test_a_reply_from_a_number_not_on_file_is_stored_and_matched_to_nobody(loa, kannel, daemon, psql):
    (known,) = seed(psql, loa, 1)
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac", "--window", closed_window())
    loa.ok("campaign", "start", "c")
    wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0] == "1", what="pending")
    # One digit off the citizen's number, and a stranger: neither is the citizen.
    near = known[:-1] + ("2" if known[-1] != "2" else "3")
    send_mos(kannel, [(near, "TC"), ("84987654321", "Nhà tôi có con chó bị ốm, làm sao?")])
    wait_for(lambda: psql("SELECT count(*) FROM replies")[0][0] == "2", what="both replies stored")
    rows = psql("SELECT from_addr, citizen_id IS NULL, campaign_id IS NULL, intent FROM replies ORDER BY id")
    assert rows[0] == (near, "t", "t", "opt_out") and rows[1][:3] == ("84987654321", "t", "t"), rows
    assert psql("SELECT count(*) FROM opt_outs") == [("0",)]
    assert state_of(psql, known)[0] == "pending"
    # The question waits for an officer; the stranger is not told anything under a citizen's name.
    queue = loa.json("replies", "list", "--unanswered", "--unmasked")["replies"]
    assert any((r.get("from") or r.get("from_addr")) == "84987654321" for r in queue), queue
    wait_for(lambda: settled(psql), what="nothing left to send")
    assert to(kannel, known) == []


def test_a_zalo_opt_out_is_confirmed_on_zalo_and_a_channel_opt_out_keeps_the_other(loa, zalo_double, kannel, psql):
    loa.add_gateway("oa", type="zalo_oa", api_url=zalo_double.url, token_from="zalo", rate=50,
                    oa_secret="oa-secret", app_id="app-1", timeout_ms=3000)
    with serving(loa):
        psql("INSERT INTO citizens (full_name, phone, commune_code, province_code, gender, birth_date, zalo_user_id)"
             " VALUES ('Trần Thị Hoa', '84915099999', '23200', '52', 'female', '1958-07-12', 'zu-77'),"
             "        ('Lê Văn Nam', '84915099998', '23200', '52', 'male', '1995-01-20', 'zu-88')")
        psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
        tpl = loa.write_file("t.txt", "{{salutation}} {{given_name}}, BHXH nhắc đóng BHXH tự nguyện.")
        loa.ok("template", "create", "nhac", "--channel", "sms", "--file", tpl)
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac", "--window", closed_window())
        loa.ok("campaign", "start", "c")
        wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0] == "2", what="pending")
        zalo_double.control(send_text={"user_id": "zu-77", "text": "Từ chối", "msg_id": "m-1"})
        cs = wait_for(lambda: zalo_double.state()["cs"], timeout=20, what="the confirmation on Zalo")
        assert len(cs) == 1 and cs[0]["user_id"] == "zu-77" and "từ chối nhận tin" in cs[0]["text"], cs
        assert kannel.messages() == [], "a Zalo opt-out was confirmed by SMS"
        assert state_of(psql, "84915099999") == ("suppressed", "opted out by reply")
        assert psql("SELECT channel, source FROM opt_outs") == [("all", "zalo_reply")]
        # An officer records that Nam refuses Zalo only: a new campaign's SMS still reaches him,
        # and the reply's opt-out, from every channel, keeps Hoa out of it.
        psql("INSERT INTO opt_outs (citizen_id, channel, source) SELECT id, 'zalo', 'officer' FROM citizens"
             " WHERE phone = '84915099998'")
        loa.ok("campaign", "create", "c2", "--segment", "all", "--channels", "sms:nhac")
        loa.ok("campaign", "start", "c2")
        got = wait_for(lambda: to(kannel, "84915099998"), timeout=30, what="Nam's SMS")
        assert len(got) == 1 and "Anh Nam" in got[0]
        assert state_of(psql, "84915099999", "c2")[0] == "suppressed"
        wait_for(lambda: show(loa, "c2")["status"] == "completed", timeout=30, what="c2 completed")
        assert to(kannel, "84915099999") == []


def test_a_stop_during_a_10000_citizen_campaign_is_confirmed_within_5_s(loa, kannel, psql):
    loa.sections["gateway.kannel"]["rate"] = "300"
    with serving(loa):
        phones = seed(psql, loa, 10000)
        loa.ok("campaign", "create", "big", "--segment", "all", "--channels", "sms:nhac")
        loa.ok("campaign", "start", "big")
        wait_for(lambda: int(psql("SELECT count(*) FROM messages WHERE state IN ('submitted','delivered')")[0][0])
                 >= 1000, timeout=60, what="a thousand sent")
        late = phones[-1]
        send_mos(kannel, [(late, "TC")])
        wait_for(lambda: to(kannel, late), timeout=20, what="the confirmation")
        took = float(psql("SELECT extract(epoch FROM a.sent_at - r.received_at) FROM outbound_answers a"
                          " JOIN replies r ON r.id = a.reply_id WHERE r.from_addr = :'p' AND a.kind = 'opt_out'",
                          p=late)[0][0])
        waiting = int(psql("SELECT count(*) FROM messages WHERE state IN ('pending','leased')")[0][0])
        assert took < 5, f"confirmed {took:.1f} s after the STOP was stored"
        assert waiting > 1000, f"the campaign was nearly over ({waiting} left): the test proves nothing"
        assert state_of(psql, late, "big")[0] == "suppressed"
        loa.ok("campaign", "cancel", "big")


def test_more_opt_outs_at_once_than_one_notification_names_hold_every_waiting_message(loa, kannel, psql):
    """An import opting out more than 300 citizens at once cannot name them in one NOTIFY (its
    payload is '*'): the daemon sends every message waiting in its ready queues back to pending,
    and the next lease suppresses whoever opted out. Nobody is sent after the import committed,
    except what Kannel had been handed already."""
    loa.sections["gateway.kannel"]["rate"] = "2"
    loa.sections["gateway.kannel"]["concurrency"] = "20"
    with serving(loa) as d:
        phones = seed(psql, loa, 320)
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
        loa.ok("campaign", "start", "c")
        wait_for(lambda: int(psql("SELECT count(*) FROM messages WHERE state = 'leased'")[0][0]) >= 5,
                 what="messages leased ahead")
        names = dict(psql("SELECT phone, full_name FROM citizens"))
        f = loa.write_file("tc.csv", "full_name,phone,commune_code,opt_out\n" + "".join(
            f"{names[p]},{p},23200,có\n" for p in phones))
        assert loa.json("import", "citizens", f, "--json")["opted_out"] == 320
        after = psql("SELECT now()")[0][0]
        wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="the campaign completed")
        assert "event=opt_outs_seen citizens=0 named=no" in d.log()
        # The twenty or so leased rows waiting would take ten seconds at rate 2; at most the one
        # in flight when the import committed may be recorded after it.
        late = int(psql("SELECT count(*) FROM messages WHERE submitted_at > :'t'", t=after)[0][0])
        assert late <= 1, f"{late} messages were recorded sent after the opt-outs committed"
        states = dict(psql("SELECT state, count(*) FROM messages GROUP BY 1"))
        assert int(states["suppressed"]) >= 300 and set(states) <= {"suppressed", "submitted", "delivered"}, states


def test_a_lease_running_when_more_opt_outs_than_one_notification_names_commit_sends_none(loa, kannel, psql):
    """The '*' notification can come while a lease is running whose statement began before the
    opt-outs committed: what that lease brings back goes back unsent too, and the next lease
    suppresses them. The lease is held in the middle: its counters trigger waits for the
    campaign's 'pending' counter row, locked here, after the lease has read and locked its rows."""
    loa.sections["gateway.kannel"]["rate"] = "50"
    with serving(loa) as d:
        seed(psql, loa, 320)
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac",
               "--window", closed_window())
        loa.ok("campaign", "start", "c")
        wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0] == "320",
                 what="the messages materialised")
        holder = subprocess.Popen([str(_pg_bindir() / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                   "-d", loa.db_url],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            holder.stdin.write("BEGIN;\nSELECT 1 FROM campaign_counters WHERE state = 'pending' FOR UPDATE;\n"
                               "\\echo held\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "1"
            assert holder.stdout.readline().strip() == "held", holder.stderr.read()
            psql("UPDATE campaigns SET window_start = NULL, window_end = NULL WHERE name = 'c'")
            loa.ok("campaign", "pause", "c")
            loa.ok("campaign", "resume", "c")
            wait_for(lambda: psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                  " AND query LIKE '%loa_lease%'")[0][0] == "1", what="a lease waiting")
            psql("INSERT INTO opt_outs (citizen_id, channel, source) SELECT id, 'all', 'officer' FROM citizens")
            wait_for(lambda: "event=opt_outs_seen citizens=0 named=no" in d.log(), what="the '*' notification")
            holder.stdin.write("COMMIT;\n")
            holder.stdin.close()
            assert holder.wait(timeout=30) == 0, holder.stderr.read()
        finally:
            if holder.poll() is None:
                holder.kill()
        wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="the campaign completed")
        time.sleep(1)
        assert kannel.messages() == [], "a message went to a citizen who had opted out"
        assert psql("SELECT state, reason, count(*) FROM messages GROUP BY 1, 2") == [("suppressed", "opted out", "320")]
        assert int(psql("SELECT max(attempts) FROM messages")[0][0]) == 0, "an attempt was not given back"
