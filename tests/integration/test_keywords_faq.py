"""Replies read with the keyword table of the database and the FAQ bank: `loa keywords` and
`loa faq` against real PostgreSQL, and the daemon reading citizens' replies that come in
through real Kannel with the table as it is now (a keyword added while it runs counts at once),
never opting out a name or a "yes", and storing text that is not UTF-8 instead of failing."""

import urllib.parse

import pytest

from conftest import wait_for


def test_keywords_list_add_test_and_remove(loa):
    kws = loa.json("keywords", "list")["keywords"]
    assert len(kws) >= 100
    tc = [k for k in kws if k["text"] == "TC"]
    assert tc and tc[0]["intent"] == "opt_out" and tc[0]["match"] == "whole"
    assert {k["intent"] for k in kws} == {"opt_out", "opt_in", "register", "question", "feedback"}
    only = loa.json("keywords", "list", "--intent", "opt_in")["keywords"]
    assert only and all(k["intent"] == "opt_in" for k in only)
    for text, want in [("T C", "opt_out"), ("Huy", "other"), ("HUY", "opt_out"), ("Đúng", "other"),
                       ("TC có mất tiền không?", "question"), ("DK", "opt_in")]:
        assert loa.json("keywords", "test", text)["intent"] == want, text
    # A keyword of the office's own: "thôi" (enough) as a whole message, with its accents only.
    assert loa.json("keywords", "test", "Thôi")["intent"] == "other"
    added = loa.json("keywords", "add", "thôi", "--intent", "opt_out", "--note", "Gia Lai")
    assert added["added"] is True and added["accents"] == "exact"
    assert loa.json("keywords", "test", "Thôi ạ")["intent"] == "opt_out"
    assert loa.json("keywords", "test", "thoi")["intent"] == "other"
    again = loa.json("keywords", "add", "thôi", "--intent", "opt_out", "--accents", "any")
    assert again["added"] is False and again["id"] == added["id"]
    assert loa.json("keywords", "test", "thoi")["intent"] == "opt_out"
    assert loa.json("keywords", "remove", "thôi")["removed"] == 1
    assert loa.json("keywords", "test", "Thôi")["intent"] == "other"
    # Refusals: usage errors exit 2, a keyword that is not there 1.
    assert loa.run("keywords", "add", "thôi", "--intent", "stop").returncode == 2
    assert loa.run("keywords", "add", "thôi").returncode == 2
    assert loa.run("keywords", "add", "?!", "--intent", "opt_out").returncode == 2
    assert loa.run("keywords", "add", "x", "--intent", "opt_out", "--match", "near").returncode == 2
    p = loa.run("keywords", "remove", "không có")
    assert p.returncode == 1 and "no keyword" in p.stderr
    # Removal by id.
    k = loa.json("keywords", "add", "ngưng nhé", "--intent", "opt_out", "--match", "phrase")
    assert loa.json("keywords", "remove", str(k["id"]))["removed"] == 1
    text = loa.ok("keywords", "list").stdout
    assert "TC" in text and "ngưng nhé" not in text


