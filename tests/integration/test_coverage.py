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
                       "2026;23203;-5;10;\n")
    p = loa.run("targets", "import", f, "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    # "15,5" is not a number here (the separator is ';'), so that row is refused too.
    assert out == {"imported": 1, "rejected": 6}
    for line, why in ((3, "target_pct"), (4, "no such commune_code"), (5, "year"), (6, "target_pct"),
                      (7, "topic"), (8, "population")):
        assert f"line {line} rejected: " in p.stderr and why in p.stderr, (line, why)
    assert psql("SELECT year, commune_code, topic, population, target_pct FROM coverage_targets") == \
        [("2026", "23200", "general", "1200", "45.00")]
    # Importing again updates; a later row for the same key wins.
    f = loa.write_file("t2.csv", "year,commune_code,population,target_pct,topic\n"
                       "2026,23200,1300,50,general\n2026,23200,1400,55,general\n2027,23200,1400,60,\n")
    assert loa.json("targets", "import", f) == {"imported": 2, "rejected": 0}
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
