"""`loa campaign resend CAMPAIGN --in-doubt`: an in-doubt SMS goes back to pending only when it
provably never reached the SMSC. The rows are made by SQL, with the reports they would have had,
and the command is run against them; tests/integration/test_faults.py runs it for real after
smsbox was stopped mid-campaign."""

import pytest

from conftest import show


def gateways(loa):
    """"k" asks for the SMSC's acknowledgement (dlr_mask 1 + 2 + 8), "k3" does not (1 + 2)."""
    for name, mask in (("k", "11"), ("k3", "3")):
        loa.add_gateway(name, type="kannel", sendsms_url="http://127.0.0.1:9/cgi-bin/sendsms",
                        username="u", password="p", sender="BHXH", webhook_secret="s", dlr_mask=mask)


# One row per case: phone suffix, gateway, state, minutes since submitted, whether a report came.
ROWS = [
    (1, "k", "in_doubt", 30, False),     # never reported, later ones were: resend
    (2, "k", "in_doubt", 30, True),      # reported: the SMSC has it
    (3, "k", "in_doubt", 2, False),      # too recent
    (4, "k3", "in_doubt", 30, False),    # no SMSC acknowledgement asked for
    (5, "k", "in_doubt", 30, False),     # opted out since
    (6, "k", "delivered", 20, True),     # later on k, reported: the evidence for 1 and 5
    (7, "k3", "delivered", 20, True),    # later on k3, reported: no evidence without acks
    (8, "k", "in_doubt", 15, False),     # never reported, but nothing later on k was reported
]


def make(psql, status="completed"):
    values = ",".join(f"({i},'{gw}','{st}',{mins},{str(rep).lower()})" for i, gw, st, mins, rep in ROWS)
    psql(f"""
        INSERT INTO segments (name, filter) VALUES ('all', '{{}}');
        INSERT INTO citizens (full_name, phone, commune_code, province_code)
        SELECT 'Công dân ' || i, '8491300000' || i, '23200', '52' FROM generate_series(1, 8) i;
        INSERT INTO campaigns (name, segment_id, status, materialised, completed_at)
        SELECT 'c', id, '{status}', true, CASE WHEN '{status}' = 'completed' THEN now() END FROM segments;
        SELECT campaign_partition_ensure(id) FROM campaigns;
        CREATE TEMP TABLE r (i int, gw text, st text, mins int, rep boolean);
        INSERT INTO r VALUES {values};
        INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, attempts,
                              submitted_at, final_at)
        SELECT k.id, c.id, 0, 'sms', r.gw, r.st, 1, now() - r.mins * interval '1 minute',
               CASE WHEN r.st = 'delivered' THEN now() END
          FROM r JOIN citizens c ON c.phone = '8491300000' || r.i, campaigns k;
        INSERT INTO delivery_events (gateway, campaign_id, message_id, kind, status, raw)
        SELECT m.gateway, m.campaign_id, m.id, 'dlr', '8', ''
          FROM messages m JOIN citizens c ON c.id = m.citizen_id JOIN r ON c.phone = '8491300000' || r.i
         WHERE r.rep;
        INSERT INTO opt_outs (citizen_id, channel, source)
        SELECT id, 'all', 'sms' FROM citizens WHERE phone = '84913000005';
    """)


def states(psql):
    return dict(psql("SELECT right(c.phone, 1), m.state FROM messages m JOIN citizens c ON c.id = m.citizen_id"))


def test_only_a_message_provably_never_sent_goes_back_and_a_completed_campaign_runs_again(loa, psql):
    gateways(loa)
    make(psql)
    before = states(psql)
    # Without --yes: the verdicts, nothing changed.
    dry = loa.json("campaign", "resend", "c", "--in-doubt")
    assert dry == {"id": dry["id"], "name": "c", "status": "completed", "in_doubt": 6, "reported": 1,
                   "recent": 1, "unprovable": 2, "opted_out": 1, "resend": 1, "resent": False}, dry
    assert states(psql) == before
    text = loa.ok("campaign", "resend", "c", "--in-doubt").stdout
    assert "1 never reached the gateway" in text and "run again with --yes" in text, text

    done = loa.json("campaign", "resend", "c", "--in-doubt", "--yes")
    assert done["resent"] is True and done["resend"] == 1 and done["status"] == "running", done
    after = states(psql)
    assert after["1"] == "pending"
    assert {k: v for k, v in after.items() if k != "1"} == {k: v for k, v in before.items() if k != "1"}
    assert psql("SELECT status, completed_at IS NULL FROM campaigns") == [("running", "t")]
    assert psql("SELECT m.reason, m.final_at IS NULL, m.attempts FROM messages m JOIN citizens c"
                " ON c.id = m.citizen_id WHERE c.phone = '84913000001'") == \
        [("resent: in doubt, never reported while later messages were", "t", "1")]
    audit = psql("SELECT user_name, action, detail->>'in_doubt_resent' FROM audit WHERE action = 'campaign.resend'")
    assert len(audit) == 1 and audit[0][0].startswith("shell:") and audit[0][1:] == ("campaign.resend", "1"), audit
    s = show(loa, "c")
    assert s["outcomes"]["pending"] == 1 and s["outcomes"]["in_doubt"] == 5, s["outcomes"]

    # Run again: nothing left that can be proven.
    again = loa.json("campaign", "resend", "c", "--in-doubt", "--yes")
    assert again["resend"] == 0 and again["resent"] is False and again["in_doubt"] == 5, again
    # --older-than 0 looks at the recent one too: nothing on k was reported after it, so it cannot
    # be proven unsent.
    now = loa.json("campaign", "resend", "c", "--in-doubt", "--older-than", "0")
    assert now["recent"] == 0 and now["unprovable"] == 3 and now["resend"] == 0, now


@pytest.mark.parametrize("status", ["draft", "scheduled", "cancelled"])
def test_a_campaign_that_cannot_send_is_refused(loa, psql, status):
    gateways(loa)
    make(psql, status)
    p = loa.run("campaign", "resend", "c", "--in-doubt", "--yes")
    assert p.returncode == 1 and f"is {status}" in p.stderr, (p.returncode, p.stderr)
    assert "pending" not in states(psql).values()


def test_an_ended_or_archived_campaign_is_refused(loa, psql):
    gateways(loa)
    make(psql)
    psql("UPDATE campaigns SET ends_at = now() - interval '1 minute'")
    p = loa.run("campaign", "resend", "c", "--in-doubt", "--yes")
    assert p.returncode == 1 and "has passed its end" in p.stderr, p.stderr
    psql("UPDATE campaigns SET ends_at = NULL")
    loa.ok("campaign", "archive", "c")
    p = loa.run("campaign", "resend", "c", "--in-doubt", "--yes")
    assert p.returncode == 1 and "archived" in p.stderr, p.stderr


def test_bad_usage(loa, psql):
    gateways(loa)
    make(psql)
    for args, says in ((["c"], "--in-doubt"), (["c", "--in-doubt", "--older-than", "x"], "--older-than"),
                       (["c", "--in-doubt", "--older-than", "-1"], "--older-than"),
                       (["--in-doubt"], "CAMPAIGN"), (["c", "--in-doubt", "--nope"], "--nope")):
        p = loa.run("campaign", "resend", *args)
        assert p.returncode == 2 and says in p.stderr, (args, p.stderr)
    p = loa.run("campaign", "resend", "nosuch", "--in-doubt")
    assert p.returncode == 1 and "no campaign 'nosuch'" in p.stderr, p.stderr
    assert "pending" not in states(psql).values()
