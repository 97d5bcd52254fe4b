"""`loa campaign archive`: a finished campaign's messages leave the live table for the schema
archive, its statistics read the same before and after, its breakdowns still see the rows, and
anything not finished, or archived already, is refused and changes nothing."""

from conftest import show, wait_for
from test_campaign_kannel import seed


def kannel_campaign(loa, daemon, psql, n, name, **gateway):
    """N seeded citizens, the daemon restarted with GATEWAY keys on [gateway.kannel] (rate 1000
    unless given), and campaign NAME created to all of them by SMS (not started)."""
    seed(psql, loa, n)
    loa.sections["gateway.kannel"].update({"rate": "1000", **gateway})
    loa.set("engine", "settle_seconds", "1")
    daemon.stop()
    daemon.start()
    loa.ok("campaign", "create", name, "--segment", "all", "--channels", "sms:nhac")


def test_archive_moves_a_finished_campaign_out_of_the_live_table_and_keeps_its_figures(loa, kannel, daemon, psql):
    kannel_campaign(loa, daemon, psql, 30, "old")
    loa.ok("campaign", "create", "draft", "--segment", "all", "--channels", "sms:nhac")
    refused = loa.run("campaign", "archive", "draft")
    assert refused.returncode == 1 and "only a completed or cancelled campaign" in refused.stderr

    loa.ok("campaign", "start", "old")
    wait_for(lambda: show(loa, "old")["status"] == "completed", timeout=60, what="the campaign to complete")
    before = show(loa, "old")
    by_channel = loa.json("campaign", "show", "old", "--by", "channel")
    cid = before["id"]
    assert before["targeted"] == 30

    out = loa.json("campaign", "archive", "old")
    assert out["archived"] is True and out["messages"] == 30 and out["bytes"] > 0
    assert out["archive_table"] == f"archive.messages_c{cid}"
    # Gone from the live table and its partitions; every row in the archive.
    assert psql(f"SELECT count(*) FROM messages WHERE campaign_id = {cid}")[0][0] == "0"
    assert psql(f"SELECT count(*) FROM archive.messages WHERE campaign_id = {cid}")[0][0] == "30"
    assert psql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'messages'::regclass "
                f"AND inhrelid::regclass::text = 'messages_c{cid}'")[0][0] == "0"
    # The statistics and the breakdowns read as before.
    assert show(loa, "old") == before
    assert loa.json("campaign", "show", "old", "--by", "channel") == by_channel

    again = loa.run("campaign", "archive", "old")
    assert again.returncode == 1 and "archived on" in again.stderr
    assert psql(f"SELECT count(*) FROM archive.messages WHERE campaign_id = {cid}")[0][0] == "30"
