"""The campaign commands against a real database: creation checks, the lifecycle and its
refusals, approval, cancellation, the statistics of `campaign show` read from the counters,
the reply queue and API users. Message states are written straight into the messages table,
as the daemon would, so the numbers are known exactly."""

import os
import hashlib
import json

import pytest

STATE_OUTCOME = {
    "pending": "pending", "leased": "pending", "retry_wait": "pending",
    "submitted": "submitted", "delivered": "delivered", "undelivered": "undelivered",
    "failed": "failed", "in_doubt": "in_doubt", "suppressed": "suppressed",
    "expired": "expired", "cancelled": "cancelled",
}
OUTCOME_KEYS = ["pending", "submitted", "delivered", "undelivered", "failed", "in_doubt",
                "suppressed", "expired", "cancelled"]


def seed(psql, n=20):
    """A segment of N citizens in Gia Lai (two communes, two groups), an SMS and a ZNS
    template; returns the citizen ids in order."""
    psql("""
        INSERT INTO segments (name, filter) VALUES
            ('gl', '{"field":"province_code","eq":"52"}'), ('nobody', '{"any":[]}');
        INSERT INTO templates (name, channel) VALUES ('t_sms', 'sms'), ('t_zns', 'zns');
        INSERT INTO template_variants SELECT id, 'vi', 'Kính gửi {{full_name}}, BHXH thông báo.'
          FROM templates WHERE name = 't_sms';
        INSERT INTO template_variants SELECT id, 'vi', '{"name": "full_name"}'
          FROM templates WHERE name = 't_zns';
    """)
    rows = psql(f"""
        INSERT INTO citizens (full_name, phone, commune_code, province_code, group_code)
        SELECT 'Nguyễn Văn ' || i, '8491200' || lpad(i::text, 4, '0'),
               CASE WHEN i % 2 = 0 THEN '23200' ELSE '23203' END, '52',
               CASE WHEN i % 3 = 0 THEN 'farmer' ELSE 'student' END
          FROM generate_series(1, {int(n)}) i
        RETURNING id""")
    return [int(r[0]) for r in rows]


def gateways(loa):
    """A gateway of each channel, so that campaigns can start (nothing is sent: no daemon runs)."""
    loa.add_gateway("kannel", type="kannel", sendsms_url="http://127.0.0.1:9/cgi-bin/sendsms",
                    username="u", password="p", sender="BHXH")
    loa.add_gateway("zalo", type="zalo_zns", oauth_url="http://127.0.0.1:9/v4/oa/access_token",
                    api_url="http://127.0.0.1:9", app_id="1", app_secret="s", oa_secret="o",
                    refresh_token="r")


def create(loa, name="may", channels="zalo:t_zns,sms:t_sms", *extra):
    out = loa.json("campaign", "create", name, "--segment", "gl", "--channels", channels, *extra)
    assert out["name"] == name and out["status"] == "draft"
    return out["id"]


def messages(psql, cid, rows):
    """ROWS: (citizen_id, step, channel, state, parts, cost_vnd)."""
    values = ",".join(f"({cid},{c},{s},'{ch}','{st}',{p},{cost})"
                      for c, s, ch, st, p, cost in rows)
    psql("INSERT INTO messages (campaign_id, citizen_id, step, channel, state, parts, cost_vnd)"
         f" VALUES {values}")


def refused(loa, *args, says):
    p = loa.run(*args)
    assert p.returncode == 1, f"expected exit 1, got {p.returncode}: {p.stdout} {p.stderr}"
    assert says in p.stderr, p.stderr
    return p


def bad_usage(loa, *args, says=None):
    p = loa.run(*args)
    assert p.returncode == 2, f"expected exit 2, got {p.returncode}: {p.stdout} {p.stderr}"
    if says:
        assert says in p.stderr, p.stderr
    return p


def assert_adds_up(show):
    assert set(show["outcomes"]) == set(OUTCOME_KEYS)
    assert sum(show["outcomes"].values()) == show["targeted"]


# ---------------------------------------------------------------------------------------------
# statistics


