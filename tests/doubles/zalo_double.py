#!/usr/bin/env python3
"""A stand-in for Zalo's OAuth, ZNS and OA APIs, as described in shared/docs/gateways.md §2.

    python3 tests/doubles/zalo_double.py --port 0 --app-id APP --app-secret SECRET \
        --refresh-token R0 --webhook-url http://127.0.0.1:8080/hooks/zalo/zalo \
        --sig-id APP --sig-key OASECRET

Prints ``port=N`` once it listens. Standard library only.

What it does like Zalo
  POST .../access_token   form refresh_token, app_id, grant_type=refresh_token; header
                          secret_key. Refresh tokens are single-use: the answer carries a new one
                          and the old one is refused from then on (error -14014).
                          expires_in is a string, as Zalo sends it.
  POST /message/template  header access_token; JSON phone, template_id, template_data,
                          tracking_id (<= 48). Answers error 0 with data.msg_id and
                          data.quota.remainingQuota, or a negative error. A tracking_id seen
                          before is answered with its first msg_id and not sent again.
                          Accepted messages get a signed user_received_message webhook after
                          receipt_delay_ms.
  POST /v3.0/oa/message/cs  header access_token; recipient.user_id, message.text (<= 2000).
  GET  /message/quota

Control (tests)
  POST /_control  JSON merged into the settings:
      phones: {"849…": -118, …}     error code per phone for /message/template
      users_outside_window: [ids]    -230 for /v3.0/oa/message/cs
      expire_token_after: N          the current access token is refused (-124) after N more
                                     API calls; null: never
      expires_in: seconds            lifetime announced for new access tokens
      quota: N                       remaining ZNS quota; at 0 every send gets quota_error
      quota_error: -115              the error once the quota is spent
      delay_ms: N                    sleep before answering API calls
      garbage: true                  answer API calls with a body that is not JSON
      garbage_next: N                answer the next N ZNS sends with a body that is not JSON
      truncate_next: N               answer the next N ZNS sends with a JSON body cut off
                                     (neither is sent: the refusal comes before acceptance)
      truncate_accepted_next: N      the next N accepted sends are sent (receipt and all) but
                                     their answer is cut off
      fail_next: N, fail_code: C     answer the next N ZNS sends (valid token, valid phone)
                                     with error C (e.g. -32), then carry on as usual
      receipt_delay_ms: N            delay of the receipt webhook (default 200); null: none
      no_receipt_phones: [phones]    never send a receipt for these
      refresh_token: "R"             make R the valid refresh token (an operator's new one)
      send_text: {user_id, text, msg_id?}   sends a user_send_text webhook now
      webhook: {...}                 sends this event, signed, now (timestamp added if absent)
      forged_webhook: {...}          sends this event with a wrong signature
  GET  /_state    what happened: sends, duplicates, refreshes, webhook answers; requests is
                  every ZNS send request as [phone, answer, unix time] (answer: the error
                  code, or "garbage" / "truncated"), in the order they came
  GET  /healthz
"""

import argparse
import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PHONE_OK = __import__("re").compile(r"^84[0-9]{9}$")


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.settings = {
            "phones": {},
            "users_outside_window": [],
            "expire_token_after": None,
            "expires_in": 90000,
            "quota": 5000,
            "quota_error": -115,
            "delay_ms": 0,
            "garbage": False,
            "receipt_delay_ms": 200,
            "no_receipt_phones": [],
            "garbage_next": 0,
            "truncate_next": 0,
            "fail_next": 0,
            "fail_code": -32,
        }
        self.requests = []          # every ZNS send: [phone, code or "garbage"/"truncated", time]
        self.refresh_token = args.refresh_token
        self.access = {}            # token -> expiry (epoch seconds)
        self.calls_left = None      # API calls before the current tokens are refused
        self.sent = {}              # tracking_id -> {msg_id, phone, template_id, count}
        self.cs = []                # consultation messages
        self.refreshes = 0
        self.refresh_refused = 0
        self.token_refused = 0
        self.webhooks = []          # [status, event_name]
        self.seq = 0

    def snapshot(self):
        return {
            "sent": self.sent,
            "sends": sum(1 for _ in self.sent),
            "duplicates": sum(v["count"] - 1 for v in self.sent.values()),
            "cs": self.cs,
            "refreshes": self.refreshes,
            "refresh_refused": self.refresh_refused,
            "token_refused": self.token_refused,
            "refresh_token": self.refresh_token,
            "quota": self.settings["quota"],
            "webhooks": self.webhooks,
            "requests": self.requests,
        }


def sign(sig_id, body, timestamp, key):
    return "mac=" + hashlib.sha256((sig_id + body + timestamp + key).encode()).hexdigest()


def post_webhook(state, event, forged=False):
    a = state.args
    if not a.webhook_url:
        return None
    event = dict(event)
    event.setdefault("app_id", a.app_id)
    event.setdefault("timestamp", str(int(time.time() * 1000)))
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    mac = sign(a.sig_id, body, event["timestamp"], a.sig_key + ("x" if forged else ""))
    req = urllib.request.Request(a.webhook_url, data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "X-ZEvent-Signature": mac})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    except OSError:
        status = 0
    with state.lock:
        state.webhooks.append([status, event.get("event_name")])
    return status


