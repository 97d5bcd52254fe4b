"""`loa report`: the supervisors' report from a seeded database, as CSV (read back) and XLSX
(a valid workbook with the expected sheets, bold headers and Vietnamese text)."""

import csv
import re
import zipfile

import pytest


def seed(psql):
    """Two campaigns in 2025 and one in 2024; citizens in two communes and two groups, and a
    third commune with citizens nobody messaged."""
    psql("""
        INSERT INTO segments (name, filter) VALUES ('gl', '{"field":"province_code","eq":"52"}');
        INSERT INTO templates (name, channel) VALUES ('t_sms', 'sms'), ('t_zns', 'zns');
        INSERT INTO template_variants SELECT id, 'vi', 'Kính gửi {{full_name}}.' FROM templates WHERE name = 't_sms';
        INSERT INTO template_variants SELECT id, 'vi', '{"name": "full_name"}' FROM templates WHERE name = 't_zns';
        INSERT INTO citizens (full_name, phone, commune_code, province_code, group_code)
        SELECT 'Trần Thị ' || i, '8498800' || lpad(i::text, 4, '0'),
               CASE WHEN i <= 6 THEN '23200' WHEN i <= 10 THEN '23203' ELSE '23206' END, '52',
               CASE WHEN i % 2 = 0 THEN 'farmer' ELSE 'student' END
          FROM generate_series(1, 12) i;
    """)
    ids = {int(r[1]): int(r[0]) for r in psql(
        "SELECT id, substr(full_name, 9)::int FROM citizens ORDER BY id")}
    return ids


def campaign(loa, psql, name, started):
    cid = loa.json("campaign", "create", name, "--segment", "gl", "--channels",
                   "zalo:t_zns,sms:t_sms")["id"]
    # Along the lifecycle, as the CLI and the daemon would: the database refuses draft → completed.
    for status in ("scheduled", "running"):
        psql(f"UPDATE campaigns SET status = '{status}' WHERE id = {cid}")
    psql(f"UPDATE campaigns SET status = 'completed', started_at = '{started}' WHERE id = {cid}")
    return cid


def messages(psql, cid, rows):
    values = ",".join(f"({cid},{c},{s},'{ch}','{st}',{p},{cost})" for c, s, ch, st, p, cost in rows)
    psql("INSERT INTO messages (campaign_id, citizen_id, step, channel, state, parts, cost_vnd)"
         f" VALUES {values}")


