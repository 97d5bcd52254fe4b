"""`loa serve` reloads its configuration on SIGHUP: a gateway's new rate applies mid-campaign,
measured at the fake SMSC, and a bad file is refused, logged, with the daemon still sending at
the rate it had."""

import re
import signal
import time

from conftest import wait_for


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


def test_sighup_changes_a_gateways_rate_mid_campaign_and_refuses_a_bad_file(loa, kannel, daemon, psql):
    n = 120
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    psql(f"""INSERT INTO citizens (full_name, phone, commune_code, province_code)
             SELECT 'Nguyễn Văn ' || i, '849150' || lpad(i::text, 5, '0'), '23200', '52'
               FROM generate_series(1, {n}) i""")
    loa.ok("template", "create", "t", "--channel", "sms", "--file", loa.write_file("t.txt", "BHXH nhac"))
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
