"""`loa serve` reloads its configuration on SIGHUP: a gateway's new rate applies mid-campaign,
measured at the fake SMSC, and a bad file is refused, logged, with the daemon still sending at
the rate it had."""

import re
import signal
import time

from conftest import wait_for
from test_api import Api


def arrivals(kannel, seconds):
    """Messages the fake SMSC receives over SECONDS, and the rate."""
    start, t0 = len(kannel.received()), time.monotonic()
    time.sleep(seconds)
    n = len(kannel.received()) - start
    return n, n / (time.monotonic() - t0)


def hangup(daemon, event):
    """SIGHUP, then waits for the daemon to log EVENT once more than before."""
    before = daemon.log().count(f"event={event}")
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: daemon.log().count(f"event={event}") > before, timeout=10, what=event)


def seed(loa, psql, n, prefix):
    """N citizens on phones PREFIX followed by five digits, the segment `all` of them and the
    SMS template `t`."""
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    psql(f"""INSERT INTO citizens (full_name, phone, commune_code, province_code)
             SELECT 'Nguyễn Văn ' || i, '{prefix}' || lpad(i::text, 5, '0'), '23200', '52'
               FROM generate_series(1, {n}) i""")
    loa.ok("template", "create", "t", "--channel", "sms", "--file", loa.write_file("t.txt", "BHXH nhac"))


def test_sighup_changes_a_gateways_rate_mid_campaign_and_refuses_a_bad_file(loa, kannel, daemon, psql):
    n = 120
    seed(loa, psql, n, "849150")
    loa.sections["gateway.kannel"]["rate"] = "4"
    daemon.stop()
    daemon.start()
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:t")
    loa.ok("campaign", "start", "c")
    wait_for(lambda: len(kannel.received()) > 0, timeout=30, what="the first SMS")
    _, slow = arrivals(kannel, 2.5)
    assert 1 <= slow <= 7, f"{slow:.1f}/s at rate 4"

    # A bad file: refused with the reason, the old rate kept, the daemon still sending.
    good = loa.config_path.read_text()
    loa.config_path.write_text(good.replace("rate = 4", "rate = fast"))
    hangup(daemon, "reload_refused")
    assert re.search(r"event=reload_refused .*rate.*the running configuration is kept", daemon.log())
    sent, still = arrivals(kannel, 1.5)
    assert sent > 0 and still <= 7, f"{sent} sent, {still:.1f}/s after a refused reload"

    loa.sections["gateway.kannel"]["rate"] = "200"
    loa.write_config()
    hangup(daemon, "reloaded")
    left = n - len(kannel.received())
    assert left > 40, "enough left to measure the new rate"
    t0 = time.monotonic()
    kannel.wait_messages(n)
    fast = left / (time.monotonic() - t0)
    assert fast >= 20, f"{fast:.1f}/s at rate 200 (was {slow:.1f}/s)"
    assert len({m["to"] for m in kannel.messages()}) == n, "nobody twice, nobody lost by the reloads"
    assert daemon.running()


def test_sighup_refuses_a_new_gateway_and_takes_a_new_webhook_secret(loa, kannel, daemon, psql):
    """The set of gateways is fixed at start; a secret is a value like any other."""
    loa.add_gateway("esms", type="http_sms", preset="esms", url="http://127.0.0.1:9/", api_key="k",
                    secret_key="s", brandname="BHXH")
    loa.write_config()
    hangup(daemon, "reload_refused")
    assert "gateways were added, removed, renamed or retyped" in daemon.log()
    del loa.sections["gateway.esms"]
    old = loa.sections["gateway.kannel"]["webhook_secret"]
    loa.sections["gateway.kannel"]["webhook_secret"] = "n" * 32
    loa.write_config()
    hangup(daemon, "reloaded")
    # The MO hook's token is the webhook secret: the old one is now refused, the new one taken.
    q = "/hooks/kannel/kannel/mo?from=84915000001&to=8077&text=hi&id=x1&token="
    assert daemon.get(q + old)[0] == 403
    assert daemon.get(q + "n" * 32)[0] == 200


def metric(daemon, name, gateway):
    status, body = daemon.get("/metrics")
    assert status == 200
    m = re.search(rf'^{name}{{gateway="{gateway}"}} (\S+)$', body, re.M)
    assert m, f"{name} for {gateway} in /metrics"
    return float(m.group(1))