@pytest.fixture
def seeded(loa, psql):
    ids = seed(psql)
    may = campaign(loa, psql, "Tháng vận động 2025", "2025-05-02 01:00+00")
    tet = campaign(loa, psql, "Tết 2025", "2025-12-31 20:00+00")   # 1 Jan 2026 in Vietnam
    old = campaign(loa, psql, 'Cũ, "2024"', "2024-05-01 01:00+00")   # quoting
    # may: citizens 1..6 (commune 23200) and 7..10 (23203)
    rows = []
    for i in range(1, 11):
        c = ids[i]
        if i in (1, 2, 7):
            rows.append((c, 0, "zalo", "delivered", 0, 300))
        else:
            rows.append((c, 0, "zalo", "fallback", 0, 0))
            st = {3: "delivered", 4: "undelivered", 5: "failed", 6: "pending",
                  8: "delivered", 9: "in_doubt", 10: "suppressed"}[i]
            sent = st in ("delivered", "undelivered", "in_doubt")
            rows.append((c, 1, "sms", st, 2 if sent else 0, 700 if sent else 0))
    messages(psql, may, rows)
    messages(psql, tet, [(ids[1], 0, "sms", "delivered", 1, 350)])
    messages(psql, old, [(ids[i], 0, "sms", "delivered", 1, 350) for i in range(1, 13)])
    psql(f"""INSERT INTO replies (channel, gateway, from_addr, citizen_id, campaign_id, body, intent)
             VALUES ('sms', 'kannel', '84988000003', {ids[3]}, {may}, 'TC', 'opt_out'),
                    ('sms', 'kannel', '84988000005', {ids[5]}, {may}, 'Hỏi mức đóng', 'question'),
                    ('sms', 'kannel', '84988000001', {ids[1]}, {old}, 'TC', 'opt_out')""")
    return {"may": may, "tet": tet, "old": old, "ids": ids}


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_report_csv_reads_back(loa, psql, seeded):
    out = loa.dir / "bao-cao-2025.csv"
    res = loa.json("report", "--from", "2025-01-01", "--to", "2025-12-31", "--format", "csv",
                   "--out", out, "--csv-header", "codes")
    assert res["campaigns"] == 1          # "Tết 2025" started on 1 January 2026 in Vietnam
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = read_csv(out)
    assert {r["campaign"] for r in rows} == {"Tháng vận động 2025"}
    key = {(r["commune_code"], r["group_code"], r["channel"]): r for r in rows}
    # 23200 students are citizens 1 3 5: zalo 1 delivered; 3 and 5 fell back to sms
    r = key[("23200", "student", "zalo")]
    assert (r["targeted"], r["sent"], r["delivered"], r["fallback"], r["cost_vnd"]) == \
        ("1", "1", "1", "2", "300")
    assert r["commune"] == "Phường Pleiku" and r["province"] == "Gia Lai"
    assert r["group"] == "Học sinh, sinh viên"
    r = key[("23200", "student", "sms")]
    assert (r["targeted"], r["sent"], r["delivered"], r["failed"], r["sms_parts"],
            r["replies"], r["opted_out"], r["cost_vnd"]) == ("2", "1", "1", "1", "2", "2", "1", "700")
    r = key[("23200", "farmer", "sms")]   # 4 undelivered, 6 pending
    assert (r["targeted"], r["sent"], r["delivered"], r["failed"], r["cost_vnd"]) == \
        ("2", "1", "0", "1", "700")
    r = key[("23203", "student", "sms")]  # 9 in_doubt
    assert (r["targeted"], r["sent"], r["failed"]) == ("1", "1", "0")
    r = key[("23203", "farmer", "sms")]   # 8 delivered, 10 suppressed
    assert (r["targeted"], r["sent"], r["delivered"]) == ("2", "1", "1")
    # Channels add up to the citizens targeted, and the cost to the campaign's.
    assert sum(int(r["targeted"]) for r in rows) == 10
    show = loa.json("campaign", "show", str(seeded["may"]))
    assert sum(int(r["cost_vnd"]) for r in rows) == show["cost_vnd"]
    assert sum(int(r["delivered"]) for r in rows) == show["outcomes"]["delivered"]

    communes = read_csv(res["communes_out"])
    assert res["communes_out"].endswith("bao-cao-2025-communes.csv")
    by = {r["commune_code"]: r for r in communes}
    assert set(by) == {"23200", "23203", "23206"}
    assert (by["23200"]["citizens"], by["23200"]["targeted"], by["23200"]["reached"],
            by["23200"]["reach_pct"]) == ("6", "6", "3", "50.0")
    assert (by["23203"]["targeted"], by["23203"]["reached"], by["23203"]["reach_pct"]) == ("4", "2", "50.0")
    assert (by["23206"]["targeted"], by["23206"]["reached"], by["23206"]["reach_pct"]) == ("0", "0", "0.0")
    assert by["23200"]["meets_target"] == ""


def test_report_period_and_target(loa, psql, seeded):
    out = loa.dir / "r.csv"
    loa.ok("report", "--from", "2024-01-01", "--to", "2026-01-31", "--format", "csv", "--out", out,
           "--target", "60", "--csv-header", "codes")
    rows = read_csv(out)
    assert {r["campaign"] for r in rows} == {"Tháng vận động 2025", "Tết 2025", 'Cũ, "2024"'}
    old = [r for r in rows if r["campaign"] == 'Cũ, "2024"']
    assert sum(int(r["delivered"]) for r in old) == 12
    assert sum(int(r["opted_out"]) for r in old) == 1
    by = {r["commune_code"]: r for r in read_csv(loa.dir / "r-communes.csv")}
    # every citizen reached by "old": 100% everywhere
    assert all(r["reach_pct"] == "100.0" and r["meets_target"] == "yes" for r in by.values())
    loa.ok("report", "--from", "2025-01-01", "--to", "2025-12-31", "--format", "csv", "--out", out,
           "--target", "50", "--csv-header", "codes")
    by = {r["commune_code"]: r["meets_target"] for r in read_csv(loa.dir / "r-communes.csv")}
    assert by == {"23200": "yes", "23203": "yes", "23206": "no"}
    # A period with nothing: headers only.
    loa.ok("report", "--from", "2020-01-01", "--to", "2020-12-31", "--format", "csv", "--out", out)
    assert read_csv(out) == []


def test_report_xlsx_is_a_workbook_with_the_sheets(loa, psql, seeded):
    out = loa.dir / "bao-cao.xlsx"
    p = loa.ok("report", "--from", "2025-01-01", "--to", "2025-12-31", "--format", "xlsx", "--out", out)
    assert str(out) in p.stdout
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        workbook = z.read("xl/workbook.xml").decode("utf-8")
        sheets = re.findall(r'<sheet name="([^"]+)"', workbook)
        assert sheets == ["Chiến dịch", "Xã phường", "Nhóm đối tượng", "Kênh", "Phản hồi",
                          "Độ bao phủ", "Chuyển đổi", "Tổng hợp"]
        strings = z.read("xl/sharedStrings.xml").decode("utf-8")
        for s in ("Số đối tượng", "Tháng vận động 2025", "Phường Pleiku", "Tỷ lệ tiếp cận (%)"):
            assert s in strings
        assert "Tết 2025" not in strings
        styles = z.read("xl/styles.xml").decode("utf-8")
        assert "<b/>" in styles
        sheet1 = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
        # header and one row per (commune, group, channel) with messages
        assert len(re.findall(r"<row ", sheet1)) == 1 + 8


