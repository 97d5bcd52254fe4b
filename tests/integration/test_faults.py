"""Delivery promises under faults, caused for real: a result write that fails (its table locked
past statement_timeout) followed by SIGTERM and a restart, smsbox stopped and started again
mid-campaign for 20 s, smsbox hung (SIGSTOP) mid-campaign, PostgreSQL restarted mid-campaign, citizens imported while a campaign sends, a
ZNS answered too late, one row of a result batch refused by the database.
Each checks, from what the fake SMSC received, that nobody got the message twice and that every
citizen is accounted for."""

import collections
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import KANNEL_SH, PG_SH, _pg_bindir, run_psql, show, wait_for
from test_breaker import circuit, fast_retries
from test_campaign_kannel import OUTCOME_KEYS, seed


def fast(loa, rate, concurrency=10):
    loa.sections["gateway.kannel"]["rate"] = str(rate)
    loa.sections["gateway.kannel"]["concurrency"] = str(concurrency)
    loa.set("engine", "settle_seconds", "1")


def probed_often(loa, **kannel_keys):
    """Retries within seconds, and an open circuit probed every second or two."""
    fast_retries(loa)
    loa.sections["gateway.kannel"].update(breaker_probe_min_seconds="1", breaker_probe_max_seconds="2",
                                          **kannel_keys)


def start_campaign(loa, name="c"):
    loa.ok("campaign", "create", name, "--segment", "all", "--channels", "sms:nhac")
    loa.ok("campaign", "start", name)


def sent_count(psql):
    return int(psql("SELECT count(*) FROM messages WHERE state IN ('submitted', 'delivered')")[0][0])


def assert_each_once(kannel, phones, settle=1.0):
    """Every phone received exactly once at the fake SMSC (waiting a little for late parts)."""
    time.sleep(settle)
    got = collections.Counter(m["to"] for m in kannel.messages())
    twice = {p: n for p, n in got.items() if n > 1}
    assert not twice, f"received more than once: {twice}"
    return got


def test_failed_flush_then_sigterm_and_restart_sends_nobody_twice(loa, kannel, daemon, psql, db_url):
    phones = seed(psql, loa, 100)
    fast(loa, 20)
    loa.set("database", "query_timeout_ms", "500")
    daemon.stop()
    daemon.start()
    start_campaign(loa)
    wait_for(lambda: sent_count(psql) >= 5, timeout=30, what="some messages sent")
    # Lock gateway_state against writes until a result write has failed: every loa_flush (which
    # counts the day's quota there) waits for it and is cancelled by statement_timeout, with
    # Kannel's answers in hand, while leasing goes on. The lock is held until the stop has
    # begun, so the stop itself meets a failed write, and then let go so that it can end.
    locker = subprocess.Popen(
        [str(_pg_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        locker.stdin.write("BEGIN;\nLOCK TABLE gateway_state IN EXCLUSIVE MODE;\n\\echo locked\n")
        locker.stdin.flush()
        assert locker.stdout.readline().strip() == "locked", locker.stderr.read()
        wait_for(lambda: "event=flush_failed" in daemon.log(), timeout=30, what="a failed result write")
        release = threading.Timer(1.0, lambda: (locker.stdin.write("COMMIT;\n"), locker.stdin.close()))
        release.start()
        assert daemon.stop() == 0
        release.join()
    finally:
        if locker.poll() is None and not locker.stdin.closed:
            locker.stdin.close()
        locker.wait(timeout=30)
    log = daemon.log()
    assert "note=kept_for_retry" in log
    assert "event=drained" in log
    # What the gateway answered was written before the stop ended: nothing is left leased, and
    # nothing that reached Kannel is pending again.
    states = dict(psql("SELECT state, count(*) FROM messages GROUP BY 1"))
    assert "leased" not in states, states
    received_before = collections.Counter(m["to"] for m in kannel.messages())
    pending = {r[0] for r in psql("SELECT c.phone FROM messages m JOIN citizens c ON c.id = m.citizen_id"
                                  " WHERE m.state = 'pending'")}
    assert not pending & set(received_before), "a message Kannel took is pending again"

    daemon.start()
    wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="completion after restart")
    got = assert_each_once(kannel, phones)
    assert sorted(got) == sorted(phones), "everyone reached"
    s = show(loa, "c")
    assert sum(s["outcomes"][k] for k in OUTCOME_KEYS) == s["targeted"] == 100


def phones_of(psql, state):
    return {r[0] for r in psql("SELECT c.phone FROM messages m JOIN citizens c ON c.id = m.citizen_id"
                               " WHERE m.state = :'s'", s=state)}


def assert_reached_once_or_in_doubt(loa, kannel, psql, phones, window):
    """After an smsbox fault, once campaign c completed and every report is in: nobody reached
    twice; what the fake SMSC received is exactly what is delivered; the rest is in_doubt, each
    a request smsbox's own log shows it never handled (it names every request it takes), at most
    WINDOW of them. Returns the in_doubt phones."""
    wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=120, what="completion")
    try:
        wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state NOT IN ('delivered', 'in_doubt')"
                              )[0][0] == "0", timeout=60, what="every report")
    except BaseException:
        print("not settled:", psql("SELECT id, state, attempts, reason FROM messages"
                                   " WHERE state NOT IN ('delivered', 'in_doubt') ORDER BY id"))
        raise
    got = assert_each_once(kannel, phones)
    delivered, in_doubt = phones_of(psql, "delivered"), phones_of(psql, "in_doubt")
    assert delivered == set(got), "delivered are exactly those the SMSC received"
    assert delivered | in_doubt == set(phones), "everyone accounted for"
    handled = (kannel.dir / "smsbox.log").read_text(errors="replace")
    assert not [p for p in in_doubt if f"to:<{p}>" in handled], "an in_doubt request was handled"
    assert len(in_doubt) <= window, in_doubt
    return in_doubt