def test_show_reads_the_counters_exactly(loa, psql):
    ids = seed(psql)
    cid = create(loa)
    rows = []
    # zalo: 5 delivered, 3 handed to sms, 2 pending, 1 leased, 1 retry_wait, 1 failed, 1 submitted
    plan = (["delivered"] * 5 + ["fallback"] * 3 + ["pending"] * 2 + ["leased", "retry_wait",
            "failed", "submitted"])
    for c, st in zip(ids, plan):
        rows.append((c, 0, "zalo", st, 0, 300 if st in ("delivered", "submitted") else 0))
    fb = [c for c, st in zip(ids, plan) if st == "fallback"]
    rows += [(fb[0], 1, "sms", "delivered", 2, 700), (fb[1], 1, "sms", "undelivered", 1, 350),
             (fb[2], 1, "sms", "in_doubt", 3, 1050)]
    # the other 6 straight on sms
    rest = ids[len(plan):]
    assert len(rest) == 6
    for c, (st, p, cost) in zip(rest, [("suppressed", 0, 0), ("expired", 0, 0),
                                        ("cancelled", 0, 0), ("delivered", 1, 350),
                                        ("failed", 0, 0), ("submitted", 1, 350)]):
        rows.append((c, 0, "sms", st, p, cost))
    messages(psql, cid, rows)
    psql(f"""INSERT INTO replies (channel, gateway, from_addr, citizen_id, campaign_id, body, intent)
             VALUES ('sms', 'kannel', '84912000001', {ids[0]}, {cid}, 'TC', 'opt_out'),
                    ('sms', 'kannel', '84912000002', {ids[1]}, {cid}, 'Bao nhiêu?', 'question'),
                    ('zalo', 'zalo', 'z123', NULL, {cid}, 'DK', 'register'),
                    ('sms', 'kannel', '84912000003', NULL, NULL, 'TC', 'opt_out')""")

    show = loa.json("campaign", "show", "may")
    assert show["id"] == cid and show["name"] == "may" and show["status"] == "draft"
    assert show["targeted"] == 20
    assert show["outcomes"] == {"pending": 4, "submitted": 2, "delivered": 7, "undelivered": 1,
                                "failed": 2, "in_doubt": 1, "suppressed": 1, "expired": 1,
                                "cancelled": 1}
    assert_adds_up(show)
    z, s = show["by_channel"]["zalo"], show["by_channel"]["sms"]
    assert (z["sent"], z["delivered"], z["failed"], z["fallback"]) == (6, 5, 1, 3)
    assert (s["sent"], s["delivered"], s["failed"], s["parts"]) == (5, 2, 2, 2 + 1 + 3 + 1 + 1)
    # Zalo charges a ZNS when it is delivered: the submitted one costs nothing yet.
    assert show["cost_vnd"] == 5 * 300 + 700 + 350 + 1050 + 350 + 350
    assert show["replies"] == 3 and show["opted_out"] == 1
    assert [c["channel"] for c in show["channels"]] == ["zalo", "sms"]

    # The daemon moves messages on (through leased: the database allows pending → delivered no
    # other way): the figures follow, and still add up.
    psql(f"UPDATE messages SET state = 'leased' WHERE campaign_id = {cid}"
         " AND channel = 'zalo' AND state = 'pending'")
    psql(f"UPDATE messages SET state = 'delivered', cost_vnd = 300 WHERE campaign_id = {cid}"
         " AND channel = 'zalo' AND state = 'leased'")
    show = loa.json("campaign", "show", str(cid))
    assert show["outcomes"]["pending"] == 1 and show["outcomes"]["delivered"] == 10
    assert show["by_channel"]["zalo"]["delivered"] == 8
    assert show["cost_vnd"] == 8 * 300 + 700 + 350 + 1050 + 350 + 350
    assert_adds_up(show)

    # The human table says the same.
    text = loa.ok("campaign", "show", "may").stdout
    assert "targeted" in text and " 20" in text and "replies 3" in text


def test_show_never_counts_the_messages_table(loa, psql):
    """The statistics are the counters': a counter row written alone shows, a message row whose
    counter is removed does not."""
    seed(psql)
    cid = create(loa)
    psql(f"INSERT INTO campaign_counters VALUES ({cid}, 'sms', 'delivered', 7, 7, 2450)")
    show = loa.json("campaign", "show", "may")
    assert show["targeted"] == 7 and show["outcomes"]["delivered"] == 7
    assert show["by_channel"]["sms"]["parts"] == 7 and show["cost_vnd"] == 2450


