#!/usr/bin/env python3
"""A stand-in for an eSMS-shaped brandname SMS API (shared/docs/gateways.md §3).

    python3 tests/doubles/esms_double.py --port 0 --api-key K --secret-key S --brandname BHXH

Prints ``port=N`` once it listens. Standard library only.

  POST /MainService.svc/json/SendMultipleMessage_V4_post_json/   (any POST path but /_control)
      JSON ApiKey, SecretKey, Phone, Content, Brandname, SmsType, IsUnicode, RequestId,
      CallbackUrl, Sandbox. Answers {"CodeResult":"100","SMSID":"…"}; 101 bad credentials,
      104 unknown brandname, 108 bad phone, 99 blocked (on demand), 103 no balance (on demand),
      124 a RequestId seen in the last 24 h (nothing is sent again). An accepted message gets a
      delivery callback: GET CallbackUrl&SMSID=…&SendStatus=5&RequestId=…&phonenumber=…&telcoid=…
      after dlr_delay_ms.

Control (tests)
  POST /_control  JSON merged into the settings:
      codes: {"849…": 99, …}    CodeResult per phone
      balance: N                 messages left; at 0 every send gets 103
      dlr: {"849…": 4, …}        SendStatus per phone (default 5, delivered)
      dlr_delay_ms: N            delay of the callback (default 100); null: none
      delay_ms: N                sleep before answering
      hang_once: N               the next N accepted sends are recorded, then answered only after
                                 hang_ms (longer than the client waits): the outcome is lost
      hang_ms: N                 (default 15000)
      garbage: true              answer with a body that is not JSON
      error_pct: N               N% of sends answered HTTP 500 with nothing recorded (a provider
                                 failing); timeout_pct: N  N% of accepted sends recorded, then
                                 answered only after hang_ms (the answer is lost); seed: N  the
                                 random draws of both, reproducible
      http_status: S, http_status_next: N   the next N sends answered HTTP S (429 too many
                                 requests, 401 after a key change, …) with nothing recorded
      max_in_flight: 0           start counting the most sends in flight at once afresh
      smsid_hex: {"849…": "HEX", …}   the SMSID given to an accepted send to this phone: these
                                 bytes, raw in the answer's JSON string and in the callback (not
                                 necessarily UTF-8, of any length; no '"' or '\\')
      code_hex_once: {"849…": "HEX", …}   the first send to this phone is answered with these
                                 bytes, raw, as its CodeResult (nothing recorded); then normally
  GET  /_state    sends (unique RequestIds), duplicates (124 answers), callbacks and their answers;
                  in_flight (sends being answered now) and max_in_flight (the most at once)
  GET  /healthz
"""

import argparse
import json
import random
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PHONE_OK = re.compile(r"^(84|0)[0-9]{9}$")


class State:
    def __init__(self, args):
        self.lock = threading.RLock()   # answer() takes it again, from inside it too
        self.args = args
        self.settings = {"codes": {}, "balance": None, "dlr": {}, "dlr_delay_ms": 100,
                         "delay_ms": 0, "hang_once": 0, "hang_ms": 15000, "garbage": False,
                         "error_pct": 0, "timeout_pct": 0, "seed": None, "http_status": 500,
                         "http_status_next": 0, "smsid_hex": {}, "code_hex_once": {}}
        self.rand = random.Random()
        self.faults = {"errors": 0, "timeouts": 0, "statuses": 0}
        self.by_request = {}       # RequestId -> {SMSID, phone, content, unicode, at}
        self.duplicates = 0
        self.requests = 0
        self.callbacks = []        # [status, SMSID, SendStatus]
        self.in_flight = 0         # send requests being answered now, and the most at once
        self.max_in_flight = 0

    def snapshot(self):
        return {"sends": len(self.by_request), "duplicates": self.duplicates,
                "requests": self.requests, "messages": self.by_request,
                "callbacks": self.callbacks, "faults": self.faults,
                "in_flight": self.in_flight, "max_in_flight": self.max_in_flight}


