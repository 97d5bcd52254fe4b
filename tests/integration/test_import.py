"""`loa import citizens` and `loa communes import` against a real database, with the broken
and awkward files of tests/data/import/ (generate.py writes the binary ones)."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "import"


@pytest.fixture
def corpus(loa):
    d = loa.dir / "corpus"
    subprocess.run([sys.executable, str(DATA / "generate.py"), str(d)], check=True)
    return d


def citizens(psql):
    return int(psql("SELECT count(*) FROM citizens")[0][0])


def snapshot(psql):
    return psql("SELECT id, full_name, phone, commune_code, province_code, gender, birth_date,"
                " group_code, language, bhxh_code, participation, voluntary_due_date,"
                " zalo_user_id, updated_at FROM citizens ORDER BY id")


def rejects_of(path):
    """The reject report's rows; it keeps the separator of the file it reports on."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        first = f.readline()
        f.seek(0)
        delim = ";" if first.count(";") > first.count(",") else ","
        return list(csv.DictReader(f, delimiter=delim))


def check_invariant(out):
    assert out["imported"] + out["updated"] + out["unchanged"] + out["rejected"] == out["rows"], out


REFUSED = [
    ("windows1258.csv", "is not UTF-8: line 2 has the byte 0x"),
    ("tcvn3.csv", "is not UTF-8: line 2 has the byte 0xD4 (Windows-1258, TCVN3"),
    ("mixed_too_many.csv", "is not UTF-8: line 20 has the byte 0x"),
    ("utf16le_bom.csv", "is UTF-16 (it starts with a UTF-16 byte-order mark)"),
    ("utf16le_nobom.csv", "looks like UTF-16 without a byte-order mark"),
    ("binary.csv", "is not a text file (a NUL byte at offset"),
    ("duplicate_headers.csv", "the header names phone twice (columns 2 and 4)"),
    ("no_header.csv", "no valid header row: the first line must name the columns (missing full_name, phone, commune_code"),
    ("empty.csv", "has no header row"),
]


@pytest.mark.parametrize("name,message", REFUSED)
def test_import_refuses_unreadable_file_and_changes_nothing(loa, psql, corpus, name, message):
    loa.ok("import", "citizens", corpus / "bom_crlf.csv")
    before = snapshot(psql)
    p = loa.run("import", "citizens", corpus / name, "--rejects", loa.dir / "rej.csv")
    assert p.returncode == 1, p.stdout + p.stderr
    assert message in p.stderr
    assert "nothing was imported" in p.stderr
    assert p.stdout == ""
    assert snapshot(psql) == before
    assert not (loa.dir / "rej.csv").exists()


# file, rows, imported, rejected, {line: reason fragment}
ACCEPTED = [
    ("header_only.csv", 0, 0, 0, {}),
    ("bom_crlf.csv", 3, 3, 0, {}),
    ("semicolons.csv", 3, 2, 1, {4: "phone: landline"}),
    ("vietnamese_headers.csv", 3, 3, 0, {}),
    ("unbalanced_quotes.csv", 4, 3, 1, {3: "unbalanced quote"}),
    ("big_field.csv", 3, 2, 1, {3: "row over 64 KB"}),
    ("mixed_rejects.csv", 10, 1, 9, {
        3: "duplicate of line 2", 4: "duplicate of line 2", 5: "duplicate of line 2",
        6: "phone: no phone",
        7: "phone: two numbers in one cell", 8: "phone: landline",
        9: "unknown commune_code '99999'",
        10: "province_code '91' does not match commune 23200 (in province 52)",
        11: "full_name is empty"}),
    ("mixed_utf8.csv", 40, 37, 3, {
        10: "invalid UTF-8 in full_name (column 1)", 25: "invalid UTF-8 in full_name (column 1)",
        33: "invalid UTF-8 in group (column 7)"}),
]


