"""Zalo ZNS first, SMS as the fallback, through `loa serve` and the Zalo and eSMS doubles: who is
not on Zalo is reached by SMS and nobody twice; tokens are refreshed mid-campaign and the rotated
refresh token survives a restart; a spent quota pauses Zalo and the rest goes by SMS; a message
without a receipt falls back; forged, replayed and malformed webhooks change nothing."""

import csv
import datetime
import hashlib
import json
import time
import urllib.error
import urllib.request
import zipfile

import pytest

from conftest import show
from test_report import sheet_rows
from conftest import wait_for as _wait_for


def wait_for(pred, timeout=90, what="condition"):
    return _wait_for(pred, timeout, what)

OUTCOME_KEYS = ["pending", "submitted", "delivered", "undelivered", "failed", "in_doubt",
                "suppressed", "expired", "cancelled"]


def seed(psql, loa, n, prefix="849140"):
    """N citizens, a segment of all of them, a ZNS and an SMS template; their phones in order."""
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    rows = psql(f"""
        INSERT INTO citizens (full_name, phone, commune_code, province_code, gender, birth_date)
        SELECT 'Trần Thị ' || i, '{prefix}' || lpad(i::text, {11 - len(prefix)}, '0'), '23200', '52',
               'female', DATE '1985-01-01' + i
          FROM generate_series(1, {int(n)}) i
        RETURNING phone""")
    z = loa.write_file("z.json", json.dumps({"customer_name": "full_name", "due": "commune_name"}))
    loa.ok("template", "create", "tz", "--channel", "zns", "--file", z, "--zns-template-id", "231945")
    s = loa.write_file("s.txt", "{{salutation}} {{given_name}}, BHXH nhac dong BHXH tu nguyen.")
    loa.ok("template", "create", "ts", "--channel", "sms", "--file", s)
    return [r[0] for r in rows]


def completed(loa, name, timeout=120):
    """The campaign completed and every report of what it sent is in: a campaign completes when
    its last send is answered, and the delivery reports follow."""
    return wait_for(lambda: (lambda s: s if s["status"] == "completed" and s["outcomes"]["submitted"] == 0
                             else None)(show(loa, name)),
                    timeout=timeout, what=f"campaign {name} to complete with every report in")


def restart(loa, daemon, **engine):
    for k, v in engine.items():
        loa.set("engine", k, str(v))
    daemon.stop()
    daemon.start()


def zns_phones(st):
    return [v["phone"] for v in st["sent"].values()]


def sms_phones(st):
    return [v["phone"] for v in st["messages"].values()]


def state(psql, key, gateway="zalo"):
    rows = psql("SELECT value FROM gateway_state WHERE gateway = :'g' AND key = :'k'", g=gateway, k=key)
    return rows[0][0] if rows else None