def callback_later(state, url, delay_ms, params):
    def go():
        time.sleep(delay_ms / 1000.0)
        sep = "&" if "?" in url else "?"
        full = url + sep + urllib.parse.urlencode(params)
        status = 0
        for _ in range(3):
            try:
                with urllib.request.urlopen(full, timeout=5) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                status = 0
            if status == 200 or 400 <= status < 500:
                break
            time.sleep(0.5)
        with state.lock:
            smsid = params["SMSID"]
            if isinstance(smsid, bytes):
                smsid = smsid.decode("utf-8", "replace")
            state.callbacks.append([status, smsid, params["SendStatus"]])
    threading.Thread(target=go, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "esms-double"

    def log_message(self, fmt, *args):
        sys.stderr.write("esms-double: " + (fmt % args) + "\n")

    def answer_raw_field(self, obj, field, value):
        """OBJ as JSON with FIELD's value VALUE (bytes), unescaped: a provider that does not
        check what it sends."""
        mark = "\u0001" * 8
        data = json.dumps({**obj, field: mark}).encode()
        return self.answer(None, raw=data.replace(json.dumps(mark).encode(), b'"' + value + b'"'))

    def answer(self, obj, raw=None, status=200):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.uncount()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def do_GET(self):
        st = self.server.state
        path = urllib.parse.urlparse(self.path).path
        if path == "/healthz":
            return self.answer({"ok": True})
        if path == "/_state":
            with st.lock:
                return self.answer(st.snapshot())
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if urllib.parse.urlparse(self.path).path == "/_control":
            c = json.loads(raw or b"{}")
            with st.lock:
                for k, v in c.items():
                    if k in st.settings:
                        st.settings[k] = v
                if c.get("seed") is not None:
                    st.rand.seed(c["seed"])
                if "max_in_flight" in c:
                    st.max_in_flight = st.in_flight
            return self.answer({"ok": True})
        with st.lock:
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
        self.counted = True
        try:
            self.send(st, raw)
        finally:
            self.uncount()

    def uncount(self):
        """A send is no longer in flight once its answer starts: the client may send the next
        one as soon as it has read it, before this thread would get round to counting."""
        if getattr(self, "counted", False):
            self.counted = False
            with self.server.state.lock:
                self.server.state.in_flight -= 1

    def send(self, st, raw):
        s = st.settings
        if s["delay_ms"]:
            time.sleep(s["delay_ms"] / 1000.0)
        if s["garbage"]:
            return self.answer(None, raw=b"Service Unavailable")
        try:
            m = json.loads(raw)
        except ValueError:
            return self.answer({"CodeResult": "118", "ErrorMessage": "Body is not JSON"})
        a = st.args
        if m.get("ApiKey") != a.api_key or m.get("SecretKey") != a.secret_key:
            return self.answer({"CodeResult": "101", "ErrorMessage": "Authorize Failed"})
        if m.get("Brandname") != a.brandname:
            return self.answer({"CodeResult": "104", "ErrorMessage": "Brandname not registered"})
        phone, rid = str(m.get("Phone", "")), str(m.get("RequestId", ""))
        if len(rid) > 50:
            return self.answer({"CodeResult": "118", "ErrorMessage": "RequestId too long"})
        if not PHONE_OK.match(phone):
            return self.answer({"CodeResult": "108", "ErrorMessage": "Phone invalid"})
        hang = False
        with st.lock:
            fail = None
            if s["http_status_next"] > 0:
                s["http_status_next"] -= 1
                st.faults["statuses"] += 1
                fail = s["http_status"]
            elif st.rand.random() * 100 < s["error_pct"]:
                st.faults["errors"] += 1
                fail = 500
        if fail is not None:
            return self.answer({"error": fail}, status=fail)
        with st.lock:
            st.requests += 1
            if rid and rid in st.by_request and time.time() - st.by_request[rid]["at"] < 86400:
                st.duplicates += 1
                return self.answer({"CodeResult": "124", "ErrorMessage": "Duplicate RequestId"})
            weird = s["code_hex_once"].pop(phone, None)
            if weird is not None:
                return self.answer_raw_field({"ErrorMessage": "?"}, "CodeResult", bytes.fromhex(weird))
            code = s["codes"].get(phone)
            if code:
                return self.answer({"CodeResult": str(code), "ErrorMessage": "refused"})
            if s["balance"] is not None:
                if s["balance"] <= 0:
                    return self.answer({"CodeResult": "103", "ErrorMessage": "Balance not enough"})
                s["balance"] -= 1
            smsid = secrets.token_hex(8) + "-" + secrets.token_hex(4)
            if phone in s["smsid_hex"]:
                smsid = bytes.fromhex(s["smsid_hex"][phone])
            st.by_request[rid] = {"SMSID": smsid.decode("utf-8", "replace") if isinstance(smsid, bytes) else smsid,
                                  "phone": phone, "content": m.get("Content", ""),
                                  "unicode": str(m.get("IsUnicode", "")), "at": time.time()}
            if s["hang_once"] > 0:
                s["hang_once"] -= 1
                hang = True
            elif st.rand.random() * 100 < s["timeout_pct"]:
                st.faults["timeouts"] += 1
                hang = True
            dlr = s["dlr"].get(phone, 5)
            delay = s["dlr_delay_ms"]
            hang_ms = s["hang_ms"]
        cb = m.get("CallbackUrl")
        if cb and delay is not None:
            callback_later(st, cb, delay, {"SMSID": smsid, "SendStatus": str(dlr), "RequestId": rid,
                                           "phonenumber": phone, "telcoid": "1"})
        if hang:
            time.sleep(hang_ms / 1000.0)
        if isinstance(smsid, bytes):
            return self.answer_raw_field({"CodeResult": "100", "CountRegenerate": 0}, "SMSID", smsid)
        self.answer({"CodeResult": "100", "CountRegenerate": 0, "SMSID": smsid})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default="esms-key")
    ap.add_argument("--secret-key", default="esms-secret")
    ap.add_argument("--brandname", default="BHXH")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    print(f"port={srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