def resend_in_doubt_and_reach_everyone(loa, kannel, psql, phones):
    """The operator's part after an smsbox fault (the gateway asking for the SMSC's
    acknowledgement, dlr_mask 11): no report came for the in-doubt requests while every message
    sent after them was reported, so they never reached the SMSC, and `campaign resend
    --in-doubt` sends them once more. Then everyone is reached, once."""
    in_doubt = phones_of(psql, "in_doubt")
    out = loa.json("campaign", "resend", "c", "--in-doubt", "--older-than", "0", "--yes")
    assert (out["in_doubt"], out["resend"], out["reported"], out["unprovable"]) == \
        (len(in_doubt), len(in_doubt), 0, 0), out
    assert out["status"] == ("running" if in_doubt else "completed"), out
    wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="completion after the resend")
    wait_for(lambda: show(loa, "c")["outcomes"]["delivered"] == len(phones), timeout=30, what="every report")
    got = assert_each_once(kannel, phones)
    assert sorted(got) == sorted(phones), "everyone reached"


@pytest.mark.plain_only
def test_smsbox_stopped_20s_mid_campaign_nobody_failed_nobody_twice(loa, kannel, daemon, psql):
    n = 300
    phones = seed(psql, loa, n)
    fast(loa, 20)
    # Refused connections are retried soon and the open circuit probed often, so that the
    # campaign goes on within seconds of smsbox's return.
    probed_often(loa)
    # The SMSC's acknowledgement asked for too (8): what reached it is reported within seconds,
    # so that what never did can be told apart and resent at the end.
    loa.sections["gateway.kannel"]["dlr_mask"] = "11"
    daemon.stop()
    daemon.start()
    start_campaign(loa)
    wait_for(lambda: sent_count(psql) >= 60, timeout=30, what="some messages sent")
    kannel.smsbox_stop()
    # What bearerbox had queued still reaches the SMSC in the first seconds; then nothing does.
    time.sleep(5)
    queued = len(kannel.messages())
    time.sleep(15)
    assert len(kannel.messages()) == queued, "nothing reached the SMSC without smsbox"
    kannel.smsbox_start()
    # Every report in, also those bearerbox kept for smsbox while it was down. What is left is
    # in_doubt: a request smsbox closed its connection on without an answer as it stopped; the
    # rest was resent after it.
    assert_reached_once_or_in_doubt(loa, kannel, psql, phones, 10)
    rows = psql("SELECT m.reason FROM messages m WHERE m.state = 'in_doubt'")
    assert all(r[0].startswith("no answer from smsbox") for r in rows), rows
    log = daemon.log()
    assert "smsbox unreachable" in log, "the outage was seen"
    assert "event=breaker gw=kannel from=closed to=open" in log, "the outage opened the circuit"
    s = show(loa, "c")
    assert s["outcomes"]["failed"] == 0
    assert s["outcomes"]["delivered"] + s["outcomes"]["in_doubt"] == s["targeted"] == n

    resend_in_doubt_and_reach_everyone(loa, kannel, psql, phones)


def restart_postgres(db_url, down_s):
    """Stops the test cluster (fast: sessions are cut mid-statement) and starts it again."""
    run_dir = re.search(r"host=([^&]+)", db_url).group(1)
    cluster = str(Path(run_dir).parent)
    subprocess.run([str(PG_SH), "stop", cluster], check=True, capture_output=True, timeout=60, cwd="/")
    time.sleep(down_s)
    subprocess.run([str(PG_SH), "start", cluster], check=True, capture_output=True, timeout=120, cwd="/")


