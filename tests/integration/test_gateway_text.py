"""Text from a gateway reaches SQL whole or not at all: an smsbox that refuses every message
with a long Vietnamese answer (cut by loa at 100 bytes, in the middle of a character if cut
by bytes) and one with bytes that are not UTF-8 still has every message recorded as failed,
in the batches they were written in, with a reason that PostgreSQL accepted."""

import http.server
import threading

from conftest import show, wait_for
from test_campaign_kannel import OUTCOME_KEYS, seed


class Refusing(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(400)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def serve(body):
    handler = type("H", (Refusing,), {"body": body})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def run(loa, daemon, psql, body, n=60):
    srv = serve(body)
    try:
        seed(psql, loa, n)
        loa.add_gateway("kannel", type="kannel",
                        sendsms_url=f"http://127.0.0.1:{srv.server_address[1]}/cgi-bin/sendsms",
                        username="u", password="p", sender="BHXH", rate=1000, concurrency=20,
                        webhook_secret="s" * 32)
        loa.set("engine", "settle_seconds", "1")
        daemon.stop()
        daemon.start()
        loa.ok("campaign", "create", "c", "--segment", "all", "--channels", "sms:nhac")
        loa.ok("campaign", "start", "c")
        s = wait_for(lambda: (lambda x: x if x["status"] == "completed" else None)(show(loa, "c")),
                     timeout=60, what="the campaign to complete")
    finally:
        srv.shutdown()
    assert s["outcomes"]["failed"] == n, s["outcomes"]
    assert sum(s["outcomes"][k] for k in OUTCOME_KEYS) == n
    reasons = psql("SELECT DISTINCT reason FROM messages")
    assert len(reasons) == 1
    assert "flush_failed" not in daemon.log()
    return reasons[0][0]


def test_a_long_multibyte_gateway_answer_is_cut_on_a_character(loa, daemon, psql):
    # 'ố' is 3 bytes: 33 of them after "Tài khoản: " put byte 100 inside one.
    body = ("Tài khoản: " + "ố" * 60).encode()
    reason = run(loa, daemon, psql, body)
    assert reason.startswith("smsbox 400: Tài khoản: ố")
    assert "\ufffd" not in reason
    assert len(reason.encode()) <= 160


def test_gateway_bytes_that_are_not_utf8_are_escaped_not_refused(loa, daemon, psql):
    body = b"Sai m\xe1t kh\xe2u"        # Latin-1 leftovers: not UTF-8
    reason = run(loa, daemon, psql, body)
    assert reason == "smsbox 400: Sai m\\xE1t kh\\xE2u"
