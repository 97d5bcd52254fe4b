"""Delivery reports applied in groups (loa_apply_dlrs, engine/events.c) mean what they meant one
by one (loa_apply_dlr): the same reports, in the same order, to two identical campaigns — one
group statement for the first, one statement per report for the second — give the same answers,
the same message states, the same parked reports and the same delivery_events."""

import subprocess
import time

from conftest import psql_command, wait_for

# Each message: (state, gateway_msg_id). Reports: (message index or None, gwid, status, final).
MESSAGES = [("submitted", None), ("submitted", None), ("in_doubt", None), ("leased", None),
            ("retry_wait", None), ("retry_wait", None), ("delivered", None), ("submitted", "g-7"),
            ("in_doubt", None), ("in_doubt", None)]
REPORTS = [
    (0, None, "1", "delivered"),      # applied
    (0, None, "2", "undelivered"),    # duplicate after final: recorded
    (1, None, "8", None),             # intermediate: recorded
    (1, None, "2", "undelivered"),    # applied
    (2, None, "1", "delivered"),      # in_doubt → delivered
    (3, None, "2", "undelivered"),    # leased: parked
    (3, None, "1", "delivered"),      # parked again, the last wins
    (4, None, "2", "undelivered"),    # retry_wait → undelivered is no transition: recorded
    (4, None, "1", "delivered"),      # then a delivery applies
    (5, None, "2", "undelivered"),    # recorded
    (6, None, "1", "delivered"),      # already final: recorded
    (8, None, "8", None),             # in_doubt, the SMSC's acknowledgement: submitted
    (9, None, "8", None),             # in_doubt acknowledged ...
    (9, None, "1", "delivered"),      # ... and delivered, in the same group
    (None, "g-7", "1", "delivered"),  # found by the gateway's id
    (None, "g-none", "1", "delivered"),  # unknown
    ("missing", None, "1", "delivered"),  # no such message: unknown
]


def seed(psql, name, citizen):
    rows = psql(f"""
        INSERT INTO campaigns (name, segment_id) SELECT '{name}', id FROM segments;
        SELECT campaign_partition_ensure(id) FROM campaigns WHERE name = '{name}';
        SELECT id FROM campaigns WHERE name = '{name}';
    """)
    cid = int(rows[-1][0])
    ids = []
    for step, (state, gwid) in enumerate(MESSAGES):
        g = f"'{name}-{gwid}'" if gwid else "NULL"
        r = psql(f"""INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, gateway_msg_id)
                     VALUES ({cid}, {citizen}, {step}, 'sms', 'k', '{state}', {g}) RETURNING id""")
        ids.append(int(r[-1][0]))
    return cid, ids


def one_citizen_campaign(psql, name):
    """A segment, one citizen and campaign NAME with its partition: (citizen id, campaign id)."""
    citizen = int(psql("""
        INSERT INTO segments (name, filter) VALUES ('all', '{}');
        INSERT INTO citizens (full_name, phone, commune_code, province_code)
        VALUES ('Nguyễn Văn A', '84912000001', '23200', '52') RETURNING id;
    """)[-1][0])
    cid = int(psql(f"""
        INSERT INTO campaigns (name, segment_id) SELECT '{name}', id FROM segments;
        SELECT campaign_partition_ensure(id) FROM campaigns WHERE name = '{name}';
        SELECT id FROM campaigns WHERE name = '{name}';""")[-1][0])
    return citizen, cid


def report_args(name, cid, ids, rep):
    idx, gwid, status, final = rep
    if idx == "missing":
        c, m = cid, 999999999
    elif idx is None:
        c, m = None, None
    else:
        c, m = cid, ids[idx]
    return c, m, (f"{name}-{gwid}" if gwid else None), status, final


def lit(v):
    return "NULL" if v is None else f"'{v}'"