def test_sighup_changes_a_gateways_window_mid_campaign(loa, esms_double, daemon, psql):
    """The concurrency window is taken on SIGHUP like the rate, counted at the provider's
    double: wider, more sends are in flight at once; narrower, never more than the new window
    once the sends already in flight have been answered, and none of them is lost or sent
    twice. Each send takes the double 0.3 s, and the rate is high enough never to be the limit."""
    n = 600
    seed(loa, psql, n, "849160")
    esms_double.control(delay_ms=300)
    loa.sections["gateway.esms"].update(rate="200", concurrency="2")
    daemon.stop()
    daemon.start()
    loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:t")
    loa.ok("campaign", "start", "c")

    def seen_at_once():
        """The most sends the double had in flight at once over 2.5 s."""
        esms_double.control(max_in_flight=0)
        time.sleep(2.5)
        return esms_double.state()["max_in_flight"]

    wait_for(lambda: esms_double.state()["sends"] >= 10, timeout=60, what="the first sends")
    assert seen_at_once() <= 2 and metric(daemon, "loa_throttle_window", "esms") <= 2

    loa.sections["gateway.esms"]["concurrency"] = "8"
    loa.write_config()
    hangup(daemon, "reloaded")
    # The window opens by one for every window's worth of answers (slow start), up to 8.
    wait_for(lambda: metric(daemon, "loa_throttle_window", "esms") == 8, timeout=60,
             what="the window to open to the new concurrency")
    wide = seen_at_once()
    assert 2 < wide <= 8, f"{wide} sends in flight at once with a window of 8"

    loa.sections["gateway.esms"]["concurrency"] = "1"
    loa.write_config()
    hangup(daemon, "reloaded")
    assert metric(daemon, "loa_throttle_window", "esms") == 1, "a narrower window closes at once"
    # The sends in flight above it are answered as usual; after them, one at a time.
    wait_for(lambda: esms_double.state()["in_flight"] <= 1, timeout=30, what="the sends in flight to be answered")
    assert seen_at_once() == 1
    assert esms_double.state()["sends"] < n, "enough left to see the narrow window"

    esms_double.control(delay_ms=0)
    wait_for(lambda: psql("SELECT status FROM campaigns WHERE name = 'c'")[0][0] == "completed",
             timeout=120, what="the campaign to complete")
    e = esms_double.state()
    assert (e["sends"], e["duplicates"]) == (n, 0), "nobody twice, nobody lost by the reloads"
    assert psql("SELECT count(*) FROM messages WHERE state NOT IN ('submitted', 'delivered')") == [("0",)]
    assert daemon.running()


def test_sighup_names_each_changed_key_that_needs_a_restart_and_the_api_takes_the_new_policy(
        loa, kannel, daemon, psql):
    """Keys read once at start (the HTTP server's, the answers') are kept and each changed one
    is named in the log; the others are taken (a circuit breaker's too), by the API as well."""
    seed(loa, psql, 3, "849170")
    ids = [loa.json("campaign", "create", name, "--segment", "all", "--channels", "sms:t")["id"]
           for name in ("a", "b")]
    token = loa.json("user", "add", "an", "--role", "officer")["token"]
    api = Api(daemon)
    assert api.call("POST", f"campaigns/{ids[0]}/start", token=token)[0] == 200, "3 citizens, threshold 10000"

    loa.set("policy", "approval_threshold", "2")
    loa.set("http", "header_timeout_ms", "5000")
    loa.set("replies", "answers_per_hour", "3")
    loa.set("engine", "log_level", "debug")
    loa.sections["gateway.kannel"].update(breaker_failures="9", rate="7")
    loa.write_config()
    hangup(daemon, "reloaded")
    said = re.findall(r"event=reload_needs_restart key=(\S+) note=\"([^\"]+)\"", daemon.log())
    assert sorted(k for k, _ in said) == ["engine.log_level", "http.header_timeout_ms",
                                           "replies.answers_per_hour"]
    assert all(note == "kept until loa serve restarts" for _, note in said)
    assert metric(daemon, "loa_throttle_rate", "kannel") == 7
    status, body = api.call("POST", f"campaigns/{ids[1]}/start", token=token)
    assert status == 409 and "approval threshold of 2 citizens" in body["error"], body
    assert daemon.running()
