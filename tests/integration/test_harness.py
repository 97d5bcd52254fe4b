"""The fixtures themselves: a migrated database per test, real Kannel with its fake SMSC in
both directions, the CLI helper and the daemon."""

import http.server
import json
import threading
import urllib.parse

import pytest

VIETNAMESE = "Xin chào Bà Nguyễn Thị Hoa"


class Listener:
    """A tiny HTTP server recording every GET (path, query) and answering 200 with no body."""

    def __init__(self):
        self.requests = []
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                with outer.cond:
                    outer.requests.append((u.path, dict(urllib.parse.parse_qsl(u.query))))
                    outer.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n, timeout=15):
        with self.cond:
            self.cond.wait_for(lambda: len(self.requests) >= n, timeout=timeout)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def test_migrated_database_has_the_core_tables(psql):
    tables = {r[0] for r in psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    for t in ("citizens", "communes", "segments", "templates", "campaigns", "messages",
              "campaign_counters", "replies", "opt_outs"):
        assert t in tables, f"table {t} missing after loa db migrate"


def test_each_test_gets_a_database_of_its_own(psql, db_url, pg):
    assert db_url != pg
    psql("CREATE TABLE harness_probe (x int)")
    assert psql("SELECT count(*) FROM pg_tables WHERE tablename = 'harness_probe'") == [("1",)]
    # The template the next test copies is untouched.
    tmpl = pg.replace("/loa?", "/loa_tmpl?")
    assert psql("SELECT count(*) FROM pg_tables WHERE tablename = 'harness_probe'", url=tmpl) == [("0",)]


def test_psql_variables_are_quoted_by_psql(psql):
    assert psql("SELECT :'v'::text", v="O'Brien; DROP TABLE citizens") == [("O'Brien; DROP TABLE citizens",)]


def test_migrate_is_idempotent_on_the_copied_database(loa):
    p = loa.run("db", "migrate")
    assert p.returncode == 0, p.stderr


def test_loa_helper_writes_the_config_it_runs_with(loa):
    assert loa.run("config", "check").returncode == 0
    loa.set("policy", "no_such_key", "1")
    p = loa.run("config", "check")
    assert p.returncode != 0
    assert "no_such_key" in p.stderr


def test_kannel_delivers_vietnamese_ucs2_text(make_kannel, listener):
    k = make_kannel(f"http://127.0.0.1:{listener.port}/mo?from=%p&text=%a")
    status, body = k.sendsms("84912345678", VIETNAMESE, coding=2, **{"from": "BHXH"})
    assert (status, body.strip()) == (202, "0: Accepted for delivery")
    status, body = k.sendsms("84987654321", "Plain GSM text")
    assert status == 202, body
    got = k.wait_messages(2)
    assert [(m["sender"], m["to"], m["coding"], m["text"]) for m in got] == [
        ("BHXH", "84912345678", "ucs2", VIETNAMESE),
        (k.sender, "84987654321", "text", "Plain GSM text"),
    ]


def test_kannel_concatenates_a_long_ucs2_text(make_kannel, listener):
    k = make_kannel(f"http://127.0.0.1:{listener.port}/mo?text=%a")
    text = (f"{VIETNAMESE}, BHXH tỉnh Gia Lai thông báo: hạn đóng BHXH tự nguyện của Bà là "
            "31/05. Mức đóng tối thiểu 330.000đ/tháng, Nhà nước hỗ trợ 30%. Soạn TC gửi 8077.")
    assert len(text) > 134
    status, body = k.sendsms("84912345678", text, coding=2)
    assert status == 202, body
    got = k.wait_messages(1)
    assert got[0]["text"] == text
    assert got[0]["parts"] == len(k.received()) >= 2


def test_kannel_rejects_bad_credentials(make_kannel, listener):
    k = make_kannel(f"http://127.0.0.1:{listener.port}/mo?text=%a")
    status, _ = k.sendsms("84912345678", "x", password="wrong")
    assert 400 <= status < 500


def test_kannel_calls_the_dlr_url(make_kannel, listener):
    k = make_kannel(f"http://127.0.0.1:{listener.port}/mo?text=%a")
    dlr = f"http://127.0.0.1:{listener.port}/dlr?m=42&d=%d&id=%I"
    status, body = k.sendsms("84912345678", "with report", **{"dlr-mask": 9, "dlr-url": dlr})
    assert status == 202, body
    reqs = listener.wait(2)
    assert sorted(q["d"] for p, q in reqs if p == "/dlr" and q["m"] == "42") == ["1", "8"]


def test_mo_injected_reaches_the_hook(make_kannel, listener):
    k = make_kannel(f"http://127.0.0.1:{listener.port}/hooks/kannel/kannel/mo"
                    "?from=%p&to=%P&text=%a&ts=%T&id=%I&token=s3cret", "s3cret")
    k.send_mo("84912345678", "TC")
    k.send_mo("84987654321", "Tôi muốn hỏi về mức đóng")
    reqs = listener.wait(2)
    assert [(p, q["from"], q["to"], q["text"], q["token"]) for p, q in reqs] == [
        ("/hooks/kannel/kannel/mo", "84912345678", k.sender, "TC", "s3cret"),
        ("/hooks/kannel/kannel/mo", "84987654321", k.sender, "Tôi muốn hỏi về mức đóng", "s3cret"),
    ]
    assert all(q["id"] and q["ts"].isdigit() for _, q in reqs)
    # Nothing went back to the citizen: the hook's empty answer is not an SMS.
    assert k.received() == []


def test_kannel_fixture_adds_its_gateway_to_the_config(loa, kannel):
    loa.write_config()
    conf = loa.config_path.read_text()
    assert "[gateway.kannel]\ntype = kannel\n" in conf
    assert f"sendsms_url = {kannel.sendsms_url}" in conf
    assert f"token={kannel.hook_secret}" in (kannel.dir / "kannel.conf").read_text()


def test_daemon_answers_healthz(daemon):
    status, body = daemon.get("/healthz")
    assert status == 200
    json.loads(body)