def test_list_shows_every_campaign(loa, psql):
    ids = seed(psql)
    a = create(loa, "a")
    b = create(loa, "b", "sms:t_sms")
    messages(psql, a, [(ids[0], 0, "zalo", "delivered", 0, 0), (ids[1], 0, "zalo", "pending", 0, 0)])
    messages(psql, b, [(ids[0], 0, "sms", "failed", 0, 0)])
    out = loa.json("campaign", "list")
    got = {c["name"]: c for c in out["campaigns"]}
    assert set(got) == {"a", "b"}
    assert got["a"]["targeted"] == 2 and got["a"]["outcomes"]["delivered"] == 1
    assert got["b"]["targeted"] == 1 and got["b"]["by_channel"]["sms"]["failed"] == 1
    for c in got.values():
        assert_adds_up(c)
    lines = loa.ok("campaign", "list").stdout.strip().splitlines()
    assert len(lines) == 3 and " a " in lines[1] and " b " in lines[2]


def test_show_by_commune_group_and_channel(loa, psql):
    ids = seed(psql, 8)            # odd ids in 23203, even in 23200 (by generate_series i)
    cid = create(loa)
    rows = []
    for i, c in enumerate(ids, start=1):
        rows.append((c, 0, "zalo", "delivered" if i <= 3 else "fallback", 0, 0))
        if i > 3:
            rows.append((c, 1, "sms", "delivered" if i <= 6 else "failed", 1, 350))
    messages(psql, cid, rows)
    by = loa.json("campaign", "show", "may", "--by", "commune")
    got = {r["code"]: (r["targeted"], r["reached"]) for r in by["rows"]}
    # 23203: i = 1 3 5 7 → reached 1 3 5; 23200: i = 2 4 6 8 → reached 2 4 6
    assert got == {"23203": (4, 3), "23200": (4, 3)}
    assert {r["name"] for r in by["rows"]} == {"Phường Pleiku", "Phường Hội Phú"}
    by = loa.json("campaign", "show", "may", "--by", "channel")
    got = {r["code"]: (r["targeted"], r["reached"]) for r in by["rows"]}
    assert got == {"zalo": (8, 3), "sms": (5, 3)}
    by = loa.json("campaign", "show", "may", "--by", "group")
    got = {r["code"]: (r["targeted"], r["reached"]) for r in by["rows"]}
    # farmer: i = 3 6 (both reached); student: the other 6, reached 1 2 4 5
    assert got == {"farmer": (2, 2), "student": (6, 4)}
    bad_usage(loa, "campaign", "show", "may", "--by", "district", says="--by")
    assert "Phường Pleiku" in loa.ok("campaign", "show", "may", "--by", "commune").stdout


# ---------------------------------------------------------------------------------------------
# creation


