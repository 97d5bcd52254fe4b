"""Coverage against the plans' targets: `loa targets import`, campaign topics, and what the
coverage API counts as reached."""

import json

from test_api import Api, users  # noqa: F401  (fixtures)
from test_campaign_cli import messages, seed


def test_targets_import_keeps_good_rows_and_names_bad_ones(loa, psql):
    f = loa.write_file("t.csv", "\ufeffnam;ma_xa;dan_so;chi_tieu;chu_de\n"
                       "2026;23200;1200;45;\n"
                       "2026;23203;800;15,5;voluntary\n"
                       "2026;99999;10;10;\n"
                       "26;23200;10;10;\n"
                       "2026;23200;10;101;\n"
                       "2026;23200;10;10;sports\n"
                       "2026;23203;-5;10;\n"
                       "2026;23203;5;NaN;\n")
    p = loa.run("targets", "import", f, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    # "15,5" is not a number here (the separator is ';'), so that row is refused too.
    assert out == {"imported": 1, "rejected": 7, "activity_targets": 0}
    for line, why in ((3, "target_pct"), (4, "no such commune_code"), (5, "year"), (6, "target_pct"),
                      (7, "topic"), (8, "population"), (9, "target_pct")):
        assert f"line {line} rejected: " in p.stderr and why in p.stderr, (line, why)
    assert psql("SELECT year, commune_code, topic, population, target_pct FROM coverage_targets") == \
        [("2026", "23200", "general", "1200", "45.00")]
    # Importing again updates; a later row for the same key wins.
    f = loa.write_file("t2.csv", "year,commune_code,population,target_pct,topic\n"
                       "2026,23200,1300,50,general\n2026,23200,1400,55,general\n2027,23200,1400,60,\n")
    assert loa.json("targets", "import", f) == {"imported": 2, "rejected": 0, "activity_targets": 0}
    assert psql("SELECT year, population, target_pct FROM coverage_targets ORDER BY year") == \
        [("2026", "1400", "55.00"), ("2027", "1400", "60.00")]
    p = loa.run("targets", "import", loa.write_file("bad.csv", "a,b\n1,2\n"))
    assert p.returncode == 1 and "no valid header row" in p.stderr
    assert loa.run("targets", "import").returncode == 2


def test_coverage_counts_a_campaign_for_its_topic(loa, psql, users, daemon):  # noqa: F811
    ids = seed(psql, 10)
    out = loa.json("campaign", "create", "tn", "--segment", "gl", "--channels", "sms:t_sms",
                   "--topic", "voluntary")
    cid = out["id"]
    assert loa.json("campaign", "show", "tn")["topic"] == "voluntary"
    p = loa.run("campaign", "create", "x", "--segment", "gl", "--channels", "sms:t_sms", "--topic", "sports")
    assert p.returncode == 2 and "--topic" in p.stderr
    messages(psql, cid, [(c, 0, "sms", "delivered", 1, 500) for c in ids[:4]])
    psql(f"UPDATE messages SET final_at = '2026-03-01 10:00+07' WHERE campaign_id = {cid}")
    loa.ok("targets", "import", loa.write_file("t.csv", "year,commune_code,population,target_pct,topic\n"
                                                "2026,23200,20,15,voluntary\n2026,23203,20,15,voluntary\n"))
    api = Api(daemon)
    status, cov = api.call("GET", "coverage?year=2026&topic=voluntary", token=users["officer"])
    assert status == 200 and cov["totals"]["reached"] == 4 and cov["totals"]["population"] == 40
    by = {c["code"]: c for c in cov["communes"]}
    assert by["23200"]["reached"] + by["23203"]["reached"] == 4
    assert all(c["below_target"] == (c["reached_pct"] < 15) for c in cov["communes"])
    status, cov = api.call("GET", "coverage?year=2026", token=users["officer"])
    assert cov["totals"]["reached"] == 0 and cov["communes"] == []
    # A plan that wants activity in every commune.
    status, cov = api.call("GET", "coverage?year=2026&topic=voluntary&activity_target=100",
                           token=users["officer"])
    active = sum(1 for c in cov["communes"] if c["reached"] > 0)
    assert cov["activity"]["active"] == active and cov["activity"]["below_target"] == (active < 2)


def test_activity_targets_are_imported_with_the_targets_and_used_by_coverage(loa, psql, users, daemon):  # noqa: F811
    """A province's target share of active communes comes in the targets file (a later row
    wins, a bad value is refused by line) and is what coverage sets the share against; the
    query's activity_target still stands for every province's, and 70% is the default."""
    ids = seed(psql, 10)          # Gia Lai (52): communes 23200 (even) and 23203 (odd)
    cid = loa.json("campaign", "create", "a", "--segment", "gl", "--channels", "sms:t_sms")["id"]
    messages(psql, cid, [(ids[1], 0, "sms", "delivered", 1, 500)])      # one citizen of 23200
    psql(f"UPDATE messages SET final_at = '2026-03-01 10:00+07' WHERE campaign_id = {cid}")
    f = loa.write_file("t.csv", "year,commune_code,population,target_pct,activity_target_pct\n"
                       "2026,23200,20,15,80\n"
                       "2026,23203,20,15,62.5\n"       # later for Gia Lai 2026: wins
                       "2026,23206,20,15,101\n"        # refused whole
                       "2026,23209,20,15,nan\n"
                       "2026,30300,20,15,\n"           # An Giang: no activity target
                       "2027,23200,20,15,90\n")
    p = loa.run("targets", "import", f, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"imported": 4, "rejected": 2, "activity_targets": 2}
    for line in (4, 5):
        assert f"line {line} rejected: activity_target_pct must be a percentage from 0 to 100" in p.stderr
    assert psql("SELECT year, province_code, target_pct FROM activity_targets ORDER BY 1, 2") == \
        [("2026", "52", "62.50"), ("2027", "52", "90.00")]
    assert psql("SELECT count(*) FROM coverage_targets WHERE commune_code IN ('23206', '23209')") == [("0",)]
    # The text output says so too; importing again updates the province's row.
    g = loa.write_file("t2.csv", "nam,ma_xa,dan_so,chi_tieu,chi_tieu_hoat_dong\n2027,23203,20,15,95\n")
    assert loa.ok("targets", "import", g).stdout.strip() == \
        "targets: 1 imported, 0 rejected; 1 province activity targets"
    assert psql("SELECT target_pct FROM activity_targets WHERE year = 2027") == [("95.00",)]

    api = Api(daemon)
    status, cov = api.call("GET", "coverage?year=2026", token=users["officer"])
    assert status == 200, cov
    # Gia Lai: 1 of its 2 communes active, 50% < 62.5%; An Giang: 0 of 1, against 70% by default.
    assert cov["activity"]["provinces"] == [
        {"code": "91", "name": "An Giang", "communes": 1, "active": 0, "share_pct": 0, "target_pct": 70,
         "target_source": "default", "below_target": True},
        {"code": "52", "name": "Gia Lai", "communes": 2, "active": 1, "share_pct": 50, "target_pct": 62.5,
         "target_source": "stored", "below_target": True}]
    # Overall: 1 of 3, against the targets weighted by communes: (70 + 2 × 62.5) / 3 = 65.
    assert {k: v for k, v in cov["activity"].items() if k != "provinces"} == \
        {"communes": 3, "active": 1, "share_pct": 33.33, "target_pct": 65, "below_target": True}
    # The query's target stands for every province's.
    status, cov = api.call("GET", "coverage?year=2026&activity_target=30", token=users["officer"])
    assert [(p["code"], p["target_pct"], p["target_source"], p["below_target"])
            for p in cov["activity"]["provinces"]] == [("91", 30, "query", True), ("52", 30, "query", False)]
    assert cov["activity"]["target_pct"] == 30 and cov["activity"]["below_target"] is False
    # 2027: Gia Lai's stored 95%, nobody reached.
    status, cov = api.call("GET", "coverage?year=2027", token=users["officer"])
    assert [(p["code"], p["communes"], p["target_pct"], p["target_source"]) for p in cov["activity"]["provinces"]] == \
        [("52", 2, 95, "stored")]
    assert cov["activity"]["target_pct"] == 95 and cov["activity"]["share_pct"] == 0
    # A year without targets: no province, the default target.
    status, cov = api.call("GET", "coverage?year=2030", token=users["officer"])
    assert cov["activity"] == {"communes": 0, "active": 0, "share_pct": 0, "target_pct": 70,
                               "below_target": True, "provinces": []}