def outcome(psql, cid):
    states = psql(f"SELECT step, state, final_at IS NOT NULL FROM messages WHERE campaign_id = {cid} ORDER BY step")
    parked = psql(f"""SELECT m.step, p.final_state FROM dlr_parked p JOIN messages m
                        ON m.campaign_id = p.campaign_id AND m.id = p.message_id
                       WHERE p.campaign_id = {cid} ORDER BY m.step""")
    events = psql(f"""SELECT e.status, m.step FROM delivery_events e
                        LEFT JOIN messages m ON m.campaign_id = e.campaign_id AND m.id = e.message_id
                       WHERE e.campaign_id = {cid} ORDER BY e.id""")
    return states, parked, events


def test_a_group_means_what_its_reports_meant_one_by_one(psql):
    rows = psql("""
        INSERT INTO segments (name, filter) VALUES ('all', '{}');
        INSERT INTO citizens (full_name, phone, commune_code, province_code)
        VALUES ('Nguyễn Văn A', '84912000001', '23200', '52') RETURNING id;
    """)
    citizen = int(rows[-1][0])
    ga, ids_a = seed(psql, "grouped", citizen)
    gb, ids_b = seed(psql, "single", citizen)

    args = [report_args("grouped", ga, ids_a, r) for r in REPORTS]

    def array(k, typ):
        return "ARRAY[" + ", ".join(lit(a[k]) for a in args) + f"]::{typ}[]"

    def same(v):
        return "ARRAY[" + ", ".join([lit(v)] * len(args)) + "]"

    grouped = psql(f"SELECT loa_apply_dlrs({same('k')}, {array(0, 'bigint')}, {array(1, 'bigint')},"
                   f" {array(2, 'text')}, {same('dlr')}, {array(3, 'text')}, {same('')}, {array(4, 'text')})")
    grouped = grouped[-1][0].strip("{}").split(",")

    single = []
    for r in REPORTS:
        c, m, gwid, status, final = report_args("single", gb, ids_b, r)
        out = psql(f"SELECT loa_apply_dlr('k', {lit(c)}::bigint, {lit(m)}::bigint, {lit(gwid)}, 'dlr',"
                   f" {lit(status)}, '', {lit(final)})")
        single.append(out[-1][0])

    assert grouped == single
    assert grouped[:3] == ["applied", "recorded", "recorded"]
    assert grouped[5:7] == ["parked", "parked"]
    assert grouped[-6:] == ["recorded", "recorded", "applied", "applied", "unknown", "unknown"]
    sa, pa, ea = outcome(psql, ga)
    assert [(st, state) for st, state, _ in sa[8:]] == [("8", "submitted"), ("9", "delivered")]
    sb, pb, eb = outcome(psql, gb)
    assert sa == sb
    assert pa == pb == [("3", "delivered")]
    # Every report is recorded with its message (the two unknown ones without).
    assert [e for e in ea if e[1]] == [e for e in eb if e[1]]
    assert len([e for e in ea if e[1]]) == len(REPORTS) - 2
    # The counters moved with the states.
    counters = psql(f"SELECT state, n FROM campaign_counters WHERE campaign_id = {ga} AND n <> 0 ORDER BY state")
    assert counters == psql(f"SELECT state, n FROM campaign_counters WHERE campaign_id = {gb} AND n <> 0 ORDER BY state")