def test_postgres_restart_mid_campaign_completes_and_sends_nobody_twice(loa, kannel, daemon, psql, db_url):
    n = 300
    phones = seed(psql, loa, n)
    fast(loa, 100)
    daemon.stop()
    daemon.start()
    start_campaign(loa)
    wait_for(lambda: sent_count(psql) >= 60, timeout=30, what="some messages sent")
    t0 = time.monotonic()
    restart_postgres(db_url, 2)
    # Well within the 120 s lease: the results kept in memory are written once PostgreSQL is
    # back, and the campaign goes on.
    wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="completion")
    assert time.monotonic() - t0 < 60
    log = daemon.log()
    assert "event=db_down" in log
    states = dict(psql("SELECT state, count(*) FROM messages GROUP BY 1"))
    assert set(states) <= {"submitted", "delivered"}, states
    got = assert_each_once(kannel, phones)
    assert sorted(got) == sorted(phones), "everyone reached"


@pytest.mark.volume
def test_campaign_keeps_sending_while_100000_citizens_are_imported(loa, kannel, daemon, psql):
    rate = 50
    seed(psql, loa, 600)
    fast(loa, rate)
    daemon.stop()
    daemon.start()
    rows = "".join(f"Trần Thị {i},84987{i:06d},23200\n" for i in range(100000))
    csv = loa.write_file("big.csv", "full_name,phone,commune_code\n" + rows)
    start_campaign(loa)
    wait_for(lambda: len(kannel.messages()) >= 20, timeout=30, what="sending to start")
    loa.write_config()
    imp = subprocess.Popen(loa.argv("import", "citizens", csv, "--json"), cwd=loa.dir,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0, before = time.monotonic(), len(kannel.messages())
    while imp.poll() is None:
        time.sleep(0.2)
    took, during = time.monotonic() - t0, len(kannel.messages()) - before
    out, errs = imp.communicate()
    assert imp.returncode == 0, errs
    assert json.loads(out)["imported"] == 100000, out
    assert int(psql("SELECT count(*) FROM citizens")[0][0]) == 100600
    # The import took a lock that blocked loa_flush before: sending stopped once the pool's
    # connections were full of flushes waiting for it.
    assert during >= max(20, 0.3 * rate * took), f"{during} sent during an import of {took:.1f}s"
    assert_each_once(kannel, [], settle=0)


def test_zns_in_doubt_waits_for_its_receipt_and_is_never_resent(loa, zalo_double, esms_double, daemon, psql):
    from test_zalo import completed, restart, seed as seed_zalo
    phones = seed_zalo(psql, loa, 6)
    silent = phones[:2]
    # Zalo takes every request but answers after the client has given up; it sends no receipt
    # for two of them.
    zalo_double.control(delay_ms=1500, no_receipt_phones=silent, receipt_delay_ms=100)
    loa.sections["gateway.zalo"]["timeout_ms"] = "300"
    loa.sections["gateway.zalo"]["receipt_timeout_s"] = "2"
    restart(loa, daemon, settle_seconds=1, retry_min_seconds=1, retry_max_seconds=2)
    loa.ok("campaign", "create", "z", "--segment", "all", "--channels", "zalo:tz,sms:ts")
    loa.ok("campaign", "start", "z")
    wait_for(lambda: psql("SELECT count(*) FROM messages WHERE state = 'delivered'")[0][0] == "4",
             timeout=30, what="the receipts of the answered-too-late sends")
    s = completed(loa, "z", timeout=30)
    time.sleep(1.5)
    z, e = zalo_double.state(), esms_double.state()
    assert len(z["requests"]) == 6, "nothing resent to Zalo"
    assert z["duplicates"] == 0
    assert e["sends"] == 0, "an in-doubt ZNS does not fall back to SMS"
    rows = dict(psql("SELECT c.phone, m.state FROM messages m JOIN citizens c ON c.id = m.citizen_id"))
    assert {p for p, st in rows.items() if st == "in_doubt"} == set(silent)
    assert s["outcomes"]["in_doubt"] == 2 and s["outcomes"]["delivered"] == 4
    assert "outcome=in_doubt" in daemon.log()


def test_a_row_the_database_refuses_does_not_fail_its_batch(loa, kannel, daemon, psql):
    phones = seed(psql, loa, 30)
    bad = phones[6]
    fast(loa, 200, concurrency=30)
    loa.set("engine", "lease_seconds", "5")
    # The database refuses to record this one citizen's submission (as it would a value it
    # cannot store); every other row of its batch must still be written.
    psql(f"""
        CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.state = 'leased' AND NEW.state IN ('submitted', 'delivered')
               AND NEW.citizen_id = (SELECT id FROM citizens WHERE phone = '{bad}') THEN
                RAISE EXCEPTION 'refused for the test' USING ERRCODE = '22023';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_one BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION refuse_one();""")
    daemon.stop()
    daemon.start()
    start_campaign(loa)
    wait_for(lambda: show(loa, "c")["status"] == "completed", timeout=60, what="completion")
    log = daemon.log()
    assert "event=flush_row_given_up" in log
    rows = {p: (st, reason) for p, st, reason in
            psql("SELECT c.phone, m.state, coalesce(m.reason, '') FROM messages m"
                 " JOIN citizens c ON c.id = m.citizen_id")}
    # Lease expiry settles the refused row: it reached Kannel, so it is in doubt (delivered once
    # its report, parked meanwhile, applies), never resent. The others were written by loa_flush.
    st, reason = rows.pop(bad)
    assert st in ("in_doubt", "delivered") and reason.startswith("lease expired"), (st, reason)
    assert {st for st, _ in rows.values()} <= {"submitted", "delivered"}, rows
    assert not any(r.startswith("lease expired") for _, r in rows.values()), rows
    got = assert_each_once(kannel, phones)
    assert sorted(got) == sorted(phones)


@pytest.mark.plain_only
def test_hung_smsbox_opens_the_circuit_in_doubt_only_in_flight_nobody_twice(loa, kannel, daemon, psql):
    n = 200
    phones = seed(psql, loa, n)
    fast(loa, 20)
    probed_often(loa, timeout_ms="1000", breaker_failures="3", dlr_mask="11")
    daemon.stop()
    daemon.start()
    start_campaign(loa)
    wait_for(lambda: sent_count(psql) >= 40, timeout=30, what="some messages sent")
    # Hung, not gone: the kernel still takes its connections and requests, nobody answers.
    smsbox = int((kannel.dir / "smsbox.pid").read_text())
    os.kill(smsbox, signal.SIGSTOP)
    try:
        g = wait_for(lambda: (lambda x: x if x["circuit"] != "closed" else None)(circuit(loa, "kannel")),
                     timeout=30, what="the circuit to open")
        assert g["reason"].startswith("timeout:"), g
        time.sleep(12)
        log = daemon.log()
        probes = log.count("event=breaker gw=kannel from=open to=half_open")
        in_doubt = int(psql("SELECT count(*) FROM messages WHERE state = 'in_doubt'")[0][0])
        # Only the requests in flight as it hung and one probe at a time met it, not twelve
        # seconds at 20 a second.
        assert probes >= 2, "the circuit was probed"
        assert in_doubt <= 10 + probes, (in_doubt, probes)
        assert int(psql("SELECT count(*) FROM messages WHERE state = 'pending'")[0][0]) > 100
    finally:
        os.kill(smsbox, signal.SIGCONT)
    # smsbox, awake, drops the requests loa gave up on (their connections closed): those stay
    # in_doubt, never resent; everyone else is delivered once. At most the probe in flight as it
    # woke joins them: none after the circuit closed.
    assert_reached_once_or_in_doubt(loa, kannel, psql, phones, in_doubt + 1)
    rows = psql("SELECT m.reason FROM messages m WHERE m.state = 'in_doubt'")
    assert all(r[0] == "no answer from smsbox: Timeout was reached" for r in rows), rows
    log = daemon.log()
    assert "event=breaker gw=kannel from=half_open to=closed" in log
    assert show(loa, "c")["outcomes"]["failed"] == 0
    resend_in_doubt_and_reach_everyone(loa, kannel, psql, phones)


def test_a_command_gives_up_on_a_database_that_never_answers(loa):
    """A server that takes the connection and then says nothing (hung, or a firewall that lets
    the handshake through): `loa campaign list` fails with the reason after the connection's
    10 s, instead of waiting for ever; the URL's own connect_timeout wins."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)            # the kernel completes the handshakes; nobody ever reads
    port = hole.getsockname()[1]
    try:
        loa.set("database", "url", f"postgresql://loa@127.0.0.1:{port}/loa")
        t0 = time.monotonic()
        p = loa.run("campaign", "list", timeout=60)
        took = time.monotonic() - t0
        assert p.returncode == 1 and "timeout expired" in p.stderr, (p.returncode, p.stderr)
        assert 9 <= took < 20, took
        loa.set("database", "url", f"postgresql://loa@127.0.0.1:{port}/loa?connect_timeout=3")
        t0 = time.monotonic()
        p = loa.run("campaign", "list", timeout=60)
        assert p.returncode == 1 and time.monotonic() - t0 < 8, (p.returncode, p.stderr)
    finally:
        hole.close()