@pytest.mark.parametrize("name,rows,imported,rejected,reasons", ACCEPTED)
def test_import_keeps_good_rows_and_reports_bad_ones(loa, psql, corpus, name, rows, imported,
                                                     rejected, reasons):
    rej = loa.dir / "rej.csv"
    out = loa.json("import", "citizens", corpus / name, "--rejects", rej)
    check_invariant(out)
    assert (out["rows"], out["imported"], out["rejected"]) == (rows, imported, rejected), out
    assert citizens(psql) == imported
    got = rejects_of(rej)
    assert len(got) == rejected
    for r in got:
        line = int(r["line"])
        assert reasons[line] in r["reason"], (line, r["reason"])
    assert {int(r["line"]) for r in got} == set(reasons)


def test_import_mixed_encoding_rejects_bad_rows_by_line(loa, psql, corpus):
    """Without --rejects the bad rows are named on stderr; the report shows the bad bytes as
    U+FFFD and stays UTF-8; the good rows are stored as they were written."""
    p = loa.run("import", "citizens", corpus / "mixed_utf8.csv")
    assert p.returncode == 0, p.stderr
    assert "line 10 rejected: invalid UTF-8 in full_name (column 1)" in p.stderr
    assert "line 33 rejected: invalid UTF-8 in group (column 7)" in p.stderr
    assert citizens(psql) == 37
    assert psql("SELECT count(*) FROM citizens WHERE full_name = 'Ngô Văn Tư'") == [("0",)]
    assert psql("SELECT full_name FROM citizens WHERE phone = '84912000001'") == [
        ("Trần Văn An 1",)]
    rej = loa.dir / "rej.csv"
    loa.json("import", "citizens", corpus / "mixed_utf8.csv", "--rejects", rej)
    got = {int(r["line"]): r for r in rejects_of(rej)}
    assert got[10]["full_name"] == "L\ufffd Thu H\ufffd"
    assert got[33]["full_name"] == "Ngô Văn Tư"


def test_import_reads_vietnamese_headers_and_values(loa, psql, corpus):
    out = loa.json("import", "citizens", corpus / "vietnamese_headers.csv")
    assert out["ignored_columns"] == ["Ghi chú"]
    rows = psql("SELECT full_name, phone, commune_code, province_code, gender, birth_date,"
                " language, bhxh_code, participation, voluntary_due_date, zalo_user_id"
                " FROM citizens ORDER BY phone")
    assert rows == [
        ("Néang Sa Ri", "84352345678", "30308", "91", "female", "1992-11-11", "km", "", "", "", ""),
        ("Thạch Sa Rươne", "84912345678", "30300", "91", "male", "1985-03-12", "km", "9100000001",
         "voluntary", "2026-06-30", ""),
        ("Danh Sóc", "84982345678", "30304", "91", "male", "1970-01-01", "km", "9100000002",
         "none", "", "123456"),
    ]


def test_import_twice_changes_nothing(loa, psql, corpus):
    first = loa.json("import", "citizens", corpus / "vietnamese_headers.csv")
    assert first["imported"] == 3
    before = snapshot(psql)
    second = loa.json("import", "citizens", corpus / "vietnamese_headers.csv")
    assert (second["imported"], second["updated"], second["unchanged"]) == (0, 0, 3)
    assert snapshot(psql) == before   # updated_at included


def test_import_updates_changed_rows_only(loa, psql):
    head = "full_name,phone,commune_code,bhxh_code,group,participation\n"
    a = loa.write_file("a.csv", head + "Nguyễn Văn An,0912345678,23200,5200000001,farmer,none\n"
                                       "Trần Thị Bình,0981234567,23203,,student,\n")
    loa.ok("import", "citizens", a)
    stamp = psql("SELECT updated_at FROM citizens WHERE full_name = 'Trần Thị Bình'")
    # An's phone and group change (found by BHXH code); Bình's empty cells keep what is known.
    b = loa.write_file("b.csv", head + "Nguyễn Văn An,0351234567,23200,5200000001,fisher,none\n"
                                       "Trần Thị Bình,0981234567,23203,,,\n")
    out = loa.json("import", "citizens", b)
    assert (out["imported"], out["updated"], out["unchanged"]) == (0, 1, 1)
    assert psql("SELECT phone, carrier, group_code FROM citizens WHERE bhxh_code = '5200000001'") == \
        [("84351234567", "viettel", "fisher")]
    assert psql("SELECT group_code, updated_at FROM citizens WHERE full_name = 'Trần Thị Bình'") == \
        [("student", stamp[0][0])]


