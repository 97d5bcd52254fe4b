"""One writer per state, enforced by PostgreSQL: every change of messages.state and of
campaigns.status that the transition tables (generated from campaigns/message.c and
campaigns/campaign_status.c) do not hold is refused by the database, naming the pair; every
one they hold is accepted. And `loa db migrate` applies sql/functions/ again on every run."""

import subprocess

import pytest

from conftest import REPO, _pg_bindir

MESSAGE_STATES = ["pending", "leased", "submitted", "delivered", "undelivered", "retry_wait",
                  "failed", "in_doubt", "fallback", "suppressed", "expired", "cancelled"]
CAMPAIGN_STATUSES = ["draft", "scheduled", "running", "paused", "completed", "cancelled"]

# The edges as the state machines state them (design.md "Message states" and the tables in
# campaigns/). Written out here so that a table that loses or gains an edge fails this test.
MESSAGE_EDGES = {
    "pending": {"leased", "suppressed", "expired", "cancelled", "fallback", "failed"},
    "leased": {"submitted", "retry_wait", "failed", "fallback", "in_doubt", "pending",
               "suppressed", "delivered", "expired", "cancelled"},
    "submitted": {"delivered", "undelivered", "fallback"},
    "retry_wait": {"leased", "suppressed", "expired", "cancelled", "delivered", "fallback",
                   "failed"},
    "in_doubt": {"leased", "submitted", "delivered", "undelivered", "failed", "expired",
                 "pending"},     # loa campaign resend --in-doubt
    "undelivered": {"fallback"},
    "fallback": {"delivered"},
}
CAMPAIGN_EDGES = {
    "draft": {"scheduled", "cancelled"},
    "scheduled": {"running", "paused", "completed", "cancelled"},
    "running": {"paused", "completed", "cancelled"},
    "paused": {"scheduled", "running", "completed", "cancelled"},
    "completed": {"running"},    # loa campaign resend --in-doubt
}


def seed_campaign(psql):
    """A campaign with its partition and one citizen; (campaign id, citizen id)."""
    rows = psql("""
        INSERT INTO segments (name, filter) VALUES ('all', '{}');
        INSERT INTO citizens (full_name, phone, commune_code, province_code)
        VALUES ('Nguyễn Văn A', '84912000001', '23200', '52');
        INSERT INTO campaigns (name, segment_id) SELECT 'c', id FROM segments;
        SELECT campaign_partition_ensure(id) FROM campaigns;
        SELECT (SELECT id FROM campaigns), (SELECT id FROM citizens);
    """)
    cid, citizen = rows[-1]
    return int(cid), int(citizen)


def try_every_pair(psql, values, insert, update):
    """For every pair F ≠ T of VALUES: INSERT makes a row in F (an insert is no transition;
    `RETURNING id INTO k`, n counts the pairs), UPDATE moves row k to T with a plain UPDATE, in
    a subtransaction that records what the database said. Rows (id, f, t, ok, error) in the
    table `tried`. (psql does not expand variables inside $$, so the constants go in here.)"""
    arr = "{" + ",".join(values) + "}"
    psql(f"""
        CREATE TABLE tried (id bigint, f text, t text, ok boolean, error text);
        DO $$
        DECLARE
            f text; t text; k bigint; n int := 0;
        BEGIN
            FOREACH f IN ARRAY '{arr}'::text[] LOOP
                FOREACH t IN ARRAY '{arr}'::text[] LOOP
                    CONTINUE WHEN f = t;
                    n := n + 1;
                    {insert};
                    BEGIN
                        {update};
                        INSERT INTO tried VALUES (k, f, t, true, NULL);
                    EXCEPTION WHEN check_violation THEN
                        INSERT INTO tried VALUES (k, f, t, false, SQLERRM);
                    END;
                END LOOP;
            END LOOP;
        END $$;""")
    tried = psql("SELECT id, f, t, ok, coalesce(error, '') FROM tried")
    assert len(tried) == len(values) * (len(values) - 1)
    return tried


def assert_exactly_the_edges(tried, edges, what):
    for _, f, t, ok, error in tried:
        if t in edges.get(f, set()):
            assert ok == "t", f"{f} → {t} is legal but was refused: {error}"
        else:
            assert ok == "f", f"{f} → {t} is illegal but was accepted"
            assert error == f"illegal {what} {f} → {t}"


def test_every_message_transition_is_checked_by_the_database(psql):
    cid, citizen = seed_campaign(psql)
    tried = try_every_pair(
        psql, MESSAGE_STATES,
        "INSERT INTO messages (campaign_id, citizen_id, step, channel, state)"
        f" VALUES ({cid}, {citizen}, n, 'sms', f) RETURNING id INTO k",
        f"UPDATE messages SET state = t WHERE campaign_id = {cid} AND id = k")
    assert_exactly_the_edges(tried, MESSAGE_EDGES, "message transition")
    # A refused statement changed nothing, and the counters still match the rows.
    assert psql("""
        SELECT count(*) FROM tried x JOIN messages m ON m.id = x.id
         WHERE m.state <> CASE WHEN x.ok THEN x.t ELSE x.f END""") == [("0",)]
    assert psql("""
        (SELECT state, count(*) FROM messages GROUP BY 1
         EXCEPT SELECT state, n FROM campaign_counters WHERE n <> 0)
        UNION ALL
        (SELECT state, n FROM campaign_counters WHERE n <> 0
         EXCEPT SELECT state, count(*) FROM messages GROUP BY 1)""") == []