def receipt_later(state, delay_ms, tracking_id, msg_id):
    def go():
        time.sleep(delay_ms / 1000.0)
        event = {"event_name": "user_received_message",
                 "message": {"msg_id": msg_id, "tracking_id": tracking_id,
                             "delivery_time": str(int(time.time() * 1000))}}
        # Zalo retries webhooks that are not answered 200.
        for _ in range(5):
            if post_webhook(state, event) == 200:
                return
            time.sleep(0.5)
    threading.Thread(target=go, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zalo-double"

    def log_message(self, fmt, *args):
        sys.stderr.write("zalo-double: " + (fmt % args) + "\n")

    # -- plumbing

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, obj, status=200, raw=None):
        data = raw if raw is not None else json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @property
    def st(self):
        return self.server.state

    # -- routes

    def do_GET(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/healthz":
            return self.answer({"ok": True})
        if path == "/_state":
            with self.st.lock:
                return self.answer(self.st.snapshot())
        if path == "/message/quota":
            err = self.check_token()
            if err:
                return self.answer({"error": err, "message": "Access token is invalid"})
            with self.st.lock:
                q = self.st.settings["quota"]
            return self.answer({"error": 0, "message": "Success",
                                "data": {"dailyQuota": "5000", "remainingQuota": str(q)}})
        self.answer({"error": -404, "message": "not found"}, status=404)

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        raw = self.body()
        if path == "/_control":
            return self.control(json.loads(raw or b"{}"))
        if path.endswith("/access_token"):
            return self.oauth(raw)
        if path in ("/message/template", "/v3.0/oa/message/cs"):
            s = self.st.settings
            if s["delay_ms"]:
                time.sleep(s["delay_ms"] / 1000.0)
            if s["garbage"]:
                return self.answer(None, raw=b"<html>upstream error</html>")
            if path == "/message/template":
                bad = self.broken_answer(raw)
                if bad is not None:
                    return self.answer(None, raw=bad)
                return self.zns(raw)
            return self.cs(raw)
        self.answer({"error": -404, "message": "not found"}, status=404)

    def control(self, c):
        st = self.st
        with st.lock:
            for k in ("phones", "users_outside_window", "expires_in", "quota", "quota_error",
                      "delay_ms", "garbage", "receipt_delay_ms", "no_receipt_phones",
                      "garbage_next", "truncate_next", "fail_next", "fail_code",
                      "truncate_accepted_next"):
                if k in c:
                    st.settings[k] = c[k]
            if "expire_token_after" in c:
                st.calls_left = c["expire_token_after"]
            if "refresh_token" in c:
                st.refresh_token = c["refresh_token"]
        out = {"ok": True}
        if "send_text" in c:
            t = c["send_text"]
            ev = {"event_name": "user_send_text", "sender": {"id": t["user_id"]},
                  "recipient": {"id": self.st.args.oa_id},
                  "message": {"text": t["text"], "msg_id": t.get("msg_id") or secrets.token_hex(8)}}
            out["status"] = post_webhook(st, ev)
        if "webhook" in c:
            out["status"] = post_webhook(st, c["webhook"])
        if "forged_webhook" in c:
            out["status"] = post_webhook(st, c["forged_webhook"], forged=True)
        self.answer(out)

    def oauth(self, raw):
        st = self.st
        f = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
        get = lambda k: (f.get(k) or [""])[0]
        if self.headers.get("secret_key") != st.args.app_secret:
            return self.answer({"error": -14002, "error_name": "Invalid app secret"})
        if get("app_id") != st.args.app_id or get("grant_type") != "refresh_token":
            return self.answer({"error": -14003, "error_name": "Invalid parameter"})
        with st.lock:
            if not get("refresh_token") or get("refresh_token") != st.refresh_token:
                st.refresh_refused += 1
                return self.answer({"error": -14014, "error_name": "Invalid refresh token",
                                    "error_reason": "Refresh token is invalid or expired"})
            st.refreshes += 1
            access = "AT" + secrets.token_hex(24)
            st.refresh_token = "RT" + secrets.token_hex(24)
            st.access[access] = time.time() + int(st.settings["expires_in"])
            st.calls_left = None
            answer = {"access_token": access, "refresh_token": st.refresh_token,
                      "expires_in": str(st.settings["expires_in"])}
        self.answer(answer)

    def broken_answer(self, raw):
        """The body for a send that gets garbage_next / truncate_next, else None."""
        st = self.st
        try:
            phone = json.loads(raw).get("phone", "")
        except (ValueError, AttributeError):
            phone = ""
        with st.lock:
            s = st.settings
            if s["garbage_next"] > 0:
                s["garbage_next"] -= 1
                st.requests.append([phone, "garbage", time.time()])
                return b"<html><body>502 Bad Gateway</body></html>"
            if s["truncate_next"] > 0:
                s["truncate_next"] -= 1
                st.requests.append([phone, "truncated", time.time()])
                return b'{"error":0,"message":"Success","data":{"msg_id":"zns0'
        return None

    def check_token(self):
        """0, or the error code for the access_token header."""
        st = self.st
        tok = self.headers.get("access_token")
        with st.lock:
            exp = st.access.get(tok)
            if exp is None or exp < time.time():
                st.token_refused += 1
                return -124
            if st.calls_left is not None:
                if st.calls_left <= 0:
                    st.access.pop(tok, None)
                    st.token_refused += 1
                    return -124
                st.calls_left -= 1
        return 0

    def zns(self, raw):
        st = self.st
        err = self.check_token()
        try:
            m = json.loads(raw)
        except ValueError:
            m = None
        phone = m.get("phone", "") if isinstance(m, dict) else ""
        obj, receipt = self.zns_decide(m, err)
        cut = False
        with st.lock:
            st.requests.append([phone, obj["error"], time.time()])
            if obj["error"] == 0 and st.settings.get("truncate_accepted_next", 0) > 0:
                st.settings["truncate_accepted_next"] -= 1
                st.requests[-1][1] = "accepted-truncated"
                cut = True
        if receipt:
            receipt_later(st, *receipt)
        if cut:
            return self.answer(None, raw=json.dumps(obj).encode()[:30])
        self.answer(obj)

    def zns_decide(self, m, err):
        """(answer, receipt arguments or None) for one ZNS send of body M (None: not JSON)."""
        st = self.st
        if err:
            return {"error": err, "message": "Access token is invalid"}, None
        if not isinstance(m, dict):
            return {"error": -201, "message": "Body is not JSON"}, None
        phone, tid = m.get("phone", ""), m.get("tracking_id", "")
        if not isinstance(m.get("template_data"), dict) or not m.get("template_id"):
            return {"error": -201, "message": "Invalid parameter"}, None
        if len(tid) > 48:
            return {"error": -201, "message": "tracking_id too long"}, None
        if not PHONE_OK.match(phone):
            return {"error": -108, "message": "Phone number is invalid"}, None
        with st.lock:
            s = st.settings
            quota = {"dailyQuota": "5000", "remainingQuota": str(s["quota"])}
            if tid and tid in st.sent:
                st.sent[tid]["count"] += 1
                return {"error": 0, "message": "Success",
                        "data": {"msg_id": st.sent[tid]["msg_id"], "quota": quota}}, None
            if s["fail_next"] > 0:
                s["fail_next"] -= 1
                return {"error": s["fail_code"], "message": "refused", "data": {"quota": quota}}, None
            code = s["phones"].get(phone)
            if code:
                return {"error": code, "message": "refused", "data": {"quota": quota}}, None
            if s["quota"] <= 0:
                return {"error": s["quota_error"], "message": "Out of quota",
                        "data": {"quota": quota}}, None
            s["quota"] -= 1
            st.seq += 1
            msg_id = f"zns{st.seq:08d}{secrets.token_hex(4)}"
            st.sent[tid] = {"msg_id": msg_id, "phone": phone, "template_id": m["template_id"],
                            "count": 1, "data": m["template_data"]}
            delay = s["receipt_delay_ms"]
            quota["remainingQuota"] = str(s["quota"])
            receipt = delay is not None and phone not in s["no_receipt_phones"]
        return ({"error": 0, "message": "Success",
                 "data": {"msg_id": msg_id, "sent_time": str(int(time.time() * 1000)), "quota": quota}},
                (delay, tid, msg_id) if receipt else None)

    def cs(self, raw):
        st = self.st
        err = self.check_token()
        if err:
            return self.answer({"error": -216, "message": "Access token is invalid"})
        try:
            m = json.loads(raw)
            uid = m["recipient"]["user_id"]
            text = m["message"]["text"]
        except (ValueError, KeyError, TypeError):
            return self.answer({"error": -201, "message": "Invalid parameter"})
        if len(text) > 2000:
            return self.answer({"error": -201, "message": "text too long"})
        with st.lock:
            if uid in st.settings["users_outside_window"]:
                return self.answer({"error": -230, "message": "User has not interacted in last 7 days"})
            st.seq += 1
            mid = f"cs{st.seq:08d}"
            st.cs.append({"user_id": uid, "text": text, "message_id": mid})
        self.answer({"error": 0, "message": "Success", "data": {"message_id": mid, "user_id": uid}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--app-id", default="app-1")
    ap.add_argument("--app-secret", default="app-secret")
    ap.add_argument("--oa-id", default="oa-1")
    ap.add_argument("--refresh-token", default="R0")
    ap.add_argument("--webhook-url", default="")
    ap.add_argument("--sig-id", default="app-1", help="first part of the signed string")
    ap.add_argument("--sig-key", default="oa-secret", help="last part of the signed string")
    ap.add_argument("--control-file", default="", help="JSON applied as a /_control call at start")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    if args.control_file:
        with open(args.control_file) as f:
            c = json.load(f)
        for k, v in c.items():
            srv.state.settings[k] = v
    print(f"port={srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
