"""`--json` on every command that prints a result: the test walks the command table (`loa help
--json`), runs each command with --json on a small database, and checks it exits 0 with one JSON
object on stdout whose values are the command's figures: a command that only reads is run again
without --json and its human output compared with the JSON, key by key; a command that changes
something is compared with the database it changed. A command added to the table without a
sample run here fails the test."""

import hashlib
import json
import re
from pathlib import Path

import pytest

# Commands that print no result of their own.
NO_RESULT = {"serve"}


class Run:
    """One sample: the command's words and arguments (a callable is called just before the run).
    CHECK(out) compares the JSON with the database; for a command that only reads (HUMAN), it is
    CHECK(out, text) with the human output of the same command run right after. BEFORE is called
    before the run."""

    def __init__(self, words, *args, check, human=False, before=None):
        self.words, self.args, self.check, self.human, self.before = words, args, check, human, before


def lines(text):
    return [ln for ln in text.splitlines() if ln.strip()]


def table(text):
    """A table printed with a header line: its rows as lists of cells split on blanks."""
    return [ln.split() for ln in lines(text)[1:]]


def one(psql, sql, **v):
    rows = psql(sql, **v)
    assert len(rows) == 1, (sql, rows)
    return rows[0][0] if len(rows[0]) == 1 else rows[0]


def ival(psql, sql, **v):
    return int(one(psql, sql, **v))


def check_show(out, text):
    """`campaign show`: every figure of the human report against the JSON."""
    assert re.search(rf"^campaign {out['id']} '{re.escape(out['name'])}'\s+status {out['status']}$", text, re.M)
    assert re.search(rf"^\s+segment\s+{out['segment']}$", text, re.M)
    figures = dict(re.findall(r"^\s+(targeted|[a-z_]+)\s+(\d+)$", text, re.M))
    assert int(figures.pop("targeted")) == out["targeted"]
    assert {k: int(v) for k, v in figures.items()} == out["outcomes"]
    rows = {r[0]: r[1:] for r in table(text.split("  channel ")[1])[:2]}
    for ch, b in out["by_channel"].items():
        sent, delivered, failed, fallback, parts, cost = rows[ch]
        assert [int(sent), int(delivered), int(failed), int(fallback), int(cost)] == \
            [b["sent"], b["delivered"], b["failed"], b["fallback"], b["cost_vnd"]], ch
        assert parts == (str(b["parts"]) if "parts" in b else "-"), ch
    m = re.search(r"replies (\d+)\s+opted out (\d+)\s+opted in (\d+)\s+registered (\d+)\s+questions (\d+)", text)
    assert [int(x) for x in m.groups()] == [out[k] for k in ("replies", "opted_out", "opted_in",
                                                              "registered", "questions")]
    assert re.search(rf"^\s+cost {out['cost_vnd']} VND$", text, re.M)
    assert re.search(rf"approved\s+by {out['approved_by']} ", text)
    assert f"{out['same_phone']} suppressed" in text


def check_list(out, text):
    rows = {int(r[0]): r for r in table(text)}
    assert sorted(rows) == sorted(c["id"] for c in out["campaigns"])
    for c in out["campaigns"]:
        r = rows[c["id"]]
        assert r[1:] == [c["name"], c["status"], str(c["targeted"]), str(c["outcomes"]["delivered"]),
                         str(c["outcomes"]["pending"]), str(c["replies"]), str(c["cost_vnd"])], r