def test_create_checks_everything(loa, psql):
    seed(psql)
    loa.add_gateway("kannel", type="kannel", sendsms_url="http://127.0.0.1:9/cgi-bin/sendsms",
                    username="u", password="p", sender="BHXH")
    bad_usage(loa, "campaign", "create", "--segment", "gl", "--channels", "sms:t_sms", says="NAME")
    bad_usage(loa, "campaign", "create", "x", "--channels", "sms:t_sms", says="--segment")
    bad_usage(loa, "campaign", "create", "x", "--segment", "gl", says="--channels")
    bad_usage(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "fax:t", says="fax")
    bad_usage(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms:a,sms:b",
              says="twice")
    bad_usage(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms:t_sms",
              "--window", "21:00-07:00", says="--window")
    bad_usage(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms:t_sms",
              "--start", "01/05/2030", says="--start")
    bad_usage(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms:t_sms",
              "--start", "2030-05-02", "--end", "2030-05-01", says="before")
    bad_usage(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms:t_sms",
              "--colour", "red")
    refused(loa, "campaign", "create", "x", "--segment", "nope", "--channels", "sms:t_sms",
            says="no segment 'nope'")
    refused(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms:nope",
            says="no template 'nope'")
    refused(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "zalo:t_sms",
            says="needs a zns template")
    refused(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms:t_zns",
            says="needs a sms template")
    refused(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms@esms:t_sms",
            says="no gateway 'esms'")
    refused(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "zalo@kannel:t_zns",
            says="sends sms, not zalo")
    refused(loa, "campaign", "create", "x", "--segment", "gl", "--channels", "sms:t_sms",
            "--end", "2020-01-01T00:00Z", says="already past")
    assert psql("SELECT count(*) FROM campaigns") == [("0",)]

    # Local times are in [policy] timezone (Asia/Ho_Chi_Minh, UTC+7); offsets are kept.
    cid = create(loa, "may", "zalo:t_zns,sms@kannel:t_sms", "--start", "2030-05-01T07:00",
                 "--end", "2030-05-31T17:00:00Z", "--window", "08:00-20:30")
    show = loa.json("campaign", "show", "may")
    assert show["starts_at"] == "2030-05-01T00:00:00Z"
    assert show["ends_at"] == "2030-05-31T17:00:00Z"
    assert show["window"] == "08:00-20:30"
    assert show["channels"] == [{"channel": "zalo", "template": "t_zns", "gateway": None},
                                {"channel": "sms", "template": "t_sms", "gateway": "kannel"}]
    assert psql(f"SELECT status, position, channel FROM campaigns c JOIN campaign_channels cc"
                f" ON cc.campaign_id = c.id WHERE c.id = {cid} ORDER BY position") == \
        [("draft", "0", "zalo"), ("draft", "1", "sms")]
    refused(loa, "campaign", "create", "may", "--segment", "gl", "--channels", "sms:t_sms",
            says="already exists")
    # Without --json it prints the id alone.
    p = loa.ok("campaign", "create", "june", "--segment", "gl", "--channels", "sms:t_sms",
               "--start", "2030-06-01T07:00+07:00")
    assert p.stdout.strip() == str(cid + 1)
    assert loa.json("campaign", "show", "june")["starts_at"] == "2030-06-01T00:00:00Z"


# ---------------------------------------------------------------------------------------------
# lifecycle


def test_lifecycle_and_its_refusals(loa, psql):
    seed(psql)
    gateways(loa)
    cid = create(loa)
    refused(loa, "campaign", "pause", "may", says="campaign 'may' is draft; it cannot be paused")
    refused(loa, "campaign", "resume", "may", says="is draft; it cannot be resumed")
    refused(loa, "campaign", "start", "nosuch", says="no campaign 'nosuch'")
    assert loa.json("campaign", "start", "may")["status"] == "scheduled"
    refused(loa, "campaign", "start", "may", says="is scheduled; it cannot be started")
    refused(loa, "campaign", "approve", "may", "--by", "x", says="only a draft")
    assert loa.json("campaign", "pause", str(cid))["status"] == "paused"
    refused(loa, "campaign", "pause", "may", says="is paused; it cannot be paused")
    assert loa.json("campaign", "resume", "may")["status"] == "scheduled"

    # The daemon starts it; paused while running, it resumes running.
    psql(f"UPDATE campaigns SET status = 'running' WHERE id = {cid}")
    assert loa.json("campaign", "pause", "may")["status"] == "paused"
    assert psql(f"SELECT paused_from FROM campaigns WHERE id = {cid}") == [("running",)]
    assert loa.json("campaign", "resume", "may")["status"] == "running"
    assert psql(f"SELECT status, paused_from IS NULL FROM campaigns WHERE id = {cid}") == \
        [("running", "t")]

    psql(f"UPDATE campaigns SET status = 'completed' WHERE id = {cid}")
    refused(loa, "campaign", "pause", "may", says="campaign 'may' is completed; it cannot be paused")
    refused(loa, "campaign", "cancel", "may", says="is completed; it cannot be cancelled")
    refused(loa, "campaign", "resume", "may", says="is completed; it cannot be resumed")
    assert psql(f"SELECT status FROM campaigns WHERE id = {cid}") == [("completed",)]

    for verb in ("approve", "start", "pause", "resume", "cancel"):
        bad_usage(loa, "campaign", verb)
        bad_usage(loa, "campaign", verb, "a", "b")
        p = loa.run("campaign", verb, "--help")
        assert p.returncode == 0 and "usage: loa campaign" in p.stdout


