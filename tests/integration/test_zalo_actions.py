"""What the engine does about each Zalo ZNS error that means more than "this message failed"
(shared/docs/gateways.md §2), end to end through `loa serve`, the Zalo double and the eSMS
double: -131 stops the campaign's Zalo step, -32 backs off and retries, -144 and -115 pause Zalo
and hand the waiting messages to SMS (with the 00:00-24:00 window the tests run with), and an
answer that is not JSON, or is cut off, is a temporary failure. Each test checks the database,
what each double received, that `campaign show` outcomes add up to the citizens targeted, and
that nobody is reached twice."""

import datetime
import time
import zoneinfo

from test_zalo import OUTCOME_KEYS, completed, restart, seed, sms_phones, state, wait_for, zns_phones

CONCURRENCY = 20   # [gateway.zalo] concurrency set by the zalo_double fixture


def codes(z):
    """The answers the double gave to ZNS sends, in order."""
    return [r[1] for r in z["requests"]]


def adds_up(s, n):
    assert s["targeted"] == n
    assert sum(s["outcomes"][k] for k in OUTCOME_KEYS) == n, s["outcomes"]
    assert s["outcomes"]["delivered"] == n, s["outcomes"]


def nobody_twice(phones, z, e):
    by_zalo, by_sms = zns_phones(z), sms_phones(e)
    assert sorted(by_zalo + by_sms) == sorted(phones), "everyone once, by one channel"
    assert z["duplicates"] == 0 and e["duplicates"] == 0


def test_template_not_approved_stops_the_zalo_step_and_everyone_goes_by_sms(loa, zalo_double, esms_double,
                                                                             daemon, psql):
    phones = seed(psql, loa, 200)
    # Zalo refuses the template whoever the citizen is.
    zalo_double.control(phones={p: -131 for p in phones})
    restart(loa, daemon, settle_seconds=1)
    loa.ok("campaign", "create", "t", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "t")
    s = completed(loa, "t", timeout=30)
    z, e = zalo_double.state(), esms_double.state()

    # Only the requests already in flight when the first refusal came back reached Zalo.
    assert 1 <= len(z["requests"]) <= CONCURRENCY, len(z["requests"])
    assert set(codes(z)) == {-131}
    assert z["sent"] == {}
    assert sorted(sms_phones(e)) == sorted(phones), "every citizen by SMS, once"
    nobody_twice(phones, z, e)
    adds_up(s, 200)
    assert s["by_channel"]["zalo"]["fallback"] == 200

    rows = psql("SELECT step, state, count(*) FROM messages GROUP BY 1, 2 ORDER BY 1, 2")
    assert rows == [("0", "fallback", "200"), ("1", "delivered", "200")], rows
    # Refused ones carry Zalo's reason, the rest the step's; none failed.
    reasons = psql("SELECT count(*) FROM messages WHERE step = 0 AND reason LIKE '%zalo -131%'")
    assert reasons == [("200",)]
    assert psql("SELECT count(*) FROM messages WHERE step = 0 AND reason LIKE 'step stopped:%'")[0][0] \
        == str(200 - len(z["requests"]))
    assert "event=step_stopped" in daemon.log()
    # Stopped means stopped: nothing more reaches Zalo afterwards.
    time.sleep(1)
    assert len(zalo_double.state()["requests"]) == len(z["requests"])


def test_rate_limit_backs_off_and_retries_without_failing_or_resending(loa, zalo_double, esms_double,
                                                                       daemon, psql):
    phones = seed(psql, loa, 50)
    zalo_double.control(fail_next=10, fail_code=-32)
    # -32 asks for 60 s; the engine bounds that by retry_max_seconds, for the message and the gateway.
    restart(loa, daemon, settle_seconds=1, retry_min_seconds=1, retry_max_seconds=2)
    loa.ok("campaign", "create", "r", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "r")
    s = completed(loa, "r", timeout=30)
    z, e = zalo_double.state(), esms_double.state()

    assert codes(z).count(-32) == 10 and codes(z).count(0) == 50 and len(z["requests"]) == 60
    assert sorted(zns_phones(z)) == sorted(phones)
    assert e["sends"] == 0, "a rate limit is no reason to fall back"
    nobody_twice(phones, z, e)
    adds_up(s, 50)
    assert psql("SELECT step, state, count(*) FROM messages GROUP BY 1, 2") == [("0", "delivered", "50")]
    # The ten refused went through retry_wait and were sent again, once.
    assert psql("SELECT attempts, count(*) FROM messages GROUP BY 1 ORDER BY 1") == [("1", "40"), ("2", "10")]
    log = daemon.log()
    assert sum(1 for line in log.splitlines()
               if "event=submit" in line and "gw=zalo" in line and "state=retry_wait" in line) == 10
    assert "event=gateway_backoff gw=zalo" in log
    # Backed off: a request sent after the first -32 came back waited for the pause (2 s). At
    # most CONCURRENCY were in flight before that answer.
    t = [r[2] for r in z["requests"]]
    assert t[CONCURRENCY] - t[0] >= 1.5, t[:CONCURRENCY + 1]


def next_local_midnight():
    tz = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    now = datetime.datetime.now(tz)
    return int(datetime.datetime.combine(now.date() + datetime.timedelta(days=1), datetime.time(0), tz)
               .timestamp())


