"""Households share phones: a campaign reaches each phone number once by default, to the oldest
adult of the segment on it, and suppresses the others with the reason, counted and shown;
`--per-phone all` sends to every citizen. The preview and the start estimate show the saving."""

import pytest

from conftest import show, wait_for

PHONE = "84913000001"


def seed_household(psql, loa):
    """A household of three on one phone (a child, the grandmother, the father) and a neighbour
    on a phone of their own; their ids by role."""
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    rows = psql(f"""
        INSERT INTO citizens (full_name, phone, commune_code, province_code, birth_date)
        VALUES ('Rơ Lan Hbia', '{PHONE}', '23200', '52', DATE '2015-03-01'),
               ('Rơ Lan Bới', '{PHONE}', '23200', '52', DATE '1950-06-01'),
               ('Rơ Lan Blơng', '{PHONE}', '23200', '52', DATE '1980-01-01'),
               ('Ksor Nay', '84913000002', '23200', '52', DATE '1990-01-01')
        RETURNING id""")
    tpl = loa.write_file("t.txt", "BHXH nhắc đóng BHXH tự nguyện. {{opt_out_hint}}")
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", tpl)
    child, grandmother, father, neighbour = (int(r[0]) for r in rows)
    return child, grandmother, father, neighbour


def test_household_phone_is_reached_once_and_the_others_are_suppressed(loa, kannel, daemon, psql):
    child, grandmother, father, neighbour = seed_household(psql, loa)
    loa.set("engine", "settle_seconds", "1")
    daemon.stop()
    daemon.start()

    pv = loa.json("template", "preview", "nhac", "--segment", "all", "--json")
    assert (pv["sendable"], pv["same_phone"], pv["total_parts"]) == (4, 2, 2)
    assert pv["saving_vnd"] == 2 * pv["price_per_part_vnd"] > 0
    text = loa.ok("template", "preview", "nhac", "--segment", "all").stdout
    assert "2 citizen(s) share a phone" in text
    assert loa.json("template", "preview", "nhac", "--segment", "all", "--per-phone", "all",
                    "--json")["same_phone"] == 0

    loa.ok("campaign", "create", "may", "--segment", "all", "--channels", "sms:nhac")
    started = loa.json("campaign", "start", "may", "--json")
    est = started["estimate"][0]
    assert (est["same_phone"], est["total_parts"]) == (2, 2)
    assert est["saving_vnd"] == pv["saving_vnd"]

    wait_for(lambda: show(loa, "may")["status"] == "completed", timeout=60, what="completion")
    got = kannel.wait_messages(2)
    assert sorted(m["to"] for m in got) == [PHONE, "84913000002"], "one SMS per phone"
    states = dict((int(c), (st, r)) for c, st, r in psql(
        "SELECT citizen_id, state, coalesce(reason, '') FROM messages"))
    assert states[grandmother][0] in ("submitted", "delivered"), "the oldest adult gets it"
    assert states[neighbour][0] in ("submitted", "delivered")
    assert states[child] == ("suppressed", f"same phone as citizen {grandmother}")
    assert states[father] == ("suppressed", f"same phone as citizen {grandmother}")
    s = show(loa, "may")
    assert s["targeted"] == 4
    assert s["outcomes"]["suppressed"] == 2
    assert (s["per_phone"], s["same_phone"]) == ("one", 2)
    assert "2 suppressed: same phone" in loa.ok("campaign", "show", "may").stdout


def test_household_per_phone_all_sends_to_every_citizen(loa, kannel, daemon, psql):
    seed_household(psql, loa)
    # The frequency cap counts per phone too (a household is one recipient): three messages to
    # one phone need a cap of at least 3 (test_caps.py tests the default of 2).
    loa.set("policy", "frequency_cap", "3/7d")
    daemon.stop()
    daemon.start()
    loa.ok("campaign", "create", "all3", "--segment", "all", "--channels", "sms:nhac")
    est = loa.json("campaign", "start", "all3", "--per-phone", "all", "--json")["estimate"][0]
    assert (est["same_phone"], est["total_parts"]) == (0, 4)
    got = kannel.wait_messages(4)
    assert sorted(m["to"] for m in got) == [PHONE] * 3 + ["84913000002"]
    wait_for(lambda: show(loa, "all3")["outcomes"]["suppressed"] == 0 and
             show(loa, "all3")["targeted"] == 4, what="all four targeted")
    s = show(loa, "all3")
    assert (s["per_phone"], s["same_phone"]) == ("all", 0)
    r = loa.run("campaign", "create", "x", "--segment", "all", "--channels", "sms:nhac",
                "--per-phone", "some")
    assert r.returncode == 2 and "--per-phone takes one or all" in r.stderr
