"""`--json` on every command that prints a result: the test walks the command table (`loa help
--json`), runs each command with --json on a small database, and checks it exits 0 with one JSON
object on stdout. A command added to the table without a sample run here fails the test."""

import json

import pytest

# Commands that print no result of their own.
NO_RESULT = {"serve"}


def samples(loa, psql):
    """(command words, arguments) in an order where each finds what the earlier ones made."""
    communes = loa.write_file("communes.csv", "commune_code,commune_name,province_code,province_name\n"
                                              "99901,Xã Thử,99,Tỉnh Thử\n")
    people = loa.write_file("people.csv", "full_name,phone,commune_code\nNguyễn Văn A,0912000001,23200\n"
                                          "Trần Thị B,0912000002,23200\n")
    filt = loa.write_file("f.json", '{"field":"province_code","eq":"52"}')
    body = loa.write_file("t.txt", "BHXH nhắc đóng BHXH. {{opt_out_hint}}")
    faqs = loa.write_file("faq.csv", "question,answer\nĐóng ở đâu?,Tại bưu điện xã.\n")
    targets = loa.write_file("targets.csv", "year,commune_code,population,target_pct\n2026,23200,1000,45\n")
    return [
        ("db migrate", []),
        ("config check", []),
        ("config keys", []),
        ("communes import", [communes]),
        ("import citizens", [people]),
        ("demo-data", ["--citizens", "3", "--out", loa.dir / "demo.csv"]),
        ("segment create", ["gl", "--filter", filt]),
        ("segment count", ["gl"]),
        ("segment list", []),
        ("template create", ["nhac", "--channel", "sms", "--file", body]),
        ("template preview", ["nhac", "--segment", "gl"]),
        ("campaign create", ["may", "--segment", "gl", "--channels", "sms:nhac"]),
        ("user add", ["lan", "--role", "supervisor"]),
        ("campaign approve", ["may", "--by", "lan"]),
        ("campaign start", ["may"]),
        ("campaign pause", ["may"]),
        ("campaign resume", ["may"]),
        ("campaign show", ["may"]),
        ("campaign list", []),
        ("campaign cancel", ["may"]),
        ("campaign archive", ["may"]),
        ("replies list", []),
        ("replies answer", [lambda: reply_id(psql), "Tại bưu điện xã.", "--by", "lan"]),
        ("replies callbacks", []),
        ("keywords list", []),
        ("keywords add", ["ngừng nhận", "--intent", "opt_out", "--match", "phrase"]),
        ("keywords test", ["ngừng nhận tin"]),
        ("keywords remove", ["ngừng nhận"]),
        ("hints list", []),
        ("hints set", ["jra", "Soạn {{opt_out_keyword}} gửi {{opt_out_number}}"]),
        ("faq add", ["Mức đóng thấp nhất?", "330.000 đồng/tháng."]),
        ("faq import", [faqs]),
        ("faq list", []),
        ("faq match", ["mức đóng thấp nhất là bao nhiêu"]),
        ("faq remove", ["Mức đóng thấp nhất?"]),
        ("targets import", [targets]),
        ("report", ["--from", "2026-01-01", "--to", "2026-12-31", "--format", "csv", "--out",
                    loa.dir / "r.csv"]),
        ("gateway status", []),
        ("user list", []),
        ("user disable", ["lan"]),
    ]


def reply_id(psql):
    return psql("INSERT INTO replies (channel, gateway, from_addr, body, intent)"
                " VALUES ('sms', 'kannel', '84912000001', 'Đóng ở đâu?', 'question') RETURNING id")[0][0]


def test_every_command_that_prints_a_result_prints_json(loa, psql):
    loa.add_gateway("kannel", type="kannel", sendsms_url="http://127.0.0.1:9/cgi-bin/sendsms",
                    username="u", password="p", sender="BHXH", webhook_secret="s" * 32)
    table = loa.json("help")["commands"]
    names = [c["command"] for c in table]
    runs = samples(loa, psql)
    assert sorted(w for w, _ in runs) == sorted(set(names) - NO_RESULT), \
        "every command that prints a result has a sample run here"
    for c in table:
        if c["command"] not in NO_RESULT:
            assert c["json"], f"`loa {c['command']}` does not offer --json: {c['usage']}"
    for words, args in runs:
        argv = [*words.split(), *[a() if callable(a) else a for a in args], "--json"]
        p = loa.run(*argv)
        assert p.returncode == 0, f"loa {' '.join(map(str, argv))}: exit {p.returncode}: {p.stderr}"
        try:
            out = json.loads(p.stdout)
        except ValueError as e:
            pytest.fail(f"loa {' '.join(map(str, argv))}: not JSON ({e}): {p.stdout!r}")
        assert isinstance(out, dict) and out, f"loa {words}: {p.stdout!r}"