def test_faq_add_import_list_match_and_remove(loa, psql):
    bank = loa.json("faq", "list")["faq"]
    assert len(bank) >= 20
    # The list shows the answers as written: the policy figures are placeholders.
    assert any("{{min_contribution_vnd}}" in q["answer"] for q in bank)
    m = loa.json("faq", "match", "muc dong bhxh tu nguyen thap nhat bao nhieu")
    assert m["confident"] is True and m["score"] >= 0.5 and "330.000" in m["answer"]
    m = loa.json("faq", "match", "Nhà tôi có con chó bị ốm")
    assert m["confident"] is False
    # import: a header, a comma inside quotes, an empty answer rejected with its line, and a
    # question already in the bank updated, not doubled.
    csv = loa.write_file("faq.csv",
                         "question,answer\n"
                         "\"Đóng BHXH cho con, cháu được không?\",\"Được, nếu người đó chưa tham gia BHXH bắt buộc.\"\n"
                         "Thẻ BHYT hết hạn thì gia hạn ở đâu?,\n"
                         "VssID là gì?,Ứng dụng BHXH số của BHXH Việt Nam.\n")
    r = loa.json("faq", "import", csv)
    assert (r["imported"], r["updated"], r["rejected"]) == (1, 1, 1)
    assert r["rejects"][0]["line"] == 3
    assert psql("SELECT answer FROM faq WHERE question = 'VssID là gì?'")[0][0] == \
        "Ứng dụng BHXH số của BHXH Việt Nam."
    m = loa.json("faq", "match", "dong bhxh cho con chau duoc khong")
    assert m["confident"] is True and m["question"].startswith("Đóng BHXH cho con")
    added = loa.json("faq", "add", "Giờ làm việc của BHXH huyện?", "Sáng 7h30-11h30, chiều 13h30-17h.")
    assert added["added"] is True
    assert loa.json("faq", "match", "BHXH huyện làm việc giờ nào")["id"] == added["id"]
    assert loa.json("faq", "remove", str(added["id"]))["removed"] == 1
    assert loa.json("faq", "remove", "VssID là gì?")["removed"] == 1
    assert loa.run("faq", "remove", "VssID là gì?").returncode == 1
    assert len(loa.json("faq", "list")["faq"]) == len(bank)
    # A file without the two columns is refused and changes nothing.
    bad = loa.write_file("bad.csv", "cau,tra\nx,y\n")
    p = loa.run("faq", "import", bad)
    assert p.returncode == 1 and "question,answer" in p.stderr
    assert loa.run("faq", "add", "chỉ câu hỏi").returncode == 2
    assert loa.run("faq", "add", "", "trả lời").returncode == 2


def test_faq_answers_follow_the_policies_table(loa, psql):
    """The starter answers quote the figures of the policies table, so a new decree (a new
    policies row) changes what citizens are told without touching the bank; an answer with a
    placeholder the bank cannot fill is refused, by `faq add` and by line in `faq import`."""
    m = loa.json("faq", "match", "Hộ nghèo được hỗ trợ bao nhiêu?")
    assert m["confident"] and m["answer"] == ("Người thuộc hộ nghèo được Nhà nước hỗ trợ 50% mức đóng theo chuẩn "
                                              "nghèo nông thôn: hỗ trợ 165.000 đ, còn tự đóng 165.000 đ/tháng.")
    # A decree from yesterday: a rural poverty line of 2,000,000 đ and 60% for the poor.
    psql("""UPDATE policies SET valid_to = current_date - 1 WHERE valid_to IS NULL;
            INSERT INTO policies (code, valid_from, poverty_line_vnd, contribution_pct, support_pct, label_vi, source)
            SELECT code, current_date - 1, 2000000, 22, CASE code WHEN 'poor' THEN 60 ELSE support_pct END,
                   label_vi, 'Nghị định mới' FROM policies WHERE valid_to = current_date - 1""")
    m = loa.json("faq", "match", "Hộ nghèo được hỗ trợ bao nhiêu?")
    assert "hỗ trợ 60%" in m["answer"] and "hỗ trợ 264.000 đ, còn tự đóng 176.000 đ/tháng" in m["answer"], m
    m = loa.json("faq", "match", "Mức đóng BHXH tự nguyện thấp nhất là bao nhiêu một tháng?")
    assert "22% thu nhập" in m["answer"] and "2.000.000 đ/tháng, tức 440.000 đ/tháng" in m["answer"], m
    m = loa.json("faq", "match", "Nhà nước hỗ trợ bao nhiêu phần trăm tiền đóng BHXH tự nguyện?")
    assert "(Nghị định mới)" in m["answer"] and "hộ nghèo 60%" in m["answer"], m
    # An officer's placeholder must be one the bank fills: refused whole by add, by line by import.
    p = loa.run("faq", "add", "Mức đóng của tôi?", "Bạn đóng {{muc_dong}} mỗi tháng.")
    assert p.returncode == 1 and "{{muc_dong}}" in p.stderr and "{{min_contribution_vnd}}" in p.stderr
    assert psql("SELECT count(*) FROM faq WHERE question = 'Mức đóng của tôi?'") == [("0",)]
    ok = loa.json("faq", "add", "Cận nghèo đóng bao nhiêu?", "Bạn tự đóng từ {{own_vnd:near_poor}}/tháng, {{name}}.")
    assert ok["added"] is True
    csv = loa.write_file("faq.csv", "question,answer\n"
                         "Hộ nghèo tự đóng bao nhiêu?,Từ {{own_vnd:poor}}/tháng.\n"
                         "Sai chỗ?,Bạn đóng {{support_pct:giau}}%.\n")
    r = loa.json("faq", "import", csv)
    assert (r["imported"], r["rejected"]) == (1, 1) and r["rejects"][0]["line"] == 3, r
    assert "{{support_pct:giau}}" in r["rejects"][0]["reason"]
    m = loa.json("faq", "match", "Hộ nghèo tự đóng bao nhiêu?")
    assert m["answer"] == "Từ 176.000 đ/tháng.", m


