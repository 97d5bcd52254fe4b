"""{{opt_out_hint}} in the language of each variant, from the table opt_out_hints
(sql/009_opt_out_hints.sql), rendered by `loa template preview` and sent through Kannel."""
from conftest import show, wait_for


def citizens(psql):
    rows = psql("""
        INSERT INTO citizens (full_name, phone, commune_code, province_code, gender, birth_date,
                              language)
        VALUES ('Thạch Sô Phol', '84912000001', '23200', '52', 'male', '1970-01-01', 'km'),
               ('Rơ Mah Thuận', '84912000002', '23200', '52', 'male', '1975-01-01', 'jra'),
               ('Nguyễn Văn An', '84912000003', '23200', '52', 'male', '1980-01-01', 'vi')
        RETURNING id, language""")
    return {lang: i for i, lang in rows}


def templates(loa):
    vi = loa.write_file("vi.txt", "{{salutation}} {{given_name}}, BHXH nhắc đóng. {{opt_out_hint}}")
    km = loa.write_file("km.txt", "ជម្រាបសួរ {{given_name}}. {{opt_out_hint}}")
    jra = loa.write_file("jra.txt", "Rơ Mah {{given_name}}: BHXH. {{opt_out_hint}}")
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", vi)
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", km, "--lang", "km")
    loa.ok("template", "create", "nhac", "--channel", "sms", "--file", jra, "--lang", "jra")


def preview(loa, citizen):
    return loa.json("template", "preview", "nhac", "--citizen", str(citizen))["sample"]


def test_template_km_variant_renders_the_km_hint(loa, psql):
    ids = citizens(psql)
    templates(loa)
    km = preview(loa, ids["km"])
    assert km["text"] == "ជម្រាបសួរ Phol. ផ្ញើ TC ទៅ 8077 ដើម្បីឈប់ទទួលសារ", km
    assert km["language"] == "km" and km["encoding"] == "ucs2", km
    assert preview(loa, ids["vi"])["text"].endswith(". Soạn TC gửi 8077 để từ chối")
    # jra ships with the Vietnamese stand-in, marked provisional until the province replaces it.
    assert preview(loa, ids["jra"])["text"] == "Rơ Mah Thuận: BHXH. Soạn TC gửi 8077 để từ chối"
    assert psql("SELECT language FROM opt_out_hints WHERE provisional ORDER BY 1") == [
        ("bdq",), ("jra",)]


def test_template_hint_an_officer_edits_is_used_and_a_bad_one_refused(loa, psql):
    ids = citizens(psql)
    templates(loa)
    loa.sections["policy"]["opt_out_keyword"] = "TUCHOI"
    psql("UPDATE opt_out_hints SET hint = 'Kơ {{opt_out_keyword}} {{opt_out_number}}',"
         " provisional = false WHERE language = 'jra'")
    assert preview(loa, ids["jra"])["text"] == "Rơ Mah Thuận: BHXH. Kơ TUCHOI 8077"
    assert preview(loa, ids["km"])["text"].endswith("ផ្ញើ TUCHOI ទៅ 8077 ដើម្បីឈប់ទទួលសារ")
    # Without a jra row the vi one is used.
    psql("DELETE FROM opt_out_hints WHERE language = 'jra'")
    assert preview(loa, ids["jra"])["text"].endswith("BHXH. Soạn TUCHOI gửi 8077 để từ chối")
    psql("UPDATE opt_out_hints SET hint = 'Soạn {{tu_khoa}}' WHERE language = 'km'")
    p = loa.run("template", "preview", "nhac", "--citizen", str(ids["km"]))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "variant km: its opt-out hint (table opt_out_hints) does not compile: unknown " \
           "placeholder 'tu_khoa'" in p.stderr


def test_template_hint_reaches_each_citizen_in_their_language_through_kannel(loa, kannel, daemon,
                                                                            psql):
    citizens(psql)
    templates(loa)
    psql("INSERT INTO segments (name, filter) VALUES ('all', '{\"all\":[]}')")
    loa.ok("campaign", "create", "hint", "--segment", "all", "--channels", "sms:nhac")
    loa.ok("campaign", "start", "hint")
    wait_for(lambda: show(loa, "hint")["status"] == "completed", timeout=120,
             what="the campaign to complete")
    got = {m["to"]: m["text"] for m in kannel.wait_messages(3)}
    assert got["84912000001"] == "ជម្រាបសួរ Phol. ផ្ញើ TC ទៅ 8077 ដើម្បីឈប់ទទួលសារ", got
    assert got["84912000002"] == "Rơ Mah Thuận: BHXH. Soạn TC gửi 8077 để từ chối"
    assert got["84912000003"].endswith(". Soạn TC gửi 8077 để từ chối")


def test_hints_list_shows_the_stand_ins_and_set_replaces_one(loa, psql):
    ids = citizens(psql)
    templates(loa)
    hints = {h["language"]: h for h in loa.json("hints", "list")["hints"]}
    assert hints["jra"]["provisional"] is True and hints["vi"]["provisional"] is False
    assert hints["km"]["hint"] == "ផ្ញើ {{opt_out_keyword}} ទៅ {{opt_out_number}} ដើម្បីឈប់ទទួលសារ"
    text = loa.ok("hints", "list").stdout
    assert "jra" in text and "provisional" in text
    # The province writes the Jrai sentence: no longer provisional, and the variant renders it.
    out = loa.json("hints", "set", "jra", "Pơkra {{opt_out_keyword}} nao {{opt_out_number}}", "--note", "tỉnh Gia Lai")
    assert out == {"language": "jra", "hint": "Pơkra {{opt_out_keyword}} nao {{opt_out_number}}",
                   "provisional": False, "added": False}
    assert preview(loa, ids["jra"])["text"] == "Rơ Mah Thuận: BHXH. Pơkra TC nao 8077"
    assert psql("SELECT provisional, note FROM opt_out_hints WHERE language = 'jra'") == [("f", "tỉnh Gia Lai")]
    # Refused before any campaign meets them: an unknown placeholder, the hint itself, too long,
    # a language that does not exist. Nothing changes.
    p = loa.run("hints", "set", "km", "Soạn {{tu_khoa}}")
    assert p.returncode == 1 and "unknown placeholder 'tu_khoa'" in p.stderr, p.stderr
    assert loa.run("hints", "set", "km", "x {{opt_out_hint}}").returncode == 2
    assert loa.run("hints", "set", "km", "x" * 161).returncode == 2
    p = loa.run("hints", "set", "xx", "Soạn TC")
    assert p.returncode == 1 and "no language 'xx'" in p.stderr
    assert loa.run("hints", "set", "km").returncode == 2
    assert preview(loa, ids["km"])["text"] == "ជម្រាបសួរ Phol. ផ្ញើ TC ទៅ 8077 ដើម្បីឈប់ទទួលសារ"
