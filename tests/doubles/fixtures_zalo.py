"""Fixtures for the Zalo and eSMS doubles (loaded by tests/integration/conftest.py).

``zalo_double``  tests/doubles/zalo_double.py, and ``[gateway.zalo]`` (type zalo_zns) pointed at
                 it, its webhooks pointed at the daemon's /hooks/zalo/zalo.
``esms_double``  tests/doubles/esms_double.py, and ``[gateway.esms]`` (type http_sms, preset
                 esms) pointed at it.

Both return a ``Double``: ``.url``, ``.control(**settings)``, ``.state()``, ``.log()``.
"""

import json
import secrets
import sys
import urllib.request

import pytest

ZALO = {"app_id": "app-1", "app_secret": "app-secret", "oa_secret": "oa-secret", "refresh": "R0"}
ESMS = {"api_key": "esms-key", "secret_key": "esms-secret", "brandname": "BHXH"}


class Double:
    def __init__(self, bg, port):
        self.bg = bg
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def control(self, **settings):
        req = urllib.request.Request(self.url + "/_control", data=json.dumps(settings).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def state(self):
        with urllib.request.urlopen(self.url + "/_state", timeout=10) as r:
            return json.loads(r.read())

    def log(self):
        return self.bg.log()

    def stop(self):
        self.bg.stop()


def _start(loa, script, args, logname):
    # A free port can be taken by another test worker before the double binds it: the double
    # then exits, and is started again on another port. It is waited for until it answers or
    # exits, not for a fixed time: on a loaded machine the interpreter takes longer than any
    # short sleep to start and find the port taken.
    for attempt in range(3):
        port = harness.free_port()
        bg = harness.Background([sys.executable, harness.REPO / "tests" / "doubles" / script,
                                 "--port", port, *args], loa.dir / logname).start()
        try:
            harness.wait_http(f"http://127.0.0.1:{port}/healthz", proc=bg.proc)
            return Double(bg, port)
        except pytest.fail.Exception as e:
            if bg.proc.poll() is None or attempt == 2:
                bg.stop()
                pytest.fail(f"{script}: {e}\n" + bg.log()[-2000:])


@pytest.fixture
def zalo_double(loa, request):
    d = _start(loa, "zalo_double.py",
               ["--app-id", ZALO["app_id"], "--app-secret", ZALO["app_secret"],
                "--refresh-token", ZALO["refresh"], "--sig-id", ZALO["app_id"],
                "--sig-key", ZALO["oa_secret"],
                "--webhook-url", f"{loa.base_url}/hooks/zalo/zalo"], "zalo-double.log")
    loa.add_gateway("zalo", type="zalo_zns", oauth_url=f"{d.url}/v4/oa/access_token", api_url=d.url,
                    app_id=ZALO["app_id"], app_secret=ZALO["app_secret"], oa_secret=ZALO["oa_secret"],
                    refresh_token=ZALO["refresh"], rate=500, concurrency=20, timeout_ms=3000,
                    receipt_timeout_s=600)
    yield d
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print("--- zalo double log\n" + "\n".join(d.log().splitlines()[-40:]))
    d.stop()


@pytest.fixture
def esms_double(loa, request):
    d = _start(loa, "esms_double.py",
               ["--api-key", ESMS["api_key"], "--secret-key", ESMS["secret_key"],
                "--brandname", ESMS["brandname"]], "esms-double.log")
    loa.add_gateway("esms", type="http_sms", preset="esms",
                    url=f"{d.url}/MainService.svc/json/SendMultipleMessage_V4_post_json/",
                    api_key=ESMS["api_key"], secret_key=ESMS["secret_key"], brandname=ESMS["brandname"],
                    webhook_secret=secrets.token_hex(16), rate=500, concurrency=20, timeout_ms=3000)
    yield d
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print("--- esms double log\n" + "\n".join(d.log().splitlines()[-40:]))
    d.stop()


harness.register_gateway_fixture("zalo_double")
harness.register_gateway_fixture("esms_double")