def test_import_attaches_a_later_bhxh_code(loa, psql):
    loa.ok("import", "citizens", loa.write_file("a.csv", "full_name,phone,commune_code\n"
                                                        "Lê Văn Cường,0912345678,23200\n"))
    out = loa.json("import", "citizens", loa.write_file(
        "b.csv", "full_name,phone,commune_code,bhxh_code\nLê Văn Cường,0912345678,23200,5200000009\n"))
    assert (out["imported"], out["updated"]) == (0, 1)
    assert psql("SELECT count(*), max(bhxh_code) FROM citizens") == [("1", "5200000009")]


def test_import_dry_run_saves_nothing(loa, psql, corpus):
    out = loa.json("import", "citizens", corpus / "mixed_rejects.csv", "--dry-run")
    assert out["dry_run"] is True and out["imported"] == 1
    assert citizens(psql) == 0


def test_import_opt_out_column(loa, psql):
    f = loa.write_file("o.csv", "full_name,phone,commune_code,opt_out\n"
                                "A Một,0912345671,23200,x\nB Hai,0912345672,23200,0\n"
                                "C Ba,0912345673,23200,có\nD Bốn,0912345674,23200,maybe\n")
    out = loa.json("import", "citizens", f)
    assert (out["imported"], out["rejected"], out["opted_out"]) == (3, 1, 2)
    assert psql("SELECT c.full_name, o.channel, o.source FROM opt_outs o JOIN citizens c"
                " ON c.id = o.citizen_id ORDER BY 1") == [("A Một", "all", "import"),
                                                          ("C Ba", "all", "import")]
    again = loa.json("import", "citizens", f)
    assert again["opted_out"] == 0


def test_import_rejects_file_quotes_fields(loa, corpus):
    rej = loa.dir / "rej.csv"
    loa.ok("import", "citizens", corpus / "semicolons.csv", "--rejects", rej)
    raw = rej.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(rej, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert rows[0] == ["full_name", "phone", "commune_code", "province_code", "gender", "line", "reason"]
    assert rows[1] == ["Lê Thị Cúc", "02693822123", "23206", "52", "nữ", "4", "phone: landline"]


def test_import_demo_data_round_trip(loa, psql):
    f = loa.dir / "demo.csv"
    loa.ok("demo-data", "--citizens", "3000", "--seed", "5", "--today", "2026-05-01", "--out", f)
    again = loa.dir / "demo2.csv"
    loa.ok("demo-data", "--citizens", "3000", "--seed", "5", "--today", "2026-05-01", "--out", again)
    assert f.read_bytes() == again.read_bytes()
    out = loa.json("import", "citizens", f)
    check_invariant(out)
    assert out["rows"] == 3000 and out["rejected"] == 0
    assert citizens(psql) == out["imported"]
    langs = dict(psql("SELECT language, count(*) FROM citizens GROUP BY 1"))
    assert {"vi", "km", "jra", "bdq"} <= set(langs)


def test_import_usage_and_missing_file(loa):
    assert loa.run("import", "citizens").returncode == 2
    p = loa.run("import", "citizens", loa.dir / "nope.csv")
    assert p.returncode == 1 and "No such file" in p.stderr


COMMUNES = ("commune_code,commune_name,province_code,province_name\n"
            "26734,Phường  Sài Gòn,79,Thành phố Hồ Chí Minh\n"
            "26737,Phường Tân Định,79,Thành phố Hồ Chí Minh\n"
            "23200,Phường Pleiku,52,Gia Lai\n"
            "bad code!,Xã X,79,Thành phố Hồ Chí Minh\n"
            "26740,,79,Thành phố Hồ Chí Minh\n"
            "26737,Phường Tân Định,79,Thành phố Hồ Chí Minh\n")


def test_communes_import_upserts_and_is_idempotent(loa, psql):
    f = loa.write_file("communes.csv", COMMUNES)
    rej = loa.dir / "rej.csv"
    out = loa.json("communes", "import", f, "--rejects", rej)
    check_invariant(out)
    assert (out["rows"], out["imported"], out["updated"], out["rejected"]) == (6, 2, 1, 3), out
    assert psql("SELECT name, province_code, synthetic FROM communes WHERE code = '26734'") == \
        [("Phường Sài Gòn", "79", "f")]
    assert psql("SELECT name FROM provinces WHERE code = '79'") == [("Thành phố Hồ Chí Minh",)]
    # The official list replaces the synthetic row of the same code.
    assert psql("SELECT synthetic FROM communes WHERE code = '23200'") == [("f",)]
    assert sorted(int(r["line"]) for r in rejects_of(rej)) == [5, 6, 7]
    again = loa.json("communes", "import", f)
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 3)