def test_a_statement_with_one_illegal_row_is_refused_whole(psql, db_url):
    cid, citizen = seed_campaign(psql)
    psql(f"""INSERT INTO messages (campaign_id, citizen_id, step, channel, state) VALUES
             ({cid}, {citizen}, 0, 'sms', 'submitted'), ({cid}, {citizen}, 1, 'sms', 'pending')""")
    p = subprocess.run([str(_pg_bindir() / "psql"), "-X", "-q", "-d", db_url, "-c",
                        "UPDATE messages SET state = 'delivered'"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "illegal message transition pending → delivered" in p.stderr
    assert psql("SELECT state FROM messages ORDER BY step") == [("submitted",), ("pending",)]


def test_every_campaign_status_transition_is_checked_by_the_database(psql):
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{}')")
    tried = try_every_pair(
        psql, CAMPAIGN_STATUSES,
        "INSERT INTO campaigns (name, segment_id, status)"
        " SELECT f || '-' || t, id, f FROM segments RETURNING id INTO k",
        "UPDATE campaigns SET status = t WHERE id = k")
    assert_exactly_the_edges(tried, CAMPAIGN_EDGES, "campaign status transition")
    assert psql("""
        SELECT count(*) FROM tried x JOIN campaigns c ON c.id = x.id
         WHERE c.status <> CASE WHEN x.ok THEN x.t ELSE x.f END""") == [("0",)]
    # A change that leaves the status alone is no transition.
    psql("UPDATE campaigns SET name = name || '!' WHERE status = 'completed'")


def test_the_transition_tables_hold_the_reason_of_each_edge(psql):
    rows = psql("SELECT from_state, to_state, reason FROM message_transitions")
    assert {(f, t) for f, t, _ in rows} == {(f, t) for f, ts in MESSAGE_EDGES.items() for t in ts}
    assert all(len(r) > 10 for _, _, r in rows)
    rows = psql("SELECT from_status, to_status, reason FROM campaign_transitions")
    assert {(f, t) for f, t, _ in rows} == {(f, t) for f, ts in CAMPAIGN_EDGES.items() for t in ts}
    assert all(len(r) > 10 for _, _, r in rows)


def definitions(psql, url=None):
    """Every function, trigger and transition row of the database, as text."""
    return psql("""
        SELECT 'f ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
          FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
        UNION ALL
        SELECT 't ' || tgname || ' ' || md5(pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
        UNION ALL
        SELECT 'm ' || from_state || ' ' || to_state || ' ' || md5(reason) FROM message_transitions
        UNION ALL
        SELECT 'c ' || from_status || ' ' || to_status || ' ' || md5(reason) FROM campaign_transitions
        ORDER BY 1""", url=url)


def test_migrate_applies_the_functions_again_and_is_idempotent(loa, psql):
    shipped = definitions(psql)
    assert any(d.startswith("f loa_cancel_messages(") for (d,) in shipped)
    # A database whose definitions drifted (or that an older release left behind): a function
    # changed, a trigger gone, an edge lost.
    psql("""
        CREATE OR REPLACE FUNCTION loa_window_open(ws time, we time, dws time, dwe time, tz text)
        RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT false $$;
        DROP TRIGGER campaigns_status_check ON campaigns;
        DELETE FROM message_transitions WHERE from_state = 'pending' AND to_state = 'leased';
    """)
    assert definitions(psql) != shipped
    for _ in range(2):
        p = loa.ok("db", "migrate")
        assert p.stdout.strip() == "migrations applied: 0"
        assert definitions(psql) == shipped
    assert psql("SELECT loa_window_open(NULL, NULL, '00:00', '24:00', 'Asia/Ho_Chi_Minh')") == [("t",)]
    shipped_migrations = len(list((REPO / "sql").glob("[0-9]*.sql")))
    assert psql("SELECT count(*) FROM schema_migrations") == [(str(shipped_migrations),)]


def _old_release_sql(name):
    """A migration as the first release shipped it (before functions moved to sql/functions/)."""
    p = subprocess.run(["git", "-C", str(REPO), "show", f"6be37c8:sql/{name}"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip("the first release's migrations are not in this checkout's history")
    return p.stdout


def test_migrate_upgrades_a_database_of_the_first_release(loa, psql, empty_db_url, db_url):
    names = ["001_core.sql", "002_reference.sql", "003_policy.sql", "004_engine.sql",
             "005_campaigns.sql", "006_zalo.sql", "007_bulk_load.sql"]
    old = [_old_release_sql(n) for n in names]
    # What the first release's `loa db migrate` left: its seven files, recorded.
    psql("""CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL,
                                            applied_at timestamptz NOT NULL DEFAULT now())""",
         url=empty_db_url)
    for i, (name, sql) in enumerate(zip(names, old), 1):
        psql(f"BEGIN;\n{sql}\n;\nINSERT INTO schema_migrations (version, name) VALUES ({i}, '{name}');"
             "\nCOMMIT;", url=empty_db_url)
    loa.db_url = empty_db_url
    loa.set("database", "url", empty_db_url)
    later = len(list((REPO / "sql").glob("[0-9]*.sql"))) - len(names)
    assert loa.ok("db", "migrate").stdout.strip() == f"migrations applied: {later}"
    assert loa.ok("db", "migrate").stdout.strip() == "migrations applied: 0"
    assert definitions(psql, url=empty_db_url) == definitions(psql, url=db_url)
    columns = """SELECT table_name, column_name, data_type, coalesce(collation_name, ''),
                        coalesce(column_default, ''), is_nullable
                   FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"""
    assert psql(columns, url=empty_db_url) == psql(columns, url=db_url)
    indexes = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    assert psql(indexes, url=empty_db_url) == psql(indexes, url=db_url)