def samples(loa, psql):
    """The runs in an order where each finds what the earlier ones made."""
    communes = loa.write_file("communes.csv", "commune_code,commune_name,province_code,province_name\n"
                                              "99901,Xã Thử,99,Tỉnh Thử\n")
    people = loa.write_file("people.csv", "full_name,phone,commune_code\n" + "".join(
        f"Nguyễn Văn {i},091200000{i},23200\n" for i in range(1, 7)) + "Sai Số,12345,23200\n")
    filt = loa.write_file("f.json", '{"field":"province_code","eq":"52"}')
    body = loa.write_file("t.txt", "BHXH nhắc đóng BHXH. {{opt_out_hint}}")
    faqs = loa.write_file("faq.csv", "question,answer\nĐóng ở đâu?,Tại bưu điện xã.\n")
    targets = loa.write_file("targets.csv", "year,commune_code,population,target_pct\n2026,23200,1000,45\n")
    demo = loa.dir / "demo.csv"
    report = loa.dir / "r.csv"

    def campaign(out):
        row = one(psql, "SELECT id, status, approved_by, archived_at IS NOT NULL FROM campaigns WHERE name = 'may'")
        assert (out["id"], out["name"], out["status"]) == (int(row[0]), "may", row[1])
        return row

    def messages():
        """Citizens 1..6 of `may` in as many states, with parts and prices, as a daemon would
        leave them: delivered, failed, pending, in doubt, by Zalo then SMS, suppressed."""
        cid = one(psql, "SELECT id FROM campaigns WHERE name = 'may'")
        ids = [r[0] for r in psql("SELECT id FROM citizens ORDER BY id")]
        rows = [(ids[0], 0, "sms", "delivered", 2, 1500), (ids[1], 0, "sms", "failed", 0, 0),
                (ids[2], 0, "sms", "pending", 0, 0), (ids[3], 0, "sms", "in_doubt", 1, 750),
                (ids[4], 0, "zalo", "fallback", 0, 0), (ids[4], 1, "sms", "delivered", 1, 750),
                (ids[5], 0, "sms", "suppressed", 0, 0)]
        psql("INSERT INTO messages (campaign_id, citizen_id, step, channel, state, parts, cost_vnd) VALUES "
             + ",".join(f"({cid},{c},{s},'{ch}','{st}',{p},{v})" for c, s, ch, st, p, v in rows))
        psql(f"INSERT INTO replies (channel, gateway, from_addr, citizen_id, campaign_id, body, intent)"
             f" VALUES ('sms', 'kannel', '84912000001', {ids[0]}, {cid}, 'TC', 'opt_out'),"
             f"        ('sms', 'kannel', '84912000005', {ids[4]}, {cid}, 'Tôi muốn đăng ký', 'register')")

    def migrate(out, text):
        assert text.strip() == f"migrations applied: {out['applied']}"

    def config_check(out, text):
        assert lines(text) == [f"{out['file']}: {'ok' if out['ok'] else 'errors'}, {len(out['gateways'])} gateway(s)"] + \
            [f"  gateway {g['name']} type={g['type']}" for g in out["gateways"]]

    def config_keys(out, text):
        shown = lines(text)
        assert len(shown) == len(out["keys"])
        for ln, k in zip(shown, out["keys"]):
            assert ln.startswith(f"[{k['section']}] {k['key']} "), (ln, k)
            default = "(required)" if k["default"] is None else k["default"]
            assert k["kind"] in ln and f"default={default}" in ln and k["description"] in ln, (ln, k)
            if "range" in k:
                assert f"range={k['range']['min']}..{k['range']['max']}" in ln, (ln, k)

    def communes_import(out):
        assert (out["rows"], out["imported"], out["updated"], out["rejected"]) == (1, 1, 0, 0)
        assert ival(psql, "SELECT count(*) FROM communes WHERE code = '99901' AND name = 'Xã Thử'") == out["imported"]

    def import_citizens(out):
        assert (out["rows"], out["imported"], out["rejected"]) == (7, 6, 1)
        assert ival(psql, "SELECT count(*) FROM citizens") == out["imported"]
        assert out["file"] == str(people)

    def demo_data(out):
        assert out["file"] == str(demo)
        assert len(demo.read_text(encoding="utf-8-sig").splitlines()) - 1 == out["citizens"] == 3

    def segment_create(out):
        assert out["id"] == ival(psql, "SELECT id FROM segments WHERE name = 'gl'")
        assert (out["segment"], out["created"], out["count"], out["sendable_sms"]) == ("gl", True, 6, 6)

    def segment_count(out, text):
        assert re.match(rf"{out['segment']}: {out['count']} citizens, {out['sendable_sms']} reachable by SMS ", text)

    def segment_list(out, text):
        assert [r.split(None, 1) for r in lines(text)] == \
            [[s["name"], json.dumps(s["filter"], ensure_ascii=False)] for s in out["segments"]]
        assert [s["id"] for s in out["segments"]] == [ival(psql, "SELECT id FROM segments WHERE name = 'gl'")]

    def template_create(out):
        row = one(psql, "SELECT id, channel FROM templates WHERE name = 'nhac'")
        assert (out["id"], out["channel"], out["language"]) == (int(row[0]), row[1], "vi")
        assert ival(psql, "SELECT count(*) FROM template_variants WHERE template_id = :'t' AND language = 'vi'",
                    t=row[0]) == 1

    def template_preview(out, text):
        head = (f"template {out['template']} ({out['channel']}), gateway {out['gateway']}: at most "
                f"{out['max_parts']} parts, {out['price_per_part_vnd']} VND a part")
        assert lines(text)[0] == head
        s, lg = out["sample"], out["longest"]
        assert f"sample (citizen {s['citizen_id']}, {s['language']}): {s['encoding'].upper().replace('UCS2', 'UCS-2')}, " \
               f"{s['units']} units, {s['parts']} part" in text
        assert f"longest (citizen {lg['citizen_id']}): " in text and f"  {s['text']}" in text
        assert (f"segment {out['segment']}: {out['citizens']} citizens, {out['sendable']} reachable by SMS: "
                f"{out['total_parts']} parts, estimated cost {out['cost_vnd']} VND") in text
        assert out["cost_vnd"] == out["total_parts"] * out["price_per_part_vnd"] == 6 * 750
        assert "variants: " + " ".join(f"{k} {v}" for k, v in out["languages"].items()) in text

    def campaign_create(out):
        campaign(out)
        assert out["status"] == "draft"

    def user_add(out):
        row = one(psql, "SELECT id, role, token_sha256 FROM users WHERE name = 'lan'")
        assert (out["id"], out["name"], out["role"]) == (int(row[0]), "lan", row[1])
        assert hashlib.sha256(out["token"].encode()).hexdigest() == row[2], "the token printed is the one kept"

    def approve(out):
        assert campaign(out)[2] == "lan"

    def start(out):
        campaign(out)
        assert out["status"] == "scheduled" and out["segment_size"] == 6
        e, = out["estimate"]
        assert (e["template"], e["channel"], e["gateway"], e["citizens"], e["total_parts"], e["cost_vnd"]) == \
            ("nhac", "sms", "kannel", 6, 6, 6 * 750)

    def cancel(out):
        campaign(out)
        assert out["messages_cancelled"] == 1 == ival(
            psql, "SELECT count(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
                  " WHERE c.name = 'may' AND m.state = 'cancelled'")

    def paused_mid_send():
        psql("UPDATE campaigns SET status = 'paused', paused_from = 'running' WHERE name = 'may'")

    def resend(out, text):
        """A dry run over the one in-doubt message, which names no gateway: nothing proves it
        unsent. Every figure of the human lines against the JSON."""
        assert (out["id"], out["name"], out["status"]) == (int(campaign(out)[0]), "may", "paused")
        assert (out["in_doubt"], out["unprovable"], out["resend"], out["resent"]) == (1, 1, 0, False), out
        assert re.search(rf"^campaign {out['id']} 'may': {out['in_doubt']} in doubt$", text, re.M), text
        for key, words in (("resend", "never reached the gateway"), ("reported", "reported"),
                           ("recent", "in doubt for less than"), ("unprovable", "cannot be proven unsent"),
                           ("opted_out", "opted out since")):
            assert re.search(rf"^  {out[key]} {words}", text, re.M), (key, text)
        assert "nothing to resend" in text

    def archive(out):
        assert campaign(out)[3] == "t" and out["archived"] is True
        assert out["messages"] == ival(psql, "SELECT count(*) FROM messages_all m JOIN campaigns c"
                                             " ON c.id = m.campaign_id WHERE c.name = 'may'") == 7
        assert ival(psql, "SELECT count(*) FROM " + out["archive_table"]) == out["messages"]

    def replies_answer(out):
        row = one(psql, "SELECT id, reply_id, channel, state FROM outbound_answers")
        assert (out["answer_id"], out["reply_id"], out["channel"], out["state"]) == \
            (int(row[0]), int(row[1]), row[2], row[3])

    def replies_list(out, text):
        rows = {int(r[0]): r for r in table(text)}
        assert sorted(rows) == sorted(r["id"] for r in out["replies"]) and len(rows) == 3
        for r in out["replies"]:
            shown = rows[r["id"]]
            assert shown[3:7] == [r["channel"], r["from"], r["campaign"] or "-", r["intent"]], (shown, r)
            assert shown[7] == ("yes" if r["answered"] else "no") and " ".join(shown[8:]) == r["body"], (shown, r)
        answered, = [r for r in out["replies"] if r["answered"]]
        assert (answered["answer"], answered["answered_by"]) == ("Tại bưu điện xã.", "lan")

    def callbacks(out, text):
        rows = table(text)
        assert [int(r[0]) for r in rows] == [c["reply_id"] for c in out["callbacks"]] and len(rows) == 1
        c = out["callbacks"][0]
        assert c["phone"] in rows[0] and c["campaign"] in rows[0], (rows[0], c)
        assert text.rstrip().endswith(c["text"])

    def keywords_list(out, text):
        assert [r[:4] + [" ".join(r[4:])] for r in table(text)] == \
            [[str(k["id"]), k["intent"], k["match"], k["accents"], k["text"]] for k in out["keywords"]]
        assert len(out["keywords"]) == ival(psql, "SELECT count(*) FROM reply_keywords")

    def keywords_add(out):
        row = one(psql, "SELECT id, intent, match, accents FROM reply_keywords WHERE text = 'ngừng nhận'")
        assert (out["id"], out["intent"], out["match"], out["accents"]) == (int(row[0]), *row[1:])

    def keywords_test(out, text):
        assert text.strip() == f"{out['intent']}\t({out['normalised']})"

    def keywords_remove(out):
        assert out["removed"] == 1
        assert ival(psql, "SELECT count(*) FROM reply_keywords WHERE text = 'ngừng nhận'") == 0

    def faq_add(out):
        assert out["id"] == ival(psql, "SELECT id FROM faq WHERE question = 'Mức đóng thấp nhất?'")

    def faq_import(out):
        assert (out["imported"], out["rejected"]) == (1, 0)
        assert ival(psql, "SELECT count(*) FROM faq WHERE question = 'Đóng ở đâu?'") == 1

    def faq_list(out, text):
        shown = lines(text)
        assert len(shown) == 2 * len(out["faq"]) == 2 * ival(psql, "SELECT count(*) FROM faq")
        for q, a, f in zip(shown[::2], shown[1::2], out["faq"]):
            assert q.split(None, 1) == [str(f["id"]), f["question"]]
            assert a.strip() == "→ " + f["answer"]

    def faq_match(out, text):
        assert lines(text) == [f"match (score {out['score']}): {out['question']}", f"  → {out['answer']}"]
        assert out["id"] == ival(psql, "SELECT id FROM faq WHERE question = :'q'", q=out["question"])

    def faq_remove(out):
        assert out["removed"] == 1
        assert ival(psql, "SELECT count(*) FROM faq WHERE question = 'Mức đóng thấp nhất?'") == 0

    def targets_import(out):
        assert (out["imported"], out["rejected"]) == (1, 0) == (ival(psql, "SELECT count(*) FROM coverage_targets"), 0)

    def report_check(out, text):
        assert out["out"] == str(report) and out["communes_out"] == str(loa.dir / "r-communes.csv")
        first, *rest = lines(text)
        m = re.match(r"report \S+: (\d+) campaign\(s\), (\d+) row\(s\), (\d+) commune\(s\) \((\d+) reached\) -> (\S+) and beside it:$", first)
        assert [int(x) for x in m.groups()[:4]] == \
            [out["campaigns"], out["rows"], out["communes"], out["active_communes"]] == [1, 2, 1, 1]
        assert [m.group(5)] + [r.strip() for r in rest] == out["files"] and out["files"][1] == out["communes_out"]
        assert all(Path(f).stat().st_size > 0 for f in out["files"]) and len(out["files"]) == 8

    def hints_list(out, text):
        shown = lines(text)
        assert [ln.split(None, 1)[0] for ln in shown] == [h["language"] for h in out["hints"]]
        assert [h["language"] for h in out["hints"]] == [r[0] for r in psql(
            "SELECT code FROM languages ORDER BY code <> 'vi', code")]
        for ln, h in zip(shown, out["hints"]):
            assert (h["hint"] or "(none") in ln and ("[provisional" in ln) == h["provisional"], (ln, h)

    def hints_set(out):
        assert (out["language"], out["provisional"]) == ("jra", False)
        assert one(psql, "SELECT hint, provisional FROM opt_out_hints WHERE language = 'jra'") == \
            (out["hint"], "f")

    def gateway_status(out, text):
        rows = table(text)
        assert [r[0] for r in rows] == [g["name"] for g in out["gateways"]] == ["kannel"]
        g, r = out["gateways"][0], rows[0]
        assert r[1:7] == [g["type"], g["circuit"], str(g["rate"]), str(g["in_flight"]), str(g["waiting"]),
                          str(g["used_today"])], r

    def user_list(out, text):
        rows = table(text)
        assert len(rows) == len(out["users"]) == 1
        u, r = out["users"][0], rows[0]
        assert r == [str(u["id"]), u["name"], u["role"], "yes" if u["password"] else "no", u["created_at"],
                     u["disabled_at"] or "-"], r

    def user_disable(out):
        assert (out["name"], out["disabled"]) == ("lan", True)
        assert one(psql, "SELECT disabled_at IS NOT NULL FROM users WHERE id = :'i'", i=str(out["id"])) == "t"

    def status(s):
        def check(out):
            campaign(out)
            assert out["status"] == s
        return check

    return [
        Run("db migrate", check=migrate, human=True),
        Run("config check", check=config_check, human=True),
        Run("config keys", check=config_keys, human=True),
        Run("communes import", communes, check=communes_import),
        Run("import citizens", people, check=import_citizens),
        Run("demo-data", "--citizens", "3", "--out", demo, check=demo_data),
        Run("segment create", "gl", "--filter", filt, check=segment_create),
        Run("segment count", "gl", check=segment_count, human=True),
        Run("segment list", check=segment_list, human=True),
        Run("template create", "nhac", "--channel", "sms", "--file", body, check=template_create),
        Run("template preview", "nhac", "--segment", "gl", check=template_preview, human=True),
        Run("campaign create", "may", "--segment", "gl", "--channels", "sms:nhac", check=campaign_create),
        Run("user add", "lan", "--role", "supervisor", check=user_add),
        Run("campaign approve", "may", "--by", "lan", check=approve),
        Run("campaign start", "may", check=start),
        Run("campaign pause", "may", check=status("paused")),
        Run("campaign resume", "may", check=status("scheduled")),
        Run("campaign show", "may", check=check_show, human=True, before=messages),
        Run("campaign list", check=check_list, human=True),
        Run("campaign resend", "may", "--in-doubt", check=resend, human=True, before=paused_mid_send),
        Run("campaign cancel", "may", check=cancel),
        Run("campaign archive", "may", check=archive),
        Run("replies answer", lambda: reply_id(psql), "Tại bưu điện xã.", "--by", "lan", check=replies_answer),
        Run("replies list", check=replies_list, human=True),
        Run("replies callbacks", check=callbacks, human=True),
        Run("keywords list", check=keywords_list, human=True),
        Run("keywords add", "ngừng nhận", "--intent", "opt_out", "--match", "phrase", check=keywords_add),
        Run("keywords test", "ngừng nhận tin", check=keywords_test, human=True),
        Run("keywords remove", "ngừng nhận", check=keywords_remove),
        Run("hints list", check=hints_list, human=True),
        Run("hints set", "jra", "Soạn {{opt_out_keyword}} gửi {{opt_out_number}}", check=hints_set),
        Run("faq add", "Mức đóng thấp nhất?", "330.000 đồng/tháng.", check=faq_add),
        Run("faq import", faqs, check=faq_import),
        Run("faq list", check=faq_list, human=True),
        Run("faq match", "mức đóng thấp nhất là bao nhiêu", check=faq_match, human=True),
        Run("faq remove", "Mức đóng thấp nhất?", check=faq_remove),
        Run("targets import", targets, check=targets_import),
        Run("report", "--from", "2026-01-01", "--to", "2026-12-31", "--format", "csv", "--out", report,
            check=report_check, human=True),
        Run("gateway status", check=gateway_status, human=True),
        Run("user list", check=user_list, human=True),
        Run("user disable", "lan", check=user_disable),
    ]