def test_start_checks_templates_and_end(loa, psql):
    seed(psql)
    create(loa, "broken", "sms:t_sms")
    psql("DELETE FROM template_variants WHERE template_id = (SELECT id FROM templates WHERE name = 't_sms')")
    refused(loa, "campaign", "start", "broken", says="not usable")
    assert psql("SELECT status FROM campaigns WHERE name = 'broken'") == [("draft",)]
    create(loa, "late", "zalo:t_zns", "--end", "2099-01-01")
    psql("UPDATE campaigns SET ends_at = now() - interval '1 day' WHERE name = 'late'")
    refused(loa, "campaign", "start", "late", says="ends in the past")


def test_approve_without_a_supervisor_says_how_to_get_one(loa, psql):
    seed(psql, 2)
    create(loa)
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME")}
    hint = ("no supervisor named: create one with `loa user add NAME --role supervisor`"
            " and approve with `--by NAME`")
    # No --by and no login name; then a login name that is not a supervisor: exit 1, not usage.
    p = loa.run("campaign", "approve", "may", env=env)
    assert p.returncode == 1 and hint in p.stderr and "usage" not in p.stderr.lower(), p.stderr
    p = loa.run("campaign", "approve", "may", env={**env, "USER": "nobody_here"})
    assert p.returncode == 1 and hint in p.stderr and "'nobody_here' is not one" in p.stderr, p.stderr
    loa.ok("user", "add", "nobody_here", "--role", "supervisor")
    assert loa.json("campaign", "approve", "may", env={**env, "USER": "nobody_here"})["status"] == "draft"
    assert loa.json("campaign", "show", "may")["approved_by"] == "nobody_here"


def test_start_refuses_a_channel_without_a_gateway(loa, psql):
    """A step whose channel has no gateway would start and then fail every message of that step
    in the daemon: the start refuses it, naming the channel and the gateways configured."""
    seed(psql)
    create(loa, "nogw", "zalo:t_zns,sms:t_sms")
    p = refused(loa, "campaign", "start", "nogw", says="channel zalo has no gateway")
    assert "gateways configured: none" in p.stderr
    loa.add_gateway("kannel", type="kannel", sendsms_url="http://127.0.0.1:9/cgi-bin/sendsms",
                    username="u", password="p", sender="BHXH")
    p = refused(loa, "campaign", "start", "nogw", says="channel zalo has no gateway")
    assert "gateways configured: kannel (sms)" in p.stderr
    create(loa, "gone", "sms@kannel:t_sms")
    del loa.sections["gateway.kannel"]
    loa.add_gateway("esms", type="http_sms", preset="esms", url="http://127.0.0.1:9/", api_key="k",
                    secret_key="s", brandname="BHXH")
    p = refused(loa, "campaign", "start", "gone", says="no gateway 'kannel'")
    assert "gateways configured: esms (sms)" in p.stderr
    assert psql("SELECT count(*) FROM campaigns WHERE status = 'draft'") == [("2",)]
    gateways(loa)
    assert loa.json("campaign", "start", "nogw")["status"] == "scheduled"


