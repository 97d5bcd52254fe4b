"""The dashboard's counters (sql/017_dashboard_counters.sql), kept by triggers, against a recount
straight from the messages: a campaign through `loa serve` and the Zalo and eSMS doubles with
every kind of outcome (delivered at once, retried after a rate limit, fallen back to SMS and
then delivered, refused, undelivered), then citizens moved by a re-import, deliveries moved
near a new year, a message removed and messages waiting in a campaign not started."""

import json

import pytest

from test_api import Api, users  # noqa: F401  (fixtures)
from test_zalo import completed, restart, seed

TZ = "Asia/Ho_Chi_Minh"

# The figures as the statements before the counters computed them from the messages.
REACH = """SELECT m.campaign_id, c.commune_code, coalesce(c.group_code, ''), count(DISTINCT m.citizen_id),
                  count(DISTINCT m.citizen_id) FILTER (WHERE m.state = 'delivered')
             FROM messages_all m JOIN citizens c ON c.id = m.citizen_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
CHANNELS = """SELECT m.channel, count(DISTINCT m.citizen_id),
                     count(DISTINCT m.citizen_id) FILTER (WHERE m.state = 'delivered')
                FROM messages_all m WHERE m.campaign_id = :'c' GROUP BY 1 ORDER BY 1"""
DAYS = """SELECT to_char(coalesce(m.final_at, m.submitted_at) AT TIME ZONE :'tz', 'YYYY-MM-DD'),
                 count(*) FILTER (WHERE m.state IN ('submitted','delivered','undelivered','in_doubt')),
                 count(*) FILTER (WHERE m.state = 'delivered'),
                 count(*) FILTER (WHERE m.state IN ('failed','undelivered'))
            FROM messages m WHERE m.campaign_id = :'c' AND m.submitted_at IS NOT NULL GROUP BY 1 ORDER BY 1"""
COVERAGE = """SELECT c.commune_code, coalesce(c.group_code, ''), count(DISTINCT m.citizen_id)
                FROM messages m JOIN campaigns ca ON ca.id = m.campaign_id AND ca.topic = :'topic'
                JOIN citizens c ON c.id = m.citizen_id
               WHERE m.state = 'delivered'
                 AND coalesce(m.final_at, m.submitted_at) >= make_date(:'y'::int, 1, 1)::timestamp AT TIME ZONE :'tz'
                 AND coalesce(m.final_at, m.submitted_at) < make_date(:'y'::int + 1, 1, 1)::timestamp AT TIME ZONE :'tz'
               GROUP BY 1, 2 ORDER BY 1, 2"""


def rows(r, text=0):
    """psql's rows with every column after the first TEXT ones as a number."""
    return [tuple(v if i < text else int(v) for i, v in enumerate(x)) for x in r]


def check_counters(loa, psql, api, token, cid):
    """Every counter equals its recount from the messages, and so does what reads them."""
    assert psql("SELECT campaign_id, commune_code, group_code, targeted, reached FROM campaign_reach"
                " WHERE targeted <> 0 OR reached <> 0 ORDER BY 1, 2, 3") == psql(REACH)
    assert psql("SELECT campaign_id, at, n, sent, delivered, failed FROM campaign_days WHERE n <> 0"
                " ORDER BY 1, 2") == psql(
        """SELECT campaign_id, date_bin('15 minutes', coalesce(final_at, submitted_at), timestamptz '2000-01-01'),
                  count(*), count(*) FILTER (WHERE state IN ('submitted','delivered','undelivered','in_doubt')),
                  count(*) FILTER (WHERE state = 'delivered'), count(*) FILTER (WHERE state IN ('failed','undelivered'))
             FROM messages_all WHERE submitted_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""")
    assert psql("SELECT gateway, state, n FROM gateway_queue WHERE n <> 0 ORDER BY 1, 2") == psql(
        "SELECT gateway, state, count(*) FROM messages WHERE state IN ('pending', 'retry_wait', 'leased')"
        " AND gateway IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2")
    assert psql("SELECT commune_code, group_code, n FROM citizen_counts WHERE n <> 0 ORDER BY 1, 2") == psql(
        "SELECT commune_code, coalesce(group_code, ''), count(*) FROM citizens GROUP BY 1, 2 ORDER BY 1, 2")

    # What the command and the API answer from them.
    for by in ("commune", "group"):
        got = loa.json("campaign", "show", "may", "--by", by)["rows"]
        col = 1 if by == "commune" else 2
        want = {}
        for _, commune, grp, t, r in (x for x in rows(psql(REACH), text=3) if x[0] == str(cid)):
            k = (commune, grp)[col - 1]
            want[k] = (want.get(k, (0, 0))[0] + t, want.get(k, (0, 0))[1] + r)
        assert {x["code"]: (x["targeted"], x["reached"]) for x in got} == want, by
    got = loa.json("campaign", "show", "may", "--by", "channel")["rows"]
    assert [(x["code"], x["targeted"], x["reached"]) for x in got] == rows(psql(CHANNELS, c=cid), text=1)
    status, days = api.call("GET", f"campaigns/{cid}/breakdown?by=day", token=token)
    assert status == 200
    assert [(d["day"], d["sent"], d["delivered"], d["failed"]) for d in days["rows"]] == \
        rows(psql(DAYS, c=cid, tz=TZ), text=1)
    for year in (2025, 2026, 2027):
        status, cov = api.call("GET", f"coverage?year={year}&topic=voluntary", token=token)
        assert status == 200
        want = rows(psql(COVERAGE, topic="voluntary", y=str(year), tz=TZ), text=2)
        per = {}
        for commune, _, n in want:
            per[commune] = per.get(commune, 0) + n
        assert {c["code"]: c["reached"] for c in cov["communes"] if c["reached"]} == per, year
        pergroup = {}
        for _, grp, n in want:
            pergroup[grp] = pergroup.get(grp, 0) + n
        assert {g["code"]: g["reached"] for g in cov["groups"] if g["reached"]} == pergroup, year
    return psql(REACH)