def reply_id(psql):
    return psql("INSERT INTO replies (channel, gateway, from_addr, body, intent)"
                " VALUES ('sms', 'kannel', '84912000001', 'Đóng ở đâu?', 'question') RETURNING id")[0][0]


def test_every_command_that_prints_a_result_prints_json(loa, psql):
    loa.add_gateway("kannel", type="kannel", sendsms_url="http://127.0.0.1:9/cgi-bin/sendsms",
                    username="u", password="p", sender="BHXH", webhook_secret="s" * 32)
    table_ = loa.json("help")["commands"]
    names = [c["command"] for c in table_]
    runs = samples(loa, psql)
    assert sorted(r.words for r in runs) == sorted(set(names) - NO_RESULT), \
        "every command that prints a result has a sample run here"
    for c in table_:
        if c["command"] not in NO_RESULT:
            assert c["json"], f"`loa {c['command']}` does not offer --json: {c['usage']}"
    for r in runs:
        if r.before:
            r.before()
        argv = [*r.words.split(), *[a() if callable(a) else a for a in r.args]]
        p = loa.run(*argv, "--json")
        assert p.returncode == 0, f"loa {' '.join(map(str, argv))} --json: exit {p.returncode}: {p.stderr}"
        try:
            out = json.loads(p.stdout)
        except ValueError as e:
            pytest.fail(f"loa {' '.join(map(str, argv))}: not JSON ({e}): {p.stdout!r}")
        assert isinstance(out, dict) and out, f"loa {r.words}: {p.stdout!r}"
        if r.human:
            h = loa.run(*argv)
            assert h.returncode == 0, f"loa {' '.join(map(str, argv))}: exit {h.returncode}: {h.stderr}"
            r.check(out, h.stdout)
        else:
            r.check(out)
