"""Segments against a real database: the filter's meaning (ages in Asia/Ho_Chi_Minh, due dates,
unknown values), the commands, and SQL injection through every field, operator and value."""
import itertools
import json

import pytest

FIELDS = ["group", "province_code", "commune_code", "age", "gender", "language", "participation",
          "voluntary_due_date", "carrier", "has_zalo", "tags"]
OPS = ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "between", "within_days", "exists"]
NASTY = ["'; DROP TABLE citizens; --", "x') OR ('1'='1", "\" OR 1=1 --", "$1", "\\", "{a,b}",
         "\"}", "NULL", "1; DELETE FROM citizens", "’ OR ’1’=’1", "%' OR '%'='", "\u0000x",
         "a" * 300, "23200' UNION SELECT 1 --", "2026-01-01'::date OR true --"]

TODAY = "(now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"


@pytest.fixture
def people(loa, psql):
    """Citizens whose ages and due dates are relative to today in Vietnam."""
    psql(f"""
    INSERT INTO citizens (full_name, phone, carrier, commune_code, province_code, gender,
                          birth_date, group_code, language, participation, voluntary_due_date,
                          zalo_user_id, has_zalo, tags) VALUES
     ('A', '84912345671', 'vinaphone', '23200', '52', 'male',   {TODAY} - interval '18 years',
      'household_business', 'vi', 'none', NULL, NULL, NULL, '{{hoi_cho}}'),
     ('B', '84912345672', 'vinaphone', '23203', '52', 'female', ({TODAY} - interval '18 years')::date + 1,
      'household_business', 'jra', 'none', NULL, '777', NULL, '{{}}'),
     ('C', '84351234567', 'viettel',   '30300', '91', NULL,     {TODAY} - interval '61 years',
      'farmer', 'km', 'voluntary', {TODAY} + 10, NULL, false, '{{hoi_cho,may}}'),
     ('D', '84351234568', 'viettel',   '30304', '91', 'female', NULL,
      NULL, 'vi', 'voluntary', {TODAY} + 40, NULL, true, '{{}}');
    INSERT INTO opt_outs (citizen_id, channel, source)
      SELECT id, 'sms', 'officer' FROM citizens WHERE full_name = 'C';
    """)
    return loa


def count(loa, flt):
    f = loa.write_file("f.json", json.dumps(flt))
    return loa.json("segment", "count", "--filter", f)


MEANINGS = [
    ({"field": "age", "gte": 18}, 2),                       # A turns 18 today, B tomorrow
    ({"field": "age", "eq": 17}, 1),
    ({"field": "age", "between": [18, 60]}, 1),
    ({"field": "age", "gt": 60}, 1),
    ({"field": "age", "exists": False}, 1),
    ({"field": "age", "in": [17, 61]}, 2),
    ({"field": "age", "ne": 18}, 3),                        # unknown age included
    ({"field": "group", "ne": "farmer"}, 3),                # unknown group included
    ({"field": "group", "not_in": ["farmer", "household_business"]}, 1),
    ({"not": {"field": "group", "eq": "farmer"}}, 3),
    ({"field": "gender", "eq": "female"}, 2),
    ({"field": "voluntary_due_date", "within_days": 30}, 1),
    ({"field": "voluntary_due_date", "within_days": 40}, 2),
    ({"field": "has_zalo", "eq": True}, 2),                 # B by Zalo id, D by has_zalo
    ({"field": "has_zalo", "eq": False}, 2),
    ({"field": "tags", "eq": "hoi_cho"}, 2),
    ({"field": "tags", "in": ["may", "x"]}, 1),
    ({"field": "tags", "not_in": ["hoi_cho"]}, 2),
    ({"field": "tags", "exists": True}, 2),
    ({"field": "carrier", "in": ["viettel"]}, 2),
    ({"field": "language", "eq": "jra"}, 1),
    ({"any": [{"field": "province_code", "eq": "91"}, {"field": "commune_code", "eq": "23200"}]}, 3),
    ({"all": [{"field": "group", "eq": "household_business"},
              {"field": "commune_code", "in": ["23200", "23203"]},
              {"field": "age", "between": [18, 60]},
              {"field": "participation", "eq": "none"}]}, 1),
    ({"all": []}, 4),
    ({"any": []}, 0),
]