def post_hook(daemon, body, signature=None, name="zalo"):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-ZEvent-Signature"] = signature
    req = urllib.request.Request(f"{daemon.url}/hooks/zalo/{name}", data=body.encode(), method="POST",
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def mac(body, ts, sig_id="app-1", key="oa-secret"):
    return "mac=" + hashlib.sha256((sig_id + body + ts + key).encode()).hexdigest()


def test_zalo_first_sms_for_citizens_without_zalo_nobody_twice(loa, zalo_double, esms_double, daemon, psql):
    phones = seed(psql, loa, 1000)
    no_zalo = phones[::10]                     # 100 citizens Zalo does not know (-118)
    inactive = phones[5::50]                   # 20 more whose account cannot receive (-119)
    codes = {p: -118 for p in no_zalo}
    codes.update({p: -119 for p in inactive})
    zalo_double.control(phones=codes)
    restart(loa, daemon, settle_seconds=1)
    loa.ok("campaign", "create", "may", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "may")
    s = completed(loa, "may")

    z, e = zalo_double.state(), esms_double.state()
    by_zalo, by_sms = zns_phones(z), sms_phones(e)
    assert len(by_zalo) == 880 and len(set(by_zalo)) == 880
    assert sorted(by_sms) == sorted(no_zalo + inactive), "exactly the unreachable go by SMS"
    assert not set(by_zalo) & set(by_sms), "nobody is reached twice"
    assert z["duplicates"] == 0 and e["duplicates"] == 0
    assert all(v["template_id"] == "231945" for v in z["sent"].values())
    assert all(set(v["data"]) == {"customer_name", "due"} for v in z["sent"].values())

    assert s["targeted"] == 1000
    assert s["outcomes"]["delivered"] == 1000, s["outcomes"]
    assert sum(s["outcomes"][k] for k in OUTCOME_KEYS) == 1000
    assert s["by_channel"]["zalo"]["fallback"] == 120
    assert psql("SELECT count(*) FROM citizens WHERE has_zalo = false")[0][0] == "100"
    assert psql("SELECT count(*) FROM citizens WHERE has_zalo")[0][0] == "880"
    assert psql("SELECT count(*) FROM delivery_events WHERE kind = 'zns_receipt'")[0][0] == "880"
    # The quota Zalo reports is kept for `campaign show`.
    wait_for(lambda: state(psql, "quota_remaining") == str(5000 - 880), timeout=10,
             what="the last quota Zalo reported to be stored")
    log = daemon.log()
    assert not any(p in log for p in phones[:100]), "phone numbers are masked in the log"
    for secret in (z["refresh_token"], "app-secret", "oa-secret", "esms-secret"):
        assert secret not in log, "tokens and secrets are never logged"


def test_zalo_token_refreshed_mid_campaign_and_rotation_survives_restart(loa, zalo_double, esms_double,
                                                                          daemon, psql):
    seed(psql, loa, 200)
    first = zalo_double.state()
    assert first["refreshes"] == 1, "the configured refresh token was used once at start"
    assert state(psql, "refresh_token") == first["refresh_token"]
    # The access token dies after 60 more calls: Zalo answers -124 from then on.
    zalo_double.control(expire_token_after=60)
    loa.ok("campaign", "create", "c1", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "c1")
    s = completed(loa, "c1")
    z = zalo_double.state()
    assert z["token_refused"] >= 1
    assert z["refreshes"] == 2, "one refresh for the refused token, however many calls saw it"
    assert z["refresh_refused"] == 0
    assert len(z["sent"]) == 200 and z["duplicates"] == 0
    assert s["outcomes"]["delivered"] == 200
    assert esms_double.state()["sends"] == 0, "a refused token is not a reason to fall back"
    stored = state(psql, "refresh_token")
    assert stored == z["refresh_token"], "the rotated refresh token is stored"
    assert state(psql, "refresh_lease") is None

    # A restart loads the stored pair: no refresh, and the old configured R0 is not reused.
    daemon.stop()
    daemon.start()
    wait_for(lambda: "zalo_token_loaded" in daemon.log(), what="the token to load")
    time.sleep(1)
    z2 = zalo_double.state()
    assert z2["refreshes"] == 2 and z2["refresh_refused"] == 0
    # Make the next call refuse the token: the stored refresh token must still be good.
    zalo_double.control(expire_token_after=0)
    psql("INSERT INTO citizens (full_name, phone, commune_code, province_code) "
         "VALUES ('Lê Văn B', '84914099999', '23200', '52')")
    loa.ok("campaign", "create", "c2", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "c2")
    completed(loa, "c2")
    z3 = zalo_double.state()
    assert z3["refreshes"] == 3 and z3["refresh_refused"] == 0
    assert state(psql, "refresh_token") == z3["refresh_token"]
    log = daemon.log()
    for secret in (stored, z3["refresh_token"], "app-secret", "oa-secret"):
        assert secret not in log, "tokens and secrets are never logged"


def test_zalo_quota_spent_pauses_zalo_and_the_rest_goes_by_sms(loa, zalo_double, esms_double, daemon, psql):
    phones = seed(psql, loa, 300)
    zalo_double.control(quota=100)
    # A window ending before midnight: the quota pause (until midnight) outlasts it, so the
    # waiting messages are handed over to SMS now rather than tomorrow.
    loa.set("policy", "window", "00:00-23:59")
    loa.sections["gateway.zalo"]["concurrency"] = "4"
    restart(loa, daemon, settle_seconds=1)
    loa.ok("campaign", "create", "q", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "q")
    s = completed(loa, "q")
    z, e = zalo_double.state(), esms_double.state()
    by_zalo, by_sms = zns_phones(z), sms_phones(e)
    assert len(by_zalo) == 100
    assert len(by_sms) == 200
    assert sorted(by_zalo + by_sms) == sorted(phones), "everyone once, by one channel"
    assert s["outcomes"]["delivered"] == 300, s["outcomes"]
    assert int(state(psql, "pause_until")) > time.time()
    assert state(psql, "quota_remaining") == "0"
    assert "event=gateway_paused gw=zalo" in daemon.log()


def test_zalo_no_receipt_falls_back_to_sms_and_late_receipt_changes_nothing(loa, zalo_double, esms_double,
                                                                             daemon, psql):
    phones = seed(psql, loa, 20)
    silent = phones[:5]
    zalo_double.control(no_receipt_phones=silent)
    loa.sections["gateway.zalo"]["receipt_timeout_s"] = "2"
    restart(loa, daemon, settle_seconds=1)
    loa.ok("campaign", "create", "r", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "r")
    s = completed(loa, "r")
    assert sorted(sms_phones(esms_double.state())) == sorted(silent)
    assert len(zalo_double.state()["sent"]) == 20
    assert s["outcomes"]["delivered"] == 20
    assert s["by_channel"]["zalo"]["fallback"] == 5
    reasons = psql("SELECT DISTINCT reason FROM messages WHERE state = 'fallback'")
    assert reasons == [("no zalo receipt within 2s",)]
    # The receipt that finally comes after the SMS went out is recorded and changes nothing.
    cid, mid = psql("SELECT campaign_id, id FROM messages WHERE state = 'fallback' ORDER BY id LIMIT 1")[0]
    before = psql("SELECT state, count(*) FROM messages GROUP BY 1 ORDER BY 1")
    r = zalo_double.control(webhook={"event_name": "user_received_message",
                                     "message": {"msg_id": "late-1", "tracking_id": f"{cid}.{mid}"}})
    assert r["status"] == 200
    assert psql("SELECT state, count(*) FROM messages GROUP BY 1 ORDER BY 1") == before
    assert psql("SELECT count(*) FROM delivery_events WHERE message_id = :'m' AND kind = 'zns_receipt'",
                m=mid)[0][0] == "1"
    # Zalo retrying the same receipt (it got no 200 in time): answered 200, recorded once.
    r = zalo_double.control(webhook={"event_name": "user_received_message",
                                     "message": {"msg_id": "late-1", "tracking_id": f"{cid}.{mid}"}})
    assert r["status"] == 200
    assert psql("SELECT count(*) FROM delivery_events WHERE message_id = :'m' AND kind = 'zns_receipt'",
                m=mid)[0][0] == "1"
    assert psql("SELECT state, count(*) FROM messages GROUP BY 1 ORDER BY 1") == before
    assert "result=duplicate" in daemon.log()


def test_zalo_zns_is_charged_only_when_delivered(loa, zalo_double, esms_double, daemon, psql):
    """gateways.md: Zalo charges a ZNS when it is delivered. A submitted ZNS costs nothing yet;
    its receipt charges its price, in campaign show as in the report."""
    seed(psql, loa, 2)
    loa.sections["gateway.zalo"]["price_per_part_vnd"] = "300"
    restart(loa, daemon)
    zalo_double.control(receipt_delay_ms=None)
    loa.ok("campaign", "create", "cost", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "cost")
    wait_for(lambda: psql("SELECT state, count(*) FROM messages GROUP BY 1") == [("submitted", "2")],
             what="both ZNS to be submitted")
    assert psql("SELECT sum(cost_vnd) FROM messages") == [("600",)], "the price is recorded at submit"
    s = show(loa, "cost")
    assert (s["cost_vnd"], s["by_channel"]["zalo"]["sent"], s["by_channel"]["zalo"]["cost_vnd"]) == (0, 2, 0)
    cid, mid = psql("SELECT campaign_id, id FROM messages ORDER BY id LIMIT 1")[0]
    r = zalo_double.control(webhook={"event_name": "user_received_message",
                                     "message": {"msg_id": "d-1", "tracking_id": f"{cid}.{mid}"}})
    assert r["status"] == 200
    s = wait_for(lambda: (lambda x: x if x["outcomes"]["delivered"] == 1 else None)(show(loa, "cost")),
                 what="the receipt")
    assert (s["cost_vnd"], s["by_channel"]["zalo"]["cost_vnd"]) == (300, 300)
    assert esms_double.state()["sends"] == 0


def test_zalo_report_charges_a_zns_as_campaign_show_does(loa, zalo_double, esms_double, daemon, psql):
    """The report's channel sheet and its totals charge what `campaign show` charges: a ZNS
    once delivered, an SMS once the gateway took it. Of six citizens, one is not on Zalo and
    goes by SMS; of the five ZNS, three get their receipt and two never do."""
    phones = seed(psql, loa, 6)
    loa.sections["gateway.zalo"]["price_per_part_vnd"] = "300"
    loa.sections["gateway.esms"]["price_per_part_vnd"] = "250"
    restart(loa, daemon, settle_seconds=1)
    zalo_double.control(phones={phones[0]: -118}, receipt_delay_ms=0, no_receipt_phones=phones[4:])
    loa.ok("campaign", "create", "bill", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "bill")
    want = [("zalo", "delivered", "3"), ("zalo", "fallback", "1"), ("zalo", "submitted", "2"),
            ("sms", "delivered", "1")]
    wait_for(lambda: sorted(psql("SELECT channel, state, count(*) FROM messages GROUP BY 1, 2")) == sorted(want),
             what="three ZNS delivered, two submitted without receipt, one SMS delivered")
    assert psql("SELECT sum(cost_vnd) FROM messages WHERE channel = 'zalo'") == [("1500",)], \
        "every ZNS taken carries its price, delivered or not"
    sms_parts = int(psql("SELECT parts FROM messages WHERE channel = 'sms'")[0][0])
    s = show(loa, "bill")
    zalo, sms = s["by_channel"]["zalo"], s["by_channel"]["sms"]
    assert (zalo["sent"], zalo["delivered"], zalo["cost_vnd"]) == (5, 3, 3 * 300)
    assert sms["cost_vnd"] == sms_parts * 250
    assert s["cost_vnd"] == 3 * 300 + sms_parts * 250

    today = datetime.date.today()
    out = loa.dir / "bill.xlsx"
    day = datetime.timedelta(days=1)
    loa.ok("report", "--from", str(today - day), "--to", str(today + day), "--format", "xlsx", "--out", out)
    with zipfile.ZipFile(out) as z:
        channels = {r[0]: r for r in sheet_rows(z, 4)[1:]}
        summary = {r[0]: r[1] for r in sheet_rows(z, 8)}
    assert channels["zalo"][1:3] == [5, 3] and channels["zalo"][6] == zalo["cost_vnd"] == 3 * 300
    assert channels["sms"][6] == sms["cost_vnd"]
    assert summary["Chi phí (VND)"] == s["cost_vnd"]
    csv_out = loa.dir / "bill.csv"     # the detail sheet, as CSV
    loa.ok("report", "--from", str(today - day), "--to", str(today + day), "--format", "csv", "--out", csv_out,
           "--csv-header", "codes")
    with open(csv_out, newline="", encoding="utf-8-sig") as f:
        assert sum(int(r["cost_vnd"]) for r in csv.DictReader(f)) == s["cost_vnd"]


def test_zalo_forged_replayed_or_malformed_webhook_changes_nothing(loa, zalo_double, esms_double, daemon, psql):
    seed(psql, loa, 1)
    zalo_double.control(receipt_delay_ms=None)
    loa.ok("campaign", "create", "f", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "f")
    wait_for(lambda: psql("SELECT state FROM messages") == [("submitted",)], what="the ZNS to be submitted")
    cid, mid = psql("SELECT campaign_id, id FROM messages")[0]
    now = str(int(time.time() * 1000))
    ev = {"event_name": "user_received_message", "app_id": "app-1", "timestamp": now,
          "message": {"msg_id": "m-1", "tracking_id": f"{cid}.{mid}"}}
    body = json.dumps(ev)
    assert post_hook(daemon, body) == 403                                     # unsigned
    assert post_hook(daemon, body, mac(body, now, key="app-secret")) == 403   # wrong key
    assert post_hook(daemon, body, mac(body, now, sig_id="oa-1")) == 403      # wrong id
    assert post_hook(daemon, body.replace("m-1", "m-2"), mac(body, now)) == 403   # body changed
    assert zalo_double.control(forged_webhook=ev)["status"] == 403
    old = str(int(time.time() * 1000) - 3600 * 1000)
    stale = json.dumps({**ev, "timestamp": old})
    assert post_hook(daemon, stale, mac(stale, old)) == 403                   # replayed
    junk = '{"event_name": "user_received_message", "timestamp": '
    assert post_hook(daemon, junk, mac(junk, "")) == 400                      # malformed
    assert psql("SELECT state FROM messages")[0][0] == "submitted"
    assert psql("SELECT count(*) FROM delivery_events")[0][0] == "0"
    # Events the engine does not act on are acknowledged; the genuine receipt is applied once.
    seen = json.dumps({"event_name": "user_seen_message", "timestamp": now, "message": {"msg_ids": ["m-1"]}})
    assert post_hook(daemon, seen, mac(seen, now)) == 200
    assert post_hook(daemon, body, mac(body, now)) == 200
    assert post_hook(daemon, body, mac(body, now)) == 200
    assert psql("SELECT state FROM messages")[0][0] == "delivered"
    assert esms_double.state()["sends"] == 0


def test_zalo_reply_and_follow_reach_the_database(loa, zalo_double, esms_double, daemon, psql):
    seed(psql, loa, 1)
    psql("UPDATE citizens SET zalo_user_id = 'zu-1'")
    r = zalo_double.control(send_text={"user_id": "zu-1", "text": "Tôi muốn hỏi về mức đóng", "msg_id": "t-1"})
    assert r["status"] == 200
    r = zalo_double.control(send_text={"user_id": "zu-1", "text": "Tôi muốn hỏi về mức đóng", "msg_id": "t-1"})
    assert r["status"] == 200
    rows = psql("SELECT channel, gateway, external_id, from_addr, body FROM replies")
    assert rows == [("zalo", "zalo", "t-1", "zu-1", "Tôi muốn hỏi về mức đóng")], "once, by msg_id"
    assert zalo_double.control(webhook={"event_name": "follow", "follower": {"id": "zu-2"}})["status"] == 200
    assert psql("SELECT user_id, following FROM zalo_followers") == [("zu-2", "t")]


def test_http_sms_resend_in_doubt_with_same_request_id_is_deduplicated(loa, esms_double, daemon, psql):
    seed(psql, loa, 10)
    # The first send is taken by the provider but its answer never comes back in time, and no
    # delivery report follows for it: the message is in doubt, resent, and the provider says 124.
    esms_double.control(hang_once=1, hang_ms=6000, dlr_delay_ms=None)
    restart(loa, daemon, settle_seconds=1, retry_min_seconds=1)
    loa.ok("campaign", "create", "d", "--segment", "all", "--channels", "sms:ts")
    loa.ok("campaign", "start", "d")
    e = wait_for(lambda: (lambda st: st if st["duplicates"] >= 1 else None)(esms_double.state()),
                 timeout=60, what="the resend of the message in doubt")
    wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'submitted'")[0][0] == "10",
             what="every message submitted")
    e = esms_double.state()
    assert e["sends"] == 10, "each RequestId sent once"
    assert e["duplicates"] == 1
    assert sorted(e["messages"]) == sorted(f"{c}.{m}" for c, m in psql("SELECT campaign_id, id FROM messages"))
    assert psql("SELECT max(attempts) FROM messages")[0][0] == "2"
    assert "outcome=in_doubt" in daemon.log()


def test_http_sms_callbacks_deliver_and_forged_ones_are_refused(loa, esms_double, daemon, psql):
    phones = seed(psql, loa, 4)
    esms_double.control(dlr={phones[0]: 4})
    restart(loa, daemon, settle_seconds=1)
    loa.ok("campaign", "create", "cb", "--segment", "all", "--channels", "sms:ts")
    loa.ok("campaign", "start", "cb")
    s = completed(loa, "cb")
    assert s["outcomes"]["delivered"] == 3 and s["outcomes"]["undelivered"] == 1, s["outcomes"]
    cid, mid = psql("SELECT campaign_id, id FROM messages ORDER BY id LIMIT 1")[0]
    base = f"/hooks/http_sms/esms/dlr?RequestId={cid}.{mid}&SendStatus=5&SMSID=x"
    assert daemon.get(base)[0] == 403
    assert daemon.get(base + "&t=" + "0" * 32)[0] == 403
    assert daemon.get(f"/hooks/http_sms/esms/dlr?t={'0' * 32}&RequestId=zz&SendStatus=5")[0] == 400
    assert psql("SELECT count(*) FROM delivery_events")[0][0] == "4"