@pytest.mark.plain_only
def test_counters_match_a_recount_through_a_campaign_with_every_outcome(loa, zalo_double, esms_double,
                                                                        users, daemon, psql):  # noqa: F811
    phones = seed(psql, loa, 40)
    # Over two communes of Gia Lai and three groups, one of them none.
    psql("""UPDATE citizens SET commune_code = CASE WHEN id % 2 = 0 THEN '23200' ELSE '23203' END,
                                group_code = (ARRAY['farmer', 'student', NULL])[1 + id % 3]""")
    no_zalo = phones[::5]                          # 8 go by SMS
    zalo_double.control(phones={p: -118 for p in no_zalo}, fail_next=4, fail_code=-32)
    esms_double.control(codes={no_zalo[0]: 99}, dlr={no_zalo[1]: 4, no_zalo[2]: 4})
    restart(loa, daemon, settle_seconds=1, retry_min_seconds=1, retry_max_seconds=2)
    loa.ok("campaign", "create", "may", "--segment", "all", "--channels", "zalo:tz,sms:ts", "--topic", "voluntary")
    cid = int(psql("SELECT id FROM campaigns WHERE name = 'may'")[0][0])
    loa.ok("campaign", "start", "may")
    s = completed(loa, "may", timeout=60)
    api, token = Api(daemon), users["supervisor"]

    # The mix happened: retried, fallen back, refused, undelivered, delivered both ways.
    states = dict(rows(psql("SELECT channel || ':' || state, count(*) FROM messages GROUP BY 1"), text=1))
    assert states["zalo:fallback"] == 8 and states["zalo:delivered"] == 32, states
    assert states["sms:undelivered"] == 2 and states.get("sms:failed", 0) == 1 and states["sms:delivered"] == 5, states
    assert int(psql("SELECT count(*) FROM messages WHERE attempts > 1")[0][0]) >= 4
    assert s["targeted"] == 40
    first = check_counters(loa, psql, api, token, cid)

    # A re-import moves citizens, one reached and one not, to the other commune and group.
    reached, missed = psql("SELECT citizen_id FROM messages WHERE state = 'delivered' ORDER BY citizen_id LIMIT 1")[0][0], \
        psql("SELECT citizen_id FROM messages WHERE state IN ('undelivered', 'failed') ORDER BY citizen_id LIMIT 1")[0][0]
    psql("""UPDATE citizens SET commune_code = CASE commune_code WHEN '23200' THEN '23203' ELSE '23200' END,
                                group_code = 'fisher'
             WHERE id IN (:'a', :'b')""", a=reached, b=missed)
    # Deliveries near a new year: on 31 December in UTC, 1 January in Vietnam; and in the
    # middle of 2025.
    psql("""UPDATE messages SET final_at = '2025-12-31 20:00+00'
             WHERE state = 'delivered' AND citizen_id IN (SELECT citizen_id FROM messages
                   WHERE state = 'delivered' ORDER BY citizen_id LIMIT 5)""")
    psql("""UPDATE messages SET final_at = '2025-06-01 10:00+07'
             WHERE state = 'delivered' AND citizen_id IN (SELECT citizen_id FROM messages
                   WHERE state = 'delivered' ORDER BY citizen_id DESC LIMIT 3)""")
    # A message removed (the SMS of an undelivered citizen), and messages waiting for a
    # gateway in a second campaign.
    psql("DELETE FROM messages WHERE campaign_id = :'c' AND channel = 'sms' AND state = 'undelivered'"
         " AND citizen_id = (SELECT min(citizen_id) FROM messages WHERE state = 'undelivered')", c=cid)
    loa.ok("campaign", "create", "later", "--segment", "all", "--channels", "sms:ts")
    later = int(psql("SELECT id FROM campaigns WHERE name = 'later'")[0][0])
    psql("SELECT campaign_partition_ensure(:'c')", c=later)
    psql("""INSERT INTO messages (campaign_id, citizen_id, channel, gateway, state)
            SELECT :'c', id, 'sms', 'esms', CASE WHEN id % 2 = 0 THEN 'pending' ELSE 'retry_wait' END
              FROM citizens ORDER BY id LIMIT 6""", c=later)
    psql("INSERT INTO citizens (full_name, phone, commune_code, province_code) VALUES"
         " ('Lê Văn Mới', '84914099999', '23200', '52')")
    second = check_counters(loa, psql, api, token, cid)
    assert second != first, "the moves changed the breakdowns"
    status, cov = api.call("GET", "coverage?year=2026&topic=voluntary", token=token)
    assert sum(c["reached"] for c in cov["communes"]) >= 5, "the deliveries of 1 January in Vietnam count for 2026"
    assert int(psql("SELECT count(*) FROM coverage_edge WHERE n > 0")[0][0]) >= 5