@pytest.mark.parametrize("flt,n", MEANINGS)
def test_segment_filter_meaning(people, flt, n):
    assert count(people, flt)["count"] == n


def test_segment_sendable_counts_opt_outs(people):
    out = count(people, {"field": "province_code", "eq": "91"})
    assert (out["count"], out["sendable_sms"]) == (2, 1)
    assert out["segment"] is None and out["elapsed_ms"] >= 0


def test_segment_create_count_list_update(people, psql):
    f = people.write_file("s.json", json.dumps({"field": "province_code", "eq": "52"}))
    created = people.json("segment", "create", "gl", "--filter", f)
    assert created["created"] is True and created["count"] == 2
    named = people.json("segment", "count", "gl")
    assert (named["segment"], named["count"], named["sendable_sms"]) == ("gl", 2, 2)
    f2 = people.write_file("s2.json", json.dumps({"field": "province_code", "eq": "91"}))
    again = people.json("segment", "create", "gl", "--filter", f2)
    assert again["created"] is False and again["id"] == created["id"] and again["count"] == 2
    listed = people.json("segment", "list")["segments"]
    assert [(s["name"], s["filter"]) for s in listed] == [("gl", {"field": "province_code", "eq": "91"})]
    text = people.ok("segment", "count", "gl").stdout
    assert text.startswith("gl: 2 citizens, 1 reachable by SMS (")


def test_segment_refusals(people, psql):
    bad = people.write_file("bad.json", '{"all":[{"field":"group","eq":"a"},{"field":"x","eq":1}]}')
    p = people.run("segment", "create", "s", "--filter", bad)
    assert p.returncode == 1
    assert "$.all[1].field: unknown field 'x'" in p.stderr
    assert psql("SELECT count(*) FROM segments") == [("0",)]
    p = people.run("segment", "count", "nope")
    assert p.returncode == 1 and "no segment named 'nope'" in p.stderr
    assert people.run("segment", "count").returncode == 2
    assert people.run("segment", "create", "s").returncode == 2


def nodes():
    """Every nasty value with every field and with every operator, as the value and as the field.

    Each (field, operator) pair takes two of the values, rotating, so every value meets every
    field and every operator without starting 3,675 processes; any input at all is the business
    of the libFuzzer target tests/fuzz/fuzz_filter.c."""
    n = len(NASTY)
    for i, field in enumerate(FIELDS):
        for j, op in enumerate(OPS):
            # Indices i+j and i+j+5: with 11 fields and 11 operators both sets cover all 15.
            for v in (NASTY[(i + j) % n], NASTY[(i + j + 5) % n]):
                yield {"field": field, op: v}
                yield {"field": field, op: [v, "x"]}
    for v in NASTY:
        yield {"field": v, "eq": "x"}
        yield {"field": "group", v: "x"}
        yield {v: [{"field": "group", "eq": "x"}]}


INJECTION_SHARDS = 4


# In shards, so that the test workers share its hundreds of processes.
@pytest.mark.volume
@pytest.mark.parametrize("shard", range(INJECTION_SHARDS))
def test_segment_filter_injection_is_refused_or_harmless(people, psql, shard):
    before = psql("SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM citizens c")
    tables = psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    refused = compiled = 0
    for node in itertools.islice(nodes(), shard, None, INJECTION_SHARDS):
        f = people.write_file("n.json", json.dumps(node))
        p = people.run("segment", "count", "--filter", f, "--json")
        assert p.returncode in (0, 1), (node, p.stderr)
        if p.returncode == 1:
            assert p.stderr.startswith(f"loa: {f}: $"), (node, p.stderr)
            assert "ERROR" not in p.stderr
            refused += 1
        else:
            out = json.loads(p.stdout)
            assert 0 <= out["count"] <= 4, node
            compiled += 1
    assert refused > 0 and compiled > 0
    assert psql("SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM citizens c") == before
    assert psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == tables