def daily_pause_hands_over_to_sms(loa, zalo_double, esms_double, daemon, psql, code):
    """300 citizens, Zalo takes 100 then answers CODE; the 00:00-24:00 window of the fixtures."""
    phones = seed(psql, loa, 300)
    zalo_double.control(quota=100, quota_error=code)
    assert loa.sections["policy"]["window"] == "00:00-24:00"
    restart(loa, daemon, settle_seconds=1)
    loa.ok("campaign", "create", "q", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "q")
    s = completed(loa, "q", timeout=30)
    z, e = zalo_double.state(), esms_double.state()

    assert len(z["sent"]) == 100
    refused = [c for c in codes(z) if c != 0]
    assert set(refused) == {code}
    # Paused at the first refusal: only requests already in flight got it too.
    assert 1 <= len(refused) <= CONCURRENCY, len(refused)
    assert len(sms_phones(e)) == 200
    nobody_twice(phones, z, e)
    adds_up(s, 300)
    assert s["by_channel"]["zalo"]["fallback"] == 200
    assert psql("SELECT step, state, count(*) FROM messages GROUP BY 1, 2 ORDER BY 1, 2") == \
        [("0", "delivered", "100"), ("0", "fallback", "200"), ("1", "delivered", "200")]
    # Paused until local midnight, recorded for restarts.
    assert int(state(psql, "pause_until")) == next_local_midnight()
    log = daemon.log()
    assert "event=gateway_paused gw=zalo" in log
    assert "event=handover gw=zalo campaign=0" in log
    # Waiting messages were handed over, not refused one by one.
    assert psql("SELECT count(*) FROM messages WHERE step = 0 AND reason = 'gateway paused'")[0][0] \
        == str(200 - len(refused))
    time.sleep(1)
    assert len(zalo_double.state()["requests"]) == len(z["requests"]), "nothing more went to Zalo"


def test_oa_daily_limit_pauses_zalo_until_midnight_and_the_rest_goes_by_sms(loa, zalo_double, esms_double,
                                                                            daemon, psql):
    daily_pause_hands_over_to_sms(loa, zalo_double, esms_double, daemon, psql, -144)


def test_out_of_quota_stops_zalo_and_the_rest_goes_by_sms_with_a_whole_day_window(loa, zalo_double,
                                                                                   esms_double, daemon, psql):
    daily_pause_hands_over_to_sms(loa, zalo_double, esms_double, daemon, psql, -115)


def test_answer_not_json_or_cut_off_is_retried_and_delivered(loa, zalo_double, esms_double, daemon, psql):
    phones = seed(psql, loa, 30)
    zalo_double.control(garbage_next=5, truncate_next=5)
    restart(loa, daemon, settle_seconds=1, retry_min_seconds=1, retry_max_seconds=2)
    loa.ok("campaign", "create", "g", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "g")
    wait_for(lambda: len(zalo_double.state()["requests"]) >= 10, timeout=10, what="the broken answers")
    assert daemon.get("/healthz")[0] == 200
    s = completed(loa, "g", timeout=30)
    z, e = zalo_double.state(), esms_double.state()

    assert codes(z).count("garbage") == 5 and codes(z).count("truncated") == 5
    assert codes(z).count(0) == 30 and len(z["requests"]) == 40
    assert e["sends"] == 0
    nobody_twice(phones, z, e)
    adds_up(s, 30)
    assert psql("SELECT attempts, count(*) FROM messages GROUP BY 1 ORDER BY 1") == [("1", "20"), ("2", "10")]
    assert psql("SELECT count(*) FROM messages WHERE state <> 'delivered' OR channel <> 'zalo'")[0][0] == "0"
    assert "answer is not JSON" in daemon.log()
    assert daemon.running() and daemon.get("/healthz")[0] == 200


def test_answer_cut_off_after_zalo_took_the_message_settles_it_by_its_receipt(loa, zalo_double, esms_double,
                                                                               daemon, psql):
    # Zalo sends three of them (and their receipts, at once) but the answers are cut off: the
    # receipt reaches the engine while the message is still leased, before its temporary failure
    # is recorded. Zalo does not promise to de-duplicate a resend, so the parked receipt must
    # settle the message before it is retried, or it is sent twice (or falls back to SMS).
    phones = seed(psql, loa, 10)
    zalo_double.control(truncate_accepted_next=3, receipt_delay_ms=0)
    loa.sections["gateway.zalo"]["receipt_timeout_s"] = "5"
    restart(loa, daemon, settle_seconds=1, retry_min_seconds=1, retry_max_seconds=2)
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "c")
    s = completed(loa, "c", timeout=30)
    z, e = zalo_double.state(), esms_double.state()

    assert codes(z).count("accepted-truncated") == 3
    assert len(z["sent"]) == 10
    assert e["sends"] == 0, "a citizen Zalo reached gets no SMS"
    nobody_twice(phones, z, e)
    adds_up(s, 10)
    assert s["by_channel"]["zalo"]["fallback"] == 0
    assert psql("SELECT step, state, count(*) FROM messages GROUP BY 1, 2") == [("0", "delivered", "10")]
    assert psql("SELECT count(*) FROM dlr_parked")[0][0] == "0"