def test_reports_racing_a_flush_of_the_same_messages_never_deadlock(psql, db_url, tmp_path):
    """Kannel reports a message within milliseconds of accepting it, so a group of reports and
    the flush of the same messages' results run at once. Each locks its messages in key order
    (loa_flush, loa_apply_dlrs); locked in the order of their arrays — here ascending for the
    flush and descending for the reports — they deadlocked, and the loser waited a second before
    being refused. Two sessions are started together ROUNDS times on fresh leased messages."""
    rounds, n = 40, 40
    citizen, cid = one_citizen_campaign(psql, "race")
    ids = [int(r[0]) for r in psql(f"""
        INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, lease_owner, lease_until)
        SELECT {cid}, {citizen}, s, 'sms', 'k', 'leased', 'me', now() + interval '1 hour'
          FROM generate_series(0, {rounds * n - 1}) s ORDER BY s RETURNING id""")]
    ids.sort()
    lock0 = 7140900

    def arr(values, typ):
        return "ARRAY[" + ", ".join(str(v) for v in values) + f"]::{typ}[]"

    flush, dlrs, control = [], [], [f"SELECT pg_advisory_lock({lock0 + r});" for r in range(rounds)]
    control.append("SELECT pg_sleep(1);")
    for r in range(rounds):
        batch = ids[r * n:(r + 1) * n]
        gate = f"SELECT pg_advisory_lock_shared({lock0 + r}); SELECT pg_advisory_unlock_shared({lock0 + r});"
        flush.append(gate + f"SELECT loa_flush('k', 'Asia/Ho_Chi_Minh', 'k', NULL, {arr([cid] * n, 'bigint')},"
                     f" {arr(batch, 'bigint')}, {arr([repr('submitted')] * n, 'text')}, {arr(['NULL'] * n, 'text')},"
                     f" {arr(['NULL'] * n, 'text')}, {arr([1] * n, 'int')}, {arr([0] * n, 'int')},"
                     f" {arr([0] * n, 'int')}, {arr([0] * n, 'int')});")
        back = list(reversed(batch))
        dlrs.append(gate + f"SELECT loa_apply_dlrs({arr([repr('k')] * n, 'text')}, {arr([cid] * n, 'bigint')},"
                    f" {arr(back, 'bigint')}, {arr(['NULL'] * n, 'text')}, {arr([repr('dlr')] * n, 'text')},"
                    f" {arr([repr('1')] * n, 'text')}, {arr([repr('')] * n, 'text')},"
                    f" {arr([repr('delivered')] * n, 'text')});")
        control.append(f"SELECT pg_advisory_unlock({lock0 + r}); SELECT pg_sleep(0.03);")
    cmd = psql_command(db_url)
    ctl = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ctl.stdin.write("\n".join(control[:rounds]) + "\n")
    ctl.stdin.flush()
    # The sessions wait at their gates once the controller holds every one.
    held = 0
    for _ in range(100):
        held = int(psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")[0][0])
        if held == rounds:
            break
        time.sleep(0.05)
    assert held == rounds, f"the controller holds {held} of the {rounds} gates: the sessions would not start together"
    # From files: a script larger than a pipe's buffer would block its writer while its
    # session waits at the first gate.
    procs = []
    for i, script in enumerate((flush, dlrs)):
        f = tmp_path / f"race_{i}.sql"
        f.write_text("\n".join(script) + "\n")
        procs.append(subprocess.Popen(cmd + ["-f", str(f)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    ctl.stdin.write("\n".join(control[rounds:]) + "\n")
    ctl.stdin.close()
    outs = [p.communicate(timeout=120) for p in procs]
    ctl.wait(timeout=60)
    errors = [e for _, e in outs]
    assert not any("deadlock" in e for e in errors), errors
    assert not any(e.strip() for e in errors), errors
    # Every result was written and every report applied or parked, then reconciled.
    psql("SELECT loa_dlr_reconcile()")
    assert psql(f"SELECT state, count(*) FROM messages WHERE campaign_id = {cid} GROUP BY 1") == \
        [("delivered", str(rounds * n))]


def test_a_parked_report_is_kept_when_its_message_is_leased_again_during_the_reconcile(psql, db_url):
    """A report that beat a time-out's answer is parked; the message then becomes in_doubt and an
    idempotent gateway leases it again to resend it with the same key, which the provider answers
    "duplicate" with no second report. A reconcile that ran while that lease was being taken saw
    'in_doubt', deleted the parked report, then found the message leased and applied nothing: the
    report was lost and the message stayed 'submitted' for ever (CI, test_breaker's eSMS run).
    Here the lease holds the message's row while the reconcile runs, then commits."""
    citizen, cid = one_citizen_campaign(psql, "resend")
    mid = int(psql(f"""INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state)
                        VALUES ({cid}, {citizen}, 0, 'sms', 'k', 'in_doubt') RETURNING id""")[-1][0])
    psql(f"INSERT INTO dlr_parked (campaign_id, message_id, final_state) VALUES ({cid}, {mid}, 'delivered')")
    cmd = psql_command(db_url) + ["-v", "ON_ERROR_STOP=1"]
    lease = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    lease.stdin.write(f"BEGIN; UPDATE messages SET state = 'leased', lease_owner = 'me', attempts = attempts + 1,"
                      f" lease_until = now() + interval '1 hour' WHERE campaign_id = {cid} AND id = {mid};\n")
    lease.stdin.flush()
    wait_for(lambda: psql(f"SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                          f" WHERE l.locktype = 'transactionid' AND a.state = 'idle in transaction'")[0][0] != "0",
             what="the lease's transaction open")
    rec = subprocess.Popen(cmd + ["-c", "SELECT loa_dlr_reconcile()"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    wait_for(lambda: rec.poll() is not None or
             psql("SELECT count(*) FROM pg_locks WHERE NOT granted")[0][0] != "0",
             what="the reconcile finished or waiting for the lease")
    lease.stdin.write("COMMIT;\n")
    lease.stdin.close()
    assert lease.wait(timeout=30) == 0, lease.stderr.read()
    out, err = rec.communicate(timeout=30)
    assert rec.returncode == 0, err
    assert psql(f"SELECT state FROM messages WHERE id = {mid}") == [("leased",)]
    assert psql(f"SELECT final_state FROM dlr_parked WHERE message_id = {mid}") == [("delivered",)], \
        "the report was dropped while its message was leased"
    # A lease that expires on an idempotent gateway puts the message back to 'pending', to be
    # resent with its key: the report waits for that resend too.
    psql(f"UPDATE messages SET state = 'pending', lease_owner = NULL, lease_until = NULL WHERE id = {mid}")
    assert psql("SELECT loa_dlr_reconcile()") == [("0",)]
    assert psql(f"SELECT final_state FROM dlr_parked WHERE message_id = {mid}") == [("delivered",)]
    psql(f"UPDATE messages SET state = 'leased', lease_owner = 'me' WHERE id = {mid}")
    # The resend is answered "duplicate": submitted, and the next reconcile delivers it.
    psql(f"UPDATE messages SET state = 'submitted', lease_owner = NULL, lease_until = NULL WHERE id = {mid}")
    assert psql("SELECT loa_dlr_reconcile()") == [("1",)]
    assert psql(f"SELECT state FROM messages WHERE id = {mid}") == [("delivered",)]
    assert psql("SELECT count(*) FROM dlr_parked") == [("0",)]


def test_a_message_reported_while_leased_is_submitted_when_its_answer_is_lost(psql):
    """Kannel reports the SMSC's acknowledgement within milliseconds, usually while the message is
    still leased (the report is recorded only). When the submission's answer is then lost
    (loa_flush is told in_doubt), the report shows the gateway had it: the message is submitted,
    not in doubt. Without a report it stays in doubt."""
    citizen, cid = one_citizen_campaign(psql, "acked")
    ids = [int(r[0]) for r in psql(f"""
        INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, lease_owner, lease_until)
        SELECT {cid}, {citizen}, s, 'sms', 'k', 'leased', 'me', now() + interval '1 hour'
          FROM generate_series(0, 1) s ORDER BY s RETURNING id""")]
    assert psql(f"SELECT loa_apply_dlr('k', {cid}, {ids[0]}, NULL, 'dlr', '8', '', NULL)")[-1][0] == "recorded"
    a = ", ".join(str(i) for i in ids)
    assert psql(f"SELECT loa_flush('k', 'Asia/Ho_Chi_Minh', 'k', NULL, ARRAY[{cid}, {cid}]::bigint[],"
                f" ARRAY[{a}]::bigint[], ARRAY['in_doubt', 'in_doubt'], ARRAY['answer lost', 'answer lost'],"
                f" ARRAY[NULL, NULL]::text[], ARRAY[1, 1], ARRAY[0, 0], ARRAY[0, 0], ARRAY[0, 0])")[-1][0] == "2"
    assert psql(f"SELECT step, state, submitted_at IS NOT NULL FROM messages WHERE campaign_id = {cid}"
                " ORDER BY step") == [("0", "submitted", "t"), ("1", "in_doubt", "t")]
    assert psql(f"SELECT state, n FROM campaign_counters WHERE campaign_id = {cid} AND n <> 0 ORDER BY 1") == \
        [("in_doubt", "1"), ("submitted", "1")]