def seed(psql, n):
    rows = psql(f"""
        INSERT INTO citizens (full_name, phone, commune_code, province_code)
        SELECT 'Trần Văn ' || i, '849140' || lpad(i::text, 5, '0'), '23200', '52'
          FROM generate_series(1, {int(n)}) i RETURNING phone""")
    return [r[0] for r in rows]


def intent_of(psql, phone, body):
    rows = psql("SELECT intent FROM replies WHERE from_addr = :'p' AND body = :'b'", p=phone, b=body)
    return rows[0][0] if rows else None


@pytest.mark.plain_only
def test_daemon_reads_replies_with_the_table_and_never_opts_out_a_name(loa, kannel, daemon, psql):
    phones = seed(psql, 8)
    replies = [("Đúng", "other"), ("Dũng", "other"), ("Huy đây", "other"), ("dung", "other"),
               ("Cảm ơn", "feedback"), ("TC có mất tiền không?", "question"),
               ("huỷ", "opt_out"), ("tuwf choois", "opt_out")]
    for phone, (text, _) in zip(phones, replies):
        kannel.send_mo(phone, text)
    for phone, (text, want) in zip(phones, replies):
        wait_for(lambda: intent_of(psql, phone, text) is not None, what=f"the reply {text!r}")
        assert intent_of(psql, phone, text) == want, text
    opted = {r[0] for r in psql("SELECT c.phone FROM opt_outs o JOIN citizens c ON c.id = o.citizen_id")}
    assert opted == {phones[6], phones[7]}
    # A keyword added while the daemon runs reads the next reply (NOTIFY loa_keywords).
    loa.ok("keywords", "add", "thôi", "--intent", "opt_out")
    kannel.send_mo(phones[0], "Thôi")
    wait_for(lambda: intent_of(psql, phones[0], "Thôi") is not None, what="the reply 'Thôi'")
    assert intent_of(psql, phones[0], "Thôi") == "opt_out"
    # DK lifts what a reply opted out.
    kannel.send_mo(phones[6], "DK")
    wait_for(lambda: intent_of(psql, phones[6], "DK") is not None, what="the reply 'DK'")
    assert intent_of(psql, phones[6], "DK") == "opt_in"
    opted = {r[0] for r in psql("SELECT c.phone FROM opt_outs o JOIN citizens c ON c.id = o.citizen_id")}
    assert opted == {phones[0], phones[7]}


def test_kannel_mo_that_is_not_utf8_is_stored_escaped_not_refused(loa, kannel, daemon, psql):
    phones = seed(psql, 1)
    # Windows-1258 "TC nhé" and a stray byte: percent-encoded bytes that are not UTF-8.
    q = "from={}&to=8077&text=TC%20nh%E9%FF&id=bad1&token={}".format(phones[0], kannel.hook_secret)
    status, body = daemon.get(f"/hooks/kannel/kannel/mo?{q}")
    assert (status, body) == (200, "")
    rows = psql("SELECT body, intent FROM replies WHERE external_id = 'bad1'")
    assert rows == [("TC nh\\xE9\\xFF", "other")]
    # A retry of the same message by the gateway is not a second reply.
    assert daemon.get(f"/hooks/kannel/kannel/mo?{q}")[0] == 200
    assert psql("SELECT count(*) FROM replies WHERE external_id = 'bad1'")[0][0] == "1"
    ok = urllib.parse.urlencode({"from": phones[0], "to": "8077", "text": "Từ chối", "id": "good1",
                                 "token": kannel.hook_secret})
    assert daemon.get(f"/hooks/kannel/kannel/mo?{ok}")[0] == 200
    assert psql("SELECT body, intent FROM replies WHERE external_id = 'good1'") == [("Từ chối", "opt_out")]