def test_large_campaign_needs_a_supervisors_approval(loa, psql):
    seed(psql, 20)
    gateways(loa)
    loa.set("policy", "approval_threshold", "5")
    create(loa)
    refused(loa, "campaign", "start", "may", says="targets 20 citizens, more than the approval threshold of 5")
    assert psql("SELECT status, needs_approval FROM campaigns WHERE name = 'may'") == [("draft", "t")]
    refused(loa, "campaign", "approve", "may", "--by", "bob", says="'bob' is not a supervisor")
    loa.ok("user", "add", "bob", "--role", "officer")
    refused(loa, "campaign", "approve", "may", "--by", "bob", says="'bob' is not a supervisor")
    sup = loa.json("user", "add", "lan", "--role", "supervisor")
    assert len(sup["token"]) == 64
    out = loa.json("campaign", "approve", "may", "--by", "lan")
    assert out["status"] == "draft"
    assert loa.json("campaign", "start", "may")["status"] == "scheduled"
    show = loa.json("campaign", "show", "may")
    assert show["approved_by"] == "lan" and show["approved_at"] and show["needs_approval"]

    # The approval is in the audit log, by the user who approved.
    assert psql("SELECT user_name, action, object FROM audit WHERE action NOT LIKE 'user.%'") == \
        [("lan", "campaign.approve", f"campaign:{out['id']}")]

    # A small one needs nobody.
    loa.ok("campaign", "create", "small", "--segment", "nobody", "--channels", "sms:t_sms")
    assert loa.json("campaign", "start", "small")["status"] == "scheduled"


def test_cancel_cancels_unsent_messages_in_one_go(loa, psql):
    ids = seed(psql)
    gateways(loa)
    cid = create(loa)
    states = ["pending", "retry_wait", "in_doubt", "leased", "submitted", "delivered", "failed",
              "pending", "fallback"]
    messages(psql, cid, [(c, 0, "zalo", st, 0, 0) for c, st in zip(ids, states)])
    loa.ok("campaign", "start", "may")
    out = loa.json("campaign", "cancel", "may")
    assert out["status"] == "cancelled" and out["messages_cancelled"] == 3
    got = dict(psql(f"SELECT citizen_id, state FROM messages WHERE campaign_id = {cid}"))
    after = [got[str(c)] for c in ids[:len(states)]]
    # in_doubt stays in_doubt (it may have reached the citizen); leased is the dispatcher's.
    assert after == ["cancelled", "cancelled", "in_doubt", "leased", "submitted", "delivered",
                     "failed", "cancelled", "fallback"]
    show = loa.json("campaign", "show", "may")
    assert show["status"] == "cancelled" and show["outcomes"]["cancelled"] == 3
    assert show["outcomes"]["in_doubt"] == 1
    assert_adds_up(show)
    refused(loa, "campaign", "cancel", "may", says="is cancelled; it cannot be cancelled")
    refused(loa, "campaign", "resume", "may", says="is cancelled")


# ---------------------------------------------------------------------------------------------
# replies and users


def test_replies_queue_masks_numbers_and_answers_once(loa, psql):
    ids = seed(psql, 3)
    cid = create(loa)
    psql(f"""INSERT INTO replies (channel, gateway, from_addr, citizen_id, campaign_id, body, intent,
                                  received_at)
             VALUES ('sms', 'kannel', '84912000001', {ids[0]}, {cid}, 'Bao nhiêu tiền?', 'question',
                     now() - interval '2 hours'),
                    ('sms', 'kannel', '84912000002', {ids[1]}, {cid}, 'TC', 'opt_out',
                     now() - interval '1 hour'),
                    ('zalo', 'zalo', '8812345678901', NULL, NULL, 'Xin chào', 'other', now())""")
    text = loa.ok("replies", "list").stdout
    assert "84912000001" not in text and "84912***001" in text
    assert "Bao nhiêu tiền?" in text
    rows = loa.json("replies", "list")["replies"]
    assert [r["body"] for r in rows] == ["Xin chào", "TC", "Bao nhiêu tiền?"]
    assert all("***" in r["from"] for r in rows)
    rows = loa.json("replies", "list", "--unmasked", "--campaign", "may")["replies"]
    assert [r["from"] for r in rows] == ["84912000002", "84912000001"]
    assert rows[0]["campaign"] == "may" and rows[0]["intent"] == "opt_out"
    refused(loa, "replies", "list", "--campaign", "nosuch", says="no campaign")

    ask = rows[1]["id"]
    out = loa.json("replies", "answer", str(ask), "Mức đóng thấp nhất là 330.000 đồng/tháng.",
                   "--by", "hoa")
    assert out["reply_id"] == ask and out["state"] == "pending" and out["channel"] == "sms"
    assert psql(f"SELECT reply_id, channel, gateway, address, body, state, answered_by"
                f" FROM outbound_answers WHERE id = {out['answer_id']}") == \
        [(str(ask), "sms", "kannel", "84912000001",
          "BHXH: Chào {{name}}. Mức đóng thấp nhất là 330.000 đồng/tháng.", "pending", "hoa")]
    assert psql(f"SELECT answered_by, answer IS NOT NULL, answered_at IS NOT NULL FROM replies"
                f" WHERE id = {ask}") == [("hoa", "t", "t")]
    refused(loa, "replies", "answer", str(ask), "again", "--by", "an", says="already answered by hoa")
    assert psql("SELECT count(*) FROM outbound_answers") == [("1",)]
    refused(loa, "replies", "answer", "999999", "x", "--by", "an", says="no reply 999999")
    bad_usage(loa, "replies", "answer", "abc", "x")
    bad_usage(loa, "replies", "answer", str(ask))
    bad_usage(loa, "replies", "answer", str(ask), "   ")

    unanswered = loa.json("replies", "list", "--unanswered")["replies"]
    assert ask not in [r["id"] for r in unanswered] and len(unanswered) == 2
    answered = [r for r in loa.json("replies", "list")["replies"] if r["id"] == ask][0]
    assert answered["answered"] and answered["answered_by"] == "hoa"