def test_report_bad_usage(loa, psql):
    out = loa.dir / "x.csv"
    for args in (["--from", "2025-01-01", "--to", "2025-12-31", "--format", "pdf", "--out", out],
                 ["--from", "2025-12-31", "--to", "2025-01-01", "--format", "csv", "--out", out],
                 ["--from", "2025-1-1", "--to", "2025-12-31", "--format", "csv", "--out", out],
                 ["--to", "2025-12-31", "--format", "csv", "--out", out],
                 ["--from", "2025-01-01", "--to", "2025-12-31", "--format", "csv"],
                 ["--from", "2025-01-01", "--to", "2025-12-31", "--format", "csv", "--out", out,
                  "--target", "120"]):
        p = loa.run("report", *args)
        assert p.returncode == 2, (args, p.stderr)
    assert not out.exists()
    p = loa.run("report", "--from", "2025-01-01", "--to", "2025-12-31", "--format", "csv",
                "--out", loa.dir / "no" / "such" / "dir.csv")
    assert p.returncode == 1 and "cannot write" in p.stderr


def sheet_rows(z, n):
    """The rows of sheet N of an open workbook as lists of values (numbers as float)."""
    strings = [re.sub(r"<[^>]+>", "", si) for si in
               re.findall(r"<si>(.*?)</si>", z.read("xl/sharedStrings.xml").decode("utf-8"), re.S)]
    rows = []
    for row in re.findall(r"<row [^>]*>(.*?)</row>", z.read(f"xl/worksheets/sheet{n}.xml").decode("utf-8"), re.S):
        vals = []
        for attrs, v in re.findall(r"<c ([^>]*)>(?:<v>([^<]*)</v>)?</c>", row):
            vals.append(strings[int(v)] if 't="s"' in attrs else float(v))
        rows.append(vals)
    return rows


def delivered_and_joined(loa, psql, targets=True):
    """The May campaign's deliveries on 3 May 2025; of the citizens it reached, one joins a week
    later and another after 121 days; with TARGETS, the 2025 targets of the two communes."""
    psql("UPDATE messages SET final_at = '2025-05-03 10:00+07' WHERE state = 'delivered'")
    if targets:
        loa.ok("targets", "import", loa.write_file("t.csv", "year,commune_code,population,target_pct\n"
                                                    "2025,23200,10,30\n2025,23203,10,50\n"))
    reached = [r[0] for r in psql("SELECT DISTINCT m.citizen_id FROM messages m JOIN campaigns c"
                                  " ON c.id = m.campaign_id WHERE m.state = 'delivered'"
                                  " AND c.name = 'Tháng vận động 2025' ORDER BY 1 LIMIT 2")]
    psql(f"""INSERT INTO participation_changes (citizen_id, changed_at, old_value, new_value) VALUES
             ({reached[0]}, '2025-05-10', 'none', 'voluntary'), ({reached[1]}, '2025-09-01', 'none', 'voluntary')""")


def test_report_year_has_groups_channels_replies_and_coverage(loa, psql, seeded):
    """`--year` is the calendar year; the sheets added for the yearly report hold numbers, with
    the figures of `campaign show` per channel and the targets against citizens reached."""
    # One citizen reached on 3 May joins a week later; another only after 90 days.
    delivered_and_joined(loa, psql)
    out = loa.dir / "nam.xlsx"
    loa.ok("report", "--year", "2025", "--format", "xlsx", "--out", out)
    show = loa.json("campaign", "show", "Tháng vận động 2025")
    with zipfile.ZipFile(out) as z:
        channels = {r[0]: r for r in sheet_rows(z, 4)[1:]}
        for ch in ("zalo", "sms"):
            b = show["by_channel"][ch]
            assert channels[ch][1:5] == [b["sent"], b["delivered"], b["failed"], b["fallback"]], ch
        assert channels["sms"][5] == show["by_channel"]["sms"]["parts"]
        groups = sheet_rows(z, 3)
        assert groups[0][:2] == ["Mã nhóm", "Nhóm đối tượng"]
        assert sum(r[3] for r in groups[1:]) == sum(b["delivered"] for b in show["by_channel"].values())
        coverage = {r[2]: r for r in sheet_rows(z, 6)[1:]}
        delivered_by_commune = dict(psql("""SELECT c.commune_code, count(DISTINCT m.citizen_id)
            FROM messages m JOIN citizens c ON c.id = m.citizen_id
            WHERE m.state = 'delivered' AND m.final_at >= '2025-01-01' GROUP BY 1"""))
        for code, target in (("23200", 30), ("23203", 50)):
            row = coverage[code]
            reached = int(delivered_by_commune.get(code, 0))
            assert row[0] == 2025 and row[4] == 10 and row[5] == target and row[6] == reached
            assert row[8] == ("Đạt" if 100 * reached / 10 >= target else "Dưới chỉ tiêu")
        assert sheet_rows(z, 5)[0][3] == "Loại phản hồi"
        conversions = sheet_rows(z, 7)
        assert conversions[0][6].startswith("Số người tham gia") and len(conversions) == 2
        assert conversions[1][6] == 1
        styles = z.read("xl/styles.xml").decode("utf-8")
        assert 'formatCode="#,##0"' in styles
    p = loa.run("report", "--year", "25", "--format", "xlsx", "--out", out)
    assert p.returncode == 2 and "--year" in p.stderr


