"""Gateway decisions that outlive the daemon, and Zalo codes nobody documented: a step Zalo
refused (-131) stays stopped in the database, so a restart does not ask Zalo again; a gateway
paused past the window hands over the messages that arrive during the pause too, also after a
restart; an unknown Zalo code is retried, then goes to SMS, never failed."""

from test_zalo import completed, restart, seed, sms_phones, zns_phones
from test_zalo_actions import adds_up, codes, nobody_twice


def test_a_stopped_zalo_step_is_kept_in_the_database_and_not_asked_again(loa, zalo_double, esms_double, daemon,
                                                                        psql):
    phones = seed(psql, loa, 40)
    zalo_double.control(phones={p: -131 for p in phones})
    restart(loa, daemon, settle_seconds=1)
    loa.ok("campaign", "create", "t", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "t")
    completed(loa, "t", timeout=30)
    rows = psql("SELECT position, stopped_at IS NOT NULL, stop_reason FROM campaign_channels ORDER BY 1")
    assert rows[0][:2] == ("0", "t") and "zalo -131" in rows[0][2], rows
    assert rows[1][1] == "f", "the SMS step goes on"

    # A second campaign whose Zalo step an earlier run stopped (the same statement the daemon
    # uses): after a restart, Zalo is not asked at all.
    loa.ok("campaign", "create", "u", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    psql("SELECT loa_step_stop('zalo', id, 0::smallint, 'step stopped: zalo -131: template not approved', "
         "'esms', 'zalo') FROM campaigns WHERE name = 'u'")
    loa.set("policy", "frequency_cap", "10/7d")
    restart(loa, daemon)
    asked = len(zalo_double.state()["requests"])
    loa.ok("campaign", "start", "u")
    s = completed(loa, "u", timeout=30)
    z, e = zalo_double.state(), esms_double.state()
    assert len(z["requests"]) == asked, "a stopped step does not ask Zalo again"
    adds_up(s, 40)
    assert s["by_channel"]["zalo"]["fallback"] == 40
    assert sorted(sms_phones(e)) == sorted(phones + phones), "each citizen once per campaign, by SMS"
    assert psql("SELECT count(*) FROM messages WHERE campaign_id = (SELECT id FROM campaigns WHERE name = 'u') "
                "AND step = 0 AND reason LIKE 'step stopped: zalo -131%'") == [("40",)]


def test_messages_that_arrive_while_zalo_is_paused_past_the_window_go_by_sms(loa, zalo_double, esms_double,
                                                                            daemon, psql):
    phones = seed(psql, loa, 30)
    zalo_double.control(quota=0, quota_error=-144)
    loa.set("policy", "frequency_cap", "10/7d")
    restart(loa, daemon, settle_seconds=1)
    loa.ok("campaign", "create", "a", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "a")
    completed(loa, "a", timeout=30)
    asked = len(zalo_double.state()["requests"])
    assert asked >= 1 and set(codes(zalo_double.state())) == {-144}

    # Zalo is paused until midnight; a campaign started now, after a restart that reads the pause
    # back, is not kept waiting for it.
    restart(loa, daemon)
    loa.ok("campaign", "create", "b", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "b")
    s = completed(loa, "b", timeout=30)
    z, e = zalo_double.state(), esms_double.state()
    assert len(z["requests"]) == asked, "nothing more went to Zalo"
    adds_up(s, 30)
    assert s["by_channel"]["zalo"]["fallback"] == 30
    assert sorted(sms_phones(e)) == sorted(phones + phones)
    assert "event=handover gw=zalo campaign=0 step=0 moved=30" in daemon.log()


def test_unknown_zalo_code_is_retried_then_goes_by_sms(loa, zalo_double, esms_double, daemon, psql):
    phones = seed(psql, loa, 20)
    odd = phones[:5]
    zalo_double.control(phones={p: -999 for p in odd})
    restart(loa, daemon, settle_seconds=1, retry_min_seconds=1, retry_max_seconds=1, max_attempts=2)
    loa.ok("campaign", "create", "x", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "x")
    s = completed(loa, "x", timeout=30)
    z, e = zalo_double.state(), esms_double.state()
    assert codes(z).count(-999) == 10, "each of the five asked twice (max_attempts)"
    assert sorted(sms_phones(e)) == sorted(odd)
    assert sorted(zns_phones(z)) == sorted(phones[5:])
    nobody_twice(phones, z, e)
    adds_up(s, 20)
    assert s["outcomes"]["failed"] == 0
    assert psql("SELECT count(*) FROM messages WHERE step = 0 AND state = 'fallback' "
                "AND reason = 'after 2 attempts: zalo -999: unknown error'") == [("5",)]