def test_user_add_prints_the_token_once_and_stores_its_hash(loa, psql):
    p = loa.ok("user", "add", "minh", "--role", "admin")
    token = [w for w in p.stdout.split() if len(w) == 64][0]
    stored = psql("SELECT role, token_sha256 FROM users WHERE name = 'minh'")
    assert stored == [("admin", hashlib.sha256(token.encode()).hexdigest())]
    assert token not in json.dumps(stored)
    refused(loa, "user", "add", "minh", "--role", "officer", says="already exists")
    bad_usage(loa, "user", "add", "x", "--role", "king", says="--role")
    bad_usage(loa, "user", "add", "x")
    bad_usage(loa, "user", "add", "--role", "admin")
    a = loa.json("user", "add", "a1", "--role", "officer")["token"]
    b = loa.json("user", "add", "a2", "--role", "officer")["token"]
    assert a != b


def test_start_refuses_a_template_too_long_for_the_gateway(loa, psql):
    """sms-vn.md: parts are counted on the longest rendering. A template that fits in three
    parts for short names but not for the longest one is refused at start, and the refusal
    shows that rendering."""
    seed(psql, 5)
    gateways(loa)
    psql("UPDATE citizens SET full_name = 'Nguyễn Thị Phương Thảo Hoàng Lan Anh' WHERE id = "
         "(SELECT max(id) FROM citizens)")
    psql("INSERT INTO templates (name, channel) VALUES ('t_long', 'sms')")
    body = "Kính gửi {{full_name}}. " + "Thông tin BHXH tự nguyện. " * 7
    psql("INSERT INTO template_variants SELECT id, 'vi', %s FROM templates WHERE name = 't_long'"
         % ("'" + body.replace("'", "''") + "'"))
    create(loa, "long", "sms:t_long")
    p = refused(loa, "campaign", "start", "long", says="cannot start")
    assert "longest rendering" in p.stderr
    assert "Hoàng Lan Anh" in p.stderr
    assert loa.json("campaign", "show", "long", "--json")["status"] == "draft"


def test_a_campaign_is_found_by_its_name_before_its_id(loa, psql):
    """`campaign show KEY` looks KEY up as a name first, then as an id: a campaign named "2"
    is found by "2" even when another campaign's id is 2; a missing one is refused by name."""
    seed(psql, 4)
    gateways(loa)
    first = create(loa, "may", "sms:t_sms")
    second = create(loa, "june", "sms:t_sms")
    named = create(loa, str(second), "sms:t_sms")
    assert named not in (first, second)
    assert loa.json("campaign", "show", str(second))["id"] == named
    assert loa.json("campaign", "show", str(first))["id"] == first
    assert loa.json("campaign", "show", "june")["id"] == second
    r = loa.run("campaign", "show", "99999")
    assert r.returncode == 1 and "no campaign '99999'" in r.stderr
    r = loa.run("campaign", "show", "nothing")
    assert r.returncode == 1 and "no campaign 'nothing'" in r.stderr