def test_report_csv_has_every_sheet_with_vietnamese_headers_and_the_conversion_window(loa, psql, seeded):
    """`--format csv` writes one file per sheet of the workbook, headed as the workbook is, with
    the same rows; `--csv-header codes` gives scripts the columns' codes. The conversions' window
    is [report] conversion_days (90): one of the two citizens who joined did so after 121 days."""
    delivered_and_joined(loa, psql, targets=False)
    xlsx, out = loa.dir / "nam.xlsx", loa.dir / "nam.csv"
    loa.ok("report", "--year", "2025", "--format", "xlsx", "--out", xlsx)
    res = loa.json("report", "--year", "2025", "--format", "csv", "--out", out)
    suffixes = ["", "-communes", "-groups", "-channels", "-replies", "-coverage", "-conversions", "-summary"]
    assert res["files"] == [str(loa.dir / f"nam{s}.csv") for s in suffixes]
    assert res["communes_out"] == str(loa.dir / "nam-communes.csv")
    with zipfile.ZipFile(xlsx) as z:
        for n, path in enumerate(res["files"][:7], start=1):
            with open(path, newline="", encoding="utf-8-sig") as f:
                rows = list(csv.reader(f))
            sheet = sheet_rows(z, n)
            assert rows[0] == sheet[0], path          # the same Vietnamese headers
            assert len(rows) == len(sheet), path      # and the same rows
    with open(res["files"][6], newline="", encoding="utf-8-sig") as f:
        conv = list(csv.reader(f))
    assert conv[0][6] == "Số người tham gia BHXH trong 90 ngày" and [r[6] for r in conv[1:]] == ["1"]
    with open(res["files"][7], newline="", encoding="utf-8-sig") as f:
        summary = dict(csv.reader(f))
    show = loa.json("campaign", "show", "Tháng vận động 2025")
    assert summary["Từ ngày"] == "2025-01-01" and summary["Chi phí (VND)"] == str(show["cost_vnd"])
    # A longer window counts the September joiner too; codes for scripts.
    loa.set("report", "conversion_days", "150")
    res = loa.json("report", "--year", "2025", "--format", "csv", "--out", out, "--csv-header", "codes")
    by = read_csv(res["files"][6])
    assert list(by[0])[6] == "converted" and sum(int(r["converted"]) for r in by) == 2
    assert dict((r["figure"], r["value"]) for r in read_csv(res["files"][7]))["campaigns"] == "1"
    p = loa.run("report", "--year", "2025", "--format", "csv", "--out", out, "--csv-header", "english")
    assert p.returncode == 2 and "--csv-header" in p.stderr


def test_archiving_the_campaigns_changes_no_figure_of_the_report(loa, psql, seeded):
    """The yearly report is made in January, after the year's campaigns may have been archived:
    every table reads their messages where they are (messages_all), so each CSV file is the same
    before and after `loa campaign archive`."""
    delivered_and_joined(loa, psql)

    def tables(name):
        res = loa.json("report", "--year", "2025", "--format", "csv", "--out", loa.dir / name)
        out = {}
        for path in res["files"]:
            with open(path, newline="", encoding="utf-8-sig") as f:
                rows = list(csv.reader(f))
            out[path.rsplit("/", 1)[1][len(name) - 4:]] = rows
        return out

    before = tables("a.csv")
    # Something to lose in every table that reads messages.
    assert len(before[".csv"]) > 1 and len(before["-groups.csv"]) > 1 and len(before["-channels.csv"]) > 1
    assert [r[6] for r in before["-coverage.csv"][1:]] != ["0", "0"]
    assert [r[6] for r in before["-conversions.csv"][1:]] == ["1"]
    for key in ("may", "tet", "old"):
        loa.ok("campaign", "archive", str(seeded[key]))
    assert psql("SELECT count(*) FROM messages")[0][0] == "0"
    after = tables("b.csv")
    assert after == before