def schema_of_citizens(psql):
    idx = psql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'citizens' ORDER BY 1")
    fks = psql("SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint"
               " WHERE conrelid = 'citizens'::regclass AND contype = 'f' ORDER BY 1")
    trg = psql("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'citizens'::regclass"
               " AND NOT tgisinternal ORDER BY 1")
    return idx, fks, trg


def citizen_counts_are_true(psql):
    return psql("SELECT commune_code, group_code, n FROM citizen_counts WHERE n <> 0 ORDER BY 1, 2") == psql(
        "SELECT commune_code, coalesce(group_code, ''), count(*) FROM citizens GROUP BY 1, 2 ORDER BY 1, 2")


def test_import_bulk_load_rebuilds_indexes_and_keys(loa, psql):
    """A large first load drops the secondary indexes and foreign keys and rebuilds them in the
    same transaction; the table ends exactly as the migrations made it, keys validated, and a
    second import of the same file is no bulk load and changes nothing."""
    before = schema_of_citizens(psql)
    assert len(before[1]) == 4
    assert ("citizens_count_ins", "O") in before[2]
    f = loa.dir / "big.csv"
    loa.ok("demo-data", "--citizens", "60000", "--seed", "9", "--today", "2026-05-01", "--out", f)
    out = loa.json("import", "citizens", f)
    check_invariant(out)
    assert out["bulk"] is True
    assert out["imported"] + out["unchanged"] == 60000
    assert citizens(psql) == out["imported"]
    after = schema_of_citizens(psql)
    assert after == before
    assert all(v for _, _, v in after[1])
    # The load counts the citizens on file once, with its trigger off, and turns it on again.
    assert psql("SELECT sum(n) FROM citizen_counts") == [(str(out["imported"]),)]
    assert citizen_counts_are_true(psql)
    again = loa.json("import", "citizens", f)
    assert again["bulk"] is False
    assert again["imported"] == 0 and again["updated"] == 0
    assert again["unchanged"] == 60000
    assert schema_of_citizens(psql) == before
    # A citizen added after the load is counted by the trigger again.
    loa.ok("demo-data", "--citizens", "1", "--seed", "77", "--today", "2026-05-01", "--out", loa.dir / "one.csv")
    assert loa.json("import", "citizens", loa.dir / "one.csv")["imported"] == 1
    assert citizen_counts_are_true(psql)


