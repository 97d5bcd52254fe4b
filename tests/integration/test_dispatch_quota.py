"""The daily quota of a gateway, end to end through real Kannel: the dispatcher leases ahead of
its window, but never past what is left of the day's quota, and the last messages of the quota
are sent even when they are fewer than a usual lease."""

from conftest import show, wait_for
from test_campaign_archive import kannel_campaign


def test_daily_quota_sends_exactly_the_quota_and_keeps_the_rest_pending(loa, kannel, daemon, psql):
    kannel_campaign(loa, daemon, psql, 12, "q", daily_quota="7")
    loa.ok("campaign", "start", "q")
    wait_for(lambda: len(kannel.messages()) >= 7, timeout=30, what="the day's quota sent")
    # Time for anything beyond the quota to go out, were it leased.
    wait_for(lambda: show(loa, "q")["by_channel"]["sms"]["sent"] == 7, timeout=10, what="7 recorded as sent")
    states = dict(psql("SELECT state, count(*) FROM messages GROUP BY 1"))
    assert int(states.get("pending", 0)) == 5, states
    assert "leased" not in states, states
    assert len(kannel.messages()) == 7
    assert show(loa, "q")["status"] == "running"