def test_import_of_many_new_rows_into_a_filled_table_is_a_bulk_load(loa, psql):
    """50,000 new rows or more, and a quarter of the table, go in with the secondary indexes and
    keys dropped and rebuilt: only the new rows are inserted, each once, the schema ends as it
    began, and the citizens on file are counted right."""
    before = schema_of_citizens(psql)
    small, big = loa.dir / "small.csv", loa.dir / "big.csv"
    loa.ok("demo-data", "--citizens", "20000", "--seed", "5", "--today", "2026-05-01", "--out", small)
    loa.ok("demo-data", "--citizens", "60000", "--seed", "6", "--today", "2026-05-01", "--out", big)
    first = loa.json("import", "citizens", small)
    assert first["bulk"] is False
    out = loa.json("import", "citizens", big)
    check_invariant(out)
    assert out["bulk"] is True
    assert out["imported"] > 50000
    assert citizens(psql) == first["imported"] + out["imported"]
    assert schema_of_citizens(psql) == before
    assert citizen_counts_are_true(psql)
    again = loa.json("import", "citizens", big)
    assert again["bulk"] is False
    assert (again["imported"], again["updated"]) == (0, 0)
    assert citizens(psql) == first["imported"] + out["imported"]


def test_import_bulk_load_failure_leaves_the_schema_whole(loa, psql):
    """A bulk load that fails after the indexes were dropped rolls them back with the rows."""
    before = schema_of_citizens(psql)
    f = loa.dir / "big.csv"
    loa.ok("demo-data", "--citizens", "60000", "--seed", "3", "--today", "2026-05-01", "--out", f)
    # A commune removed behind the importer's back makes the rebuilt foreign key fail.
    psql("ALTER TABLE citizens DROP CONSTRAINT citizens_commune_code_fkey;"
         " INSERT INTO citizens (full_name, phone, commune_code, province_code)"
         " SELECT 'Ghost', '84900000001', 'XXXXX', province_code FROM communes LIMIT 1;"
         " ALTER TABLE citizens ADD CONSTRAINT citizens_commune_code_fkey FOREIGN KEY (commune_code)"
         " REFERENCES communes(code) NOT VALID;")
    p = loa.run("import", "citizens", f)
    assert p.returncode == 1, p.stderr
    assert "citizens_commune_code_fkey" in p.stderr
    assert citizens(psql) == 1
    idx, fks, trg = schema_of_citizens(psql)
    assert idx == before[0]
    assert [n for n, _, _ in fks] == [n for n, _, _ in before[1]]
    assert trg == before[2]


def test_import_same_phone_and_name_with_and_without_code_is_one_person(loa, psql):
    """A row without a BHXH code is matched to any citizen with its phone and name, so a row
    with a code repeating them is the same person: reported as a duplicate, in either order,
    and a second import changes nothing. Two rows with different codes may share both (a
    household phone, a father and son of the same name)."""
    f = loa.dir / "dup.csv"
    f.write_text(
        "full_name,phone,commune_code,bhxh_code\n"
        "Nguyễn Bích Châu,0323307587,23314,\n"
        "Nguyễn Bích Châu,0323307587,23314,9151599098\n"
        "Trần Văn Nam,0912000001,23314,7900000001\n"
        "Trần Văn Nam,0912000001,23314,\n"
        "Lê Văn Tư,0912000002,23314,7900000002\n"
        "Lê Văn Tư,0912000002,23314,7900000003\n", encoding="utf-8")
    rej = loa.dir / "dup-rejects.csv"
    out = loa.json("import", "citizens", f, "--rejects", rej)
    check_invariant(out)
    assert out["imported"] == 4 and out["rejected"] == 2, out
    reasons = {r["line"]: r["reason"] for r in rejects_of(rej)}
    assert reasons == {"3": "duplicate of line 2", "5": "duplicate of line 4"}, reasons
    again = loa.json("import", "citizens", f)
    assert again["imported"] == 0 and again["updated"] == 0 and again["unchanged"] == 4, again
