"""The JSON API under /api/v1/ against the real daemon and database: every endpoint with no
credentials, a wrong token and each role; the same figures as `loa campaign show`; the
lifecycle, replies, coverage and the report through it; sessions; the audit log; and that a
refused request changes nothing."""

import getpass
import http.client
import io
import json
import os
import urllib.parse
import urllib.request
import zipfile

import pytest

from test_campaign_cli import create, messages, seed

ROLES = ["officer", "supervisor", "admin"]
RANK = {"officer": 1, "supervisor": 2, "admin": 3}
PASSWORD = "mật khẩu dài 123"


class Api:
    """HTTP to the daemon with a token or a session cookie."""

    def __init__(self, daemon):
        u = urllib.parse.urlparse(daemon.url)
        self.host, self.port = u.hostname, u.port

    def call(self, method, path, body=None, token=None, cookie=None, raw=False):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if cookie is not None:
            headers["Cookie"] = f"loa_session={cookie}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        c.request(method, "/api/v1/" + path, body=data, headers=headers)
        r = c.getresponse()
        payload = r.read()
        c.close()
        if raw:
            return r.status, payload, r
        try:
            return r.status, json.loads(payload)
        except ValueError:
            pytest.fail(f"{method} {path}: answer {r.status} is not JSON: {payload[:200]!r}")

    def login(self, name, password):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        c.request("POST", "/api/v1/login", body=json.dumps({"name": name, "password": password}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        body = json.loads(r.read())
        cookie = r.getheader("Set-Cookie")
        c.close()
        return r.status, body, cookie


@pytest.fixture
def users(loa):
    """One user of each role, with a password; name → token. Few PBKDF2 rounds, to keep the
    tests quick (the default is checked by test_user_list_and_disable_from_the_command_line)."""
    loa.set("http", "password_iterations", "1000")
    pw = loa.write_file("pw.txt", PASSWORD + "\n")
    out = {}
    for role in ROLES:
        u = loa.json("user", "add", f"{role}_1", "--role", role, "--password-file", pw)
        assert u["password"] is True
        out[role] = u["token"]
    return out


@pytest.fixture
def api(daemon):
    return Api(daemon)


def audit_rows(psql):
    return psql("SELECT user_name, action, object FROM audit WHERE action NOT IN ('login','logout') AND action NOT LIKE 'user.%' ORDER BY id")


def world(psql, loa):
    """Citizens, a draft campaign with messages and a reply; returns (campaign id, reply id)."""
    ids = seed(psql, 20)
    cid = create(loa)
    messages(psql, cid, [(c, 0, "zalo", "delivered", 0, 300) for c in ids[:6]]
             + [(c, 0, "zalo", "fallback", 0, 0) for c in ids[6:10]]
             + [(c, 1, "sms", "delivered", 1, 500) for c in ids[6:9]]
             + [(ids[9], 1, "sms", "failed", 1, 0)])
    psql(f"UPDATE messages SET submitted_at = '2026-05-04 09:00+07', final_at = '2026-05-04 09:05+07'"
         f" WHERE campaign_id = {cid} AND state IN ('delivered','failed')")
    rid = psql(f"""INSERT INTO replies (channel, gateway, from_addr, citizen_id, campaign_id, body, intent)
                   VALUES ('sms', 'kannel', '84912000001', {ids[0]}, {cid}, 'Cho hỏi mức đóng?', 'question')
                   RETURNING id""")[0][0]
    return cid, int(rid)


def endpoints(cid, rid, sid):
    """(method, path, body, least role) of every endpoint."""
    return [
        ("GET", "me", None, "officer"),
        ("GET", "campaigns", None, "officer"),
        ("GET", f"campaigns/{cid}", None, "officer"),
        ("GET", f"campaigns/{cid}/breakdown?by=commune", None, "officer"),
        ("GET", f"campaigns/{cid}/conversions", None, "officer"),
        ("GET", "segments", None, "officer"),
        ("GET", f"segments/{sid}/count", None, "officer"),
        ("GET", "templates", None, "officer"),
        ("GET", "templates/1/preview", None, "officer"),
        ("GET", "replies?unanswered=1", None, "officer"),
        ("GET", "coverage?year=2026", None, "officer"),
        ("GET", "report?year=2026", None, "supervisor"),
        ("GET", "audit", None, "supervisor"),
        ("GET", "users", None, "admin"),
        ("POST", f"campaigns/{cid}/approve", {}, "supervisor"),
        ("POST", f"campaigns/{cid}/pause", {}, "officer"),
        ("POST", f"campaigns/{cid}/resume", {}, "officer"),
        ("POST", f"replies/{rid}/answer", {"text": "Mức đóng thấp nhất là 330.000 đồng."}, "officer"),
        ("POST", f"campaigns/{cid}/start", {}, "officer"),
        ("POST", f"campaigns/{cid}/cancel", {}, "officer"),
        ("POST", "campaigns", {"name": "api_made", "segment": "gl", "channels": "sms:t_sms"}, "officer"),
    ]


def snapshot(psql):
    return psql("SELECT status, approved_by, (SELECT count(*) FROM audit WHERE action NOT LIKE 'user.%'),"
                " (SELECT count(*) FROM outbound_answers),"
                " (SELECT count(*) FROM replies WHERE answered_at IS NOT NULL) FROM campaigns ORDER BY id")


def session_of(api, name):
    """A fresh dashboard session of NAME: the cookie's value."""
    status, _, cookie = api.login(name, PASSWORD)
    assert status == 200
    return cookie.split(";")[0].split("=", 1)[1]


def test_api_every_endpoint_refuses_no_token_and_a_wrong_token(loa, psql, users, api):
    cid, rid = world(psql, loa)
    sid = psql("SELECT id FROM segments WHERE name = 'gl'")[0][0]
    # A live session, which a refused logout must not end.
    session = session_of(api, "officer_1")
    before = snapshot(psql)
    for method, path, body, _ in endpoints(cid, rid, sid) + [("POST", "logout", None, "officer")]:
        for creds in ({}, {"token": "0" * 64}, {"token": users["admin"] + "x"},
                      {"cookie": "not-a-session"}, {"token": ""}):
            status, out = api.call(method, path, body, **creds)
            assert status == 401, (method, path, creds, status, out)
            assert out["error"]
    # An unknown path and a wrong scheme are refused the same way without credentials.
    assert api.call("GET", "nothing/here")[0] == 401
    c = http.client.HTTPConnection(api.host, api.port, timeout=10)
    c.request("GET", "/api/v1/campaigns", headers={"Authorization": f"Basic {users['admin']}"})
    assert c.getresponse().status == 401
    assert snapshot(psql) == before
    assert api.call("GET", "me", cookie=session)[0] == 200
    assert psql("SELECT count(*) FROM sessions") == [("1",)]


def test_api_every_endpoint_checks_the_role(loa, psql, users, api):
    """Each role on each endpoint: 403 below the endpoint's role, with nothing changed;
    otherwise an answer that is not 401/403. POSTs run in an order where each one applies."""
    loa.set("policy", "approval_threshold", "100")
    cid, rid = world(psql, loa)
    sid = psql("SELECT id FROM segments WHERE name = 'gl'")[0][0]
    for method, path, body, least in endpoints(cid, rid, sid):
        for role in ROLES:
            if RANK[role] >= RANK[least]:
                continue
            before = snapshot(psql)
            status, out = api.call(method, path, body, token=users[role])
            assert status == 403, (method, path, role, status, out)
            assert least in out["error"]
            assert snapshot(psql) == before, (method, path, role)
        allowed = [r for r in ROLES if RANK[r] >= RANK[least]]
        for role in allowed if method == "GET" else allowed[:1]:
            status, out = api.call(method, path, body, token=users[role], raw=True)[:2]
            assert status in (200, 201, 409), (method, path, role, status, out)
            if method == "POST" and "pause" not in path and "resume" not in path:
                assert status in (200, 201), (method, path, role, out)
    # Who did what, in order: every change has its row.
    assert audit_rows(psql) == [
        ("supervisor_1", "campaign.approve", f"campaign:{cid}"),
        ("officer_1", "reply.answer", f"reply:{rid}"),
        ("officer_1", "campaign.start", f"campaign:{cid}"),
        ("officer_1", "campaign.cancel", f"campaign:{cid}"),
        ("officer_1", "campaign.create", f"campaign:{cid + 1}"),
    ]


def test_api_every_change_is_allowed_to_each_role_that_may(loa, psql, users, api):
    """Each role that may do a change does it, on a campaign and a reply of its own, and is
    the user on record; logout ends the session of each role and refuses a bearer token."""
    world(psql, loa)
    ids = [int(r[0]) for r in psql("SELECT id FROM citizens ORDER BY id")]
    for n, role in enumerate(ROLES):
        user = f"{role}_1"
        tok = users[role]
        # Starting in 2099: the daemon leaves it scheduled, so pause and resume always apply.
        cid = create(loa, f"c_{role}", "zalo:t_zns,sms:t_sms", "--start", "2099-01-01T07:00")
        rid = int(psql("INSERT INTO replies (channel, gateway, from_addr, citizen_id, body, intent)"
                       " VALUES ('sms', 'kannel', :'f', :'c', 'Hỏi', 'question') RETURNING id",
                       f=f"8491200{n + 1:04d}", c=ids[n])[0][0])
        steps = [("approve", "draft")] if RANK[role] >= RANK["supervisor"] else []
        steps += [("start", "scheduled"), ("pause", "paused"), ("resume", "scheduled"), ("cancel", "cancelled")]
        for what, status_after in steps:
            status, out = api.call("POST", f"campaigns/{cid}/{what}", {}, token=tok)
            assert status == 200 and out["status"] == status_after, (role, what, status, out)
            assert psql("SELECT status FROM campaigns WHERE id = :'c'", c=cid) == [(status_after,)]
        if RANK[role] >= RANK["supervisor"]:
            assert psql("SELECT approved_by FROM campaigns WHERE id = :'c'", c=cid) == [(user,)]
        status, out = api.call("POST", f"replies/{rid}/answer", {"text": f"Trả lời của {user}"}, token=tok)
        assert status == 200 and out["answered_by"] == user, (role, out)
        assert psql("SELECT answered_by, answer FROM replies WHERE id = :'r'", r=rid) == \
            [(user, f"Trả lời của {user}")]
        status, out = api.call("POST", "campaigns", {"name": f"made_{role}", "segment": "gl",
                                                     "channels": "sms:t_sms"}, token=tok)
        assert status == 201, (role, out)
        made = out["id"]
        assert psql("SELECT name, status FROM campaigns WHERE id = :'c'", c=made) == [(f"made_{role}", "draft")]
        assert audit_rows(psql)[-len(steps) - 2:] == \
            [(user, f"campaign.{w}", f"campaign:{cid}") for w, _ in steps] + \
            [(user, "reply.answer", f"reply:{rid}"), (user, "campaign.create", f"campaign:{made}")]
        # Logout: a bearer token has no session (400, nothing ended); a session ends.
        session = session_of(api, user)
        status, out = api.call("POST", "logout", token=tok)
        assert status == 400 and "bearer" in out["error"], (role, out)
        assert api.call("GET", "me", cookie=session)[0] == 200
        status, out = api.call("POST", "logout", cookie=session)
        assert status == 200 and out == {"logged_out": True}, (role, out)
        assert api.call("GET", "me", cookie=session)[0] == 401
        assert psql("SELECT user_name, action FROM audit ORDER BY id DESC LIMIT 1") == [(user, "logout")]
    assert psql("SELECT count(*) FROM sessions") == [("0",)]


def test_api_lists_hold_what_the_database_and_the_cli_hold(loa, psql, users, api):
    """segments, segments/ID/count, templates and users: their content, not only their status."""
    seed(psql, 20)
    # Citizens outside Gia Lai and a second language: a count or a list that took everyone or
    # only the first variant would be wrong.
    psql("INSERT INTO citizens (full_name, phone, commune_code, province_code)"
         " SELECT 'Lê Thị ' || i, '8491300' || lpad(i::text, 4, '0'), c.code, c.province_code"
         " FROM generate_series(1, 7) i, (SELECT code, province_code FROM communes"
         "  WHERE province_code <> '52' ORDER BY code LIMIT 1) c")
    psql("INSERT INTO template_variants SELECT id, 'km', 'សួស្តី {{full_name}}' FROM templates WHERE name = 't_sms'")
    psql("UPDATE templates SET zns_template_id = '229077', unaccent = true WHERE name = 't_zns'")
    off = users["officer"]

    status, segs = api.call("GET", "segments", token=off)
    assert status == 200 and segs == loa.json("segment", "list")
    db = psql("SELECT id, name, filter::text, updated_at IS NOT NULL FROM segments ORDER BY name")
    assert [(str(x["id"]), x["name"], x["filter"], bool(x["updated_at"])) for x in segs["segments"]] == \
        [(i, n, json.loads(f), u == "t") for i, n, f, u in db]
    in_gl = int(psql("SELECT count(*) FROM citizens WHERE province_code = '52'")[0][0])
    assert in_gl == 20 and psql("SELECT count(*) FROM citizens") == [("27",)]
    for sid, name, _, _ in db:
        status, out = api.call("GET", f"segments/{sid}/count", token=off)
        want = {"gl": in_gl, "nobody": 0}[name]
        assert status == 200 and out == {"id": int(sid), "name": name, "citizens": want}, (name, out)
        assert out["citizens"] == loa.json("segment", "count", name)["count"]
    assert api.call("GET", "segments/999999/count", token=off)[0] == 404

    status, tpls = api.call("GET", "templates", token=off)
    assert status == 200
    db = psql("""SELECT t.id, t.name, t.channel, t.unaccent, coalesce(t.zns_template_id, '-'),
                        (SELECT string_agg(language, ',' ORDER BY language) FROM template_variants v
                          WHERE v.template_id = t.id),
                        (SELECT body FROM template_variants v WHERE v.template_id = t.id AND language = 'vi')
                   FROM templates t ORDER BY t.name""")
    assert [(str(t["id"]), t["name"], t["channel"], "t" if t["unaccent"] else "f", t["zns_template_id"] or "-",
             ",".join(t["languages"]), t["body_vi"]) for t in tpls["templates"]] == [tuple(r) for r in db]
    assert [t["languages"] for t in tpls["templates"]] == [["km", "vi"], ["vi"]]

    # Users: one disabled and one with no password, as the CLI lists them.
    loa.ok("user", "add", "nopw", "--role", "officer")
    loa.ok("user", "disable", "officer_1")
    status, us = api.call("GET", "users", token=users["admin"])
    assert status == 200 and us == loa.json("user", "list")
    db = psql("SELECT id, name, role, password_hash IS NOT NULL, disabled_at IS NOT NULL FROM users ORDER BY name")
    assert [(str(u["id"]), u["name"], u["role"], u["password"], u["disabled_at"] is not None)
            for u in us["users"]] == [(i, n, r, p == "t", d == "t") for i, n, r, p, d in db]
    assert [(u["name"], u["password"], u["disabled_at"] is None) for u in us["users"]] == \
        [("admin_1", True, True), ("nopw", False, True), ("officer_1", True, False), ("supervisor_1", True, True)]
    assert all("token" not in u and "password_hash" not in u for u in us["users"])


def test_api_campaign_show_has_the_figures_of_the_cli(loa, psql, users, api):
    cid, _ = world(psql, loa)
    cli = loa.json("campaign", "show", "may")
    status, got = api.call("GET", f"campaigns/{cid}", token=users["officer"])
    assert status == 200 and got == cli
    assert got["by_channel"]["sms"]["delivered"] == 3 and got["by_channel"]["zalo"]["fallback"] == 4

    status, lst = api.call("GET", "campaigns", token=users["officer"])
    one = [c for c in lst["campaigns"] if c["id"] == cid][0]
    cli_list = [c for c in loa.json("campaign", "list")["campaigns"] if c["id"] == cid][0]
    for k in cli_list:
        assert one[k] == cli_list[k], k
    assert one["topic"] == "general" and one["needs_approval"] is False

    for by in ("commune", "group", "channel"):
        status, b = api.call("GET", f"campaigns/{cid}/breakdown?by={by}", token=users["officer"])
        assert status == 200 and b == loa.json("campaign", "show", "may", "--by", by), by
    # By channel, the citizens who replied and opted out there: two SMS replies of one citizen
    # (one an opt-out) and a Zalo one of another count one and one, the opt-out on SMS only.
    psql(f"""INSERT INTO replies (channel, gateway, from_addr, citizen_id, campaign_id, body, intent)
             SELECT 'sms', 'kannel', '84912000001', c.id, {cid}, 'TC', 'opt_out' FROM citizens c WHERE c.phone = '84912000001'
             UNION ALL SELECT 'zalo', 'oa', 'zu-2', c.id, {cid}, 'Cảm ơn', 'other'
               FROM citizens c WHERE c.id = (SELECT min(id) + 1 FROM citizens)""")
    rows = {r["code"]: r for r in api.call("GET", f"campaigns/{cid}/breakdown?by=channel", token=users["officer"])[1]["rows"]}
    assert (rows["sms"]["replies"], rows["sms"]["opted_out"], rows["zalo"]["replies"], rows["zalo"]["opted_out"]) \
        == (1, 1, 1, 0), rows
    assert loa.json("campaign", "show", "may", "--by", "channel")["rows"] == list(rows.values())
    status, days = api.call("GET", f"campaigns/{cid}/breakdown?by=day", token=users["officer"])
    assert status == 200
    assert days["rows"] == [{"day": "2026-05-04", "sent": 9, "delivered": 9, "failed": 1}]

    assert api.call("GET", f"campaigns/{cid}/breakdown?by=planet", token=users["officer"])[0] == 400
    assert api.call("GET", f"campaigns/{cid}/breakdown", token=users["officer"])[0] == 400
    assert api.call("GET", "campaigns/999999", token=users["officer"])[0] == 404
    assert api.call("GET", "campaigns/abc", token=users["officer"])[0] == 404
    assert api.call("DELETE", "campaigns", token=users["officer"])[0] == 405


def test_api_lifecycle_records_the_approver_and_refuses_with_reasons(loa, psql, users, daemon, api):
    seed(psql, 20)
    loa.set("policy", "approval_threshold", "5")
    assert daemon.stop() == 0
    daemon.start()
    cid = create(loa)
    sup = users["supervisor"]
    off = users["officer"]
    # Too large to start unapproved: 409 with the reason; the campaign stays a draft.
    status, out = api.call("POST", f"campaigns/{cid}/start", token=off)
    assert status == 409 and "approve" in out["error"]
    assert psql(f"SELECT status, needs_approval FROM campaigns WHERE id = {cid}") == [("draft", "t")]
    # An officer may not approve; a supervisor may, and is the approver on record.
    assert api.call("POST", f"campaigns/{cid}/approve", token=off)[0] == 403
    assert psql(f"SELECT approved_by IS NULL FROM campaigns WHERE id = {cid}") == [("t",)]
    status, out = api.call("POST", f"campaigns/{cid}/approve", token=sup)
    assert status == 200 and out["approved_by"] == "supervisor_1"
    assert loa.json("campaign", "show", "may")["approved_by"] == "supervisor_1"
    # Pausing a draft is refused with the reason.
    status, out = api.call("POST", f"campaigns/{cid}/pause", token=off)
    assert status == 409 and "is draft; it cannot be paused" in out["error"]
    status, out = api.call("POST", f"campaigns/{cid}/start", token=off)
    assert status == 200 and out["status"] == "scheduled"
    # The daemon may have begun it meanwhile: resume goes back to where it was paused from.
    was = api.call("POST", f"campaigns/{cid}/pause", token=off)
    assert was[0] == 200 and was[1]["status"] == "paused"
    paused_from = psql(f"SELECT paused_from FROM campaigns WHERE id = {cid}")[0][0]
    assert api.call("POST", f"campaigns/{cid}/resume", token=off)[1]["status"] == paused_from
    status, out = api.call("POST", f"campaigns/{cid}/cancel", token=off)
    assert status == 200 and out["status"] == "cancelled"
    assert out["messages_cancelled"] == int(psql(
        f"SELECT count(*) FROM messages WHERE campaign_id = {cid} AND reason = 'campaign cancelled'")[0][0])
    status, out = api.call("POST", f"campaigns/{cid}/cancel", token=off)
    assert status == 409 and "is cancelled" in out["error"]
    assert api.call("POST", "campaigns/424242/pause", token=off)[0] == 404
    acts = psql("SELECT user_name, action, detail->>'from', detail->>'to' FROM audit"
                " WHERE object = :'o' ORDER BY id", o=f"campaign:{cid}")
    assert acts == [("supervisor_1", "campaign.approve", "draft", "draft"),
                    ("officer_1", "campaign.start", "draft", "scheduled"),
                    ("officer_1", "campaign.pause", paused_from, "paused"),
                    ("officer_1", "campaign.resume", "paused", paused_from),
                    ("officer_1", "campaign.cancel", acts[4][2], "cancelled")]
    status, log = api.call("GET", "audit", token=sup)
    assert [a["action"] for a in log["audit"]][:5] == ["campaign.cancel", "campaign.resume",
                                                       "campaign.pause", "campaign.start",
                                                       "campaign.approve"]


def test_api_replies_answer_once_with_reasons(loa, psql, users, api):
    cid, rid = world(psql, loa)
    off = users["officer"]
    status, q = api.call("GET", "replies?unanswered=1", token=off)
    assert status == 200 and [r["id"] for r in q["replies"]] == [rid]
    assert q["replies"][0]["from"] != "84912000001"      # masked
    assert api.call("GET", "replies?unanswered=yes", token=off)[0] == 400
    for bad in ({"text": "   "}, {"text": "x" * 1601}, {}, b"not json"):
        status, out = api.call("POST", f"replies/{rid}/answer", bad, token=off)
        assert status == 400 and out["error"]
    assert psql("SELECT count(*) FROM outbound_answers") == [("0",)]
    status, out = api.call("POST", f"replies/{rid}/answer", {"text": "Dạ, 330.000 đồng/tháng."}, token=off)
    assert status == 200 and out["answered_by"] == "officer_1" and out["state"] == "pending"
    assert psql("SELECT answered_by, answer FROM replies WHERE id = :'r'", r=rid) == \
        [("officer_1", "Dạ, 330.000 đồng/tháng.")]
    # Queued with the greeting of its channel around the officer's words.
    (queued,) = psql("SELECT reply_id, body, answered_by FROM outbound_answers")
    assert queued[0] == str(rid) and queued[2] == "officer_1" and "Dạ, 330.000 đồng/tháng." in queued[1], queued
    status, out = api.call("POST", f"replies/{rid}/answer", {"text": "lần hai"}, token=off)
    assert status == 409 and "already answered by officer_1" in out["error"]
    assert api.call("POST", "replies/999999/answer", {"text": "x"}, token=off)[0] == 404
    assert api.call("GET", "replies?unanswered=1", token=off)[1]["replies"] == []
    assert psql("SELECT count(*) FROM outbound_answers") == [("1",)]


def test_api_login_sessions_expire_end_and_die_with_the_user(loa, psql, users, api):
    assert api.login("officer_1", "wrong password")[0] == 401
    assert api.login("nobody", PASSWORD)[0] == 401
    assert api.call("POST", "login", {"name": "officer_1"})[0] == 400
    status, me, cookie = api.login("officer_1", PASSWORD)
    assert status == 200 and me["role"] == "officer" and me["expires_at"]
    parts = [p.strip() for p in cookie.split(";")]
    assert "HttpOnly" in parts and "SameSite=Strict" in parts and "Path=/" in parts
    assert any(p.startswith("Max-Age=") and int(p[8:]) > 0 for p in parts)
    session = parts[0].split("=", 1)[1]
    # Only the hash is stored.
    assert psql("SELECT count(*) FROM sessions WHERE token_sha256 = encode(sha256(:'s'::bytea), 'hex')",
                s=session) == [("1",)]
    assert psql("SELECT count(*) FROM sessions WHERE token_sha256 = :'s'", s=session) == [("0",)]
    status, me = api.call("GET", "me", cookie=session)
    assert status == 200 and me["name"] == "officer_1"
    assert api.call("GET", "users", cookie=session)[0] == 403
    # Logging out ends the session.
    status, out, r = api.call("POST", "logout", cookie=session, raw=True)
    assert status == 200 and "Max-Age=0" in r.getheader("Set-Cookie")
    assert api.call("GET", "me", cookie=session)[0] == 401
    # An expired session is refused.
    session = session_of(api, "supervisor_1")
    assert api.call("GET", "me", cookie=session)[0] == 200
    psql("UPDATE sessions SET expires_at = now() - interval '1 second'")
    assert api.call("GET", "me", cookie=session)[0] == 401
    # A disabled user is refused with the token, the session and the password.
    session = session_of(api, "admin_1")
    loa.ok("user", "disable", "admin_1")
    assert api.call("GET", "me", cookie=session)[0] == 401
    assert api.call("GET", "me", token=users["admin"])[0] == 401
    assert api.login("admin_1", PASSWORD)[0] == 401
    assert [a[1] for a in psql("SELECT user_name, action FROM audit WHERE action NOT LIKE 'user.%' ORDER BY id")] == \
        ["login", "logout", "login", "login"]


def test_api_coverage_marks_communes_below_target(loa, psql, users, api):
    cid, _ = world(psql, loa)   # 9 citizens reached in May 2026: communes 23200 (even) and 23203
    by_commune = dict(psql(f"""SELECT c.commune_code, count(DISTINCT m.citizen_id) FROM messages m
                               JOIN citizens c ON c.id = m.citizen_id
                               WHERE m.campaign_id = {cid} AND m.state = 'delivered' GROUP BY 1"""))
    psql("INSERT INTO coverage_targets (year, commune_code, population, target_pct) VALUES"
         " (2026, '23200', 10, 30), (2026, '23203', 100, 45)")
    status, cov = api.call("GET", "coverage?year=2026", token=users["officer"])
    assert status == 200
    rows = {c["code"]: c for c in cov["communes"]}
    a, b = rows["23200"], rows["23203"]
    assert a["reached"] == int(by_commune["23200"]) and a["population"] == 10
    assert a["reached_pct"] == round(100 * a["reached"] / 10, 2) and a["below_target"] is False
    assert b["reached"] == int(by_commune["23203"]) and b["below_target"] is True
    assert cov["totals"]["reached"] == 9 and cov["totals"]["population"] == 110
    assert cov["activity"] == {"communes": 2, "active": 2, "share_pct": 100, "target_pct": 70,
                               "below_target": False,
                               "provinces": [{"code": "52", "name": "Gia Lai", "communes": 2, "active": 2,
                                              "share_pct": 100, "target_pct": 70, "target_source": "default",
                                              "below_target": False}]}
    assert sum(g["reached"] for g in cov["groups"]) == 9
    # Another year and another topic reach nobody.
    status, cov = api.call("GET", "coverage?year=2025", token=users["officer"])
    assert status == 200 and cov["communes"] == []
    status, cov = api.call("GET", "coverage?year=2026&topic=voluntary", token=users["officer"])
    assert status == 200 and all(c["reached"] == 0 for c in cov["communes"])
    for bad in ("coverage", "coverage?year=26", "coverage?year=2026&topic=x"):
        assert api.call("GET", bad, token=users["officer"])[0] == 400, bad


def test_api_report_is_the_xlsx_of_loa_report(loa, psql, users, api):
    world(psql, loa)
    psql("UPDATE campaigns SET started_at = '2026-05-04 08:00+07'")
    status, body, r = api.call("GET", "report?year=2026", token=users["supervisor"], raw=True)
    assert status == 200, body[:300]
    assert r.getheader("Content-Type").startswith("application/vnd.openxmlformats")
    assert "attachment" in r.getheader("Content-Disposition")
    z = zipfile.ZipFile(io.BytesIO(body))
    names = z.namelist()
    assert "xl/workbook.xml" in names
    wb = z.read("xl/workbook.xml").decode()
    assert all(s in wb for s in ("Chiến dịch", "Xã phường", "Nhóm đối tượng", "Kênh", "Phản hồi",
                                 "Độ bao phủ", "Chuyển đổi", "Tổng hợp"))
    out = loa.dir / "cli.xlsx"
    loa.ok("report", "--year", "2026", "--format", "xlsx", "--out", out)
    cli = zipfile.ZipFile(out)
    # Every sheet holds the same cells as `loa report` writes.
    for sheet in (n for n in names if n.startswith("xl/worksheets/")):
        assert z.read(sheet) == cli.read(sheet), sheet
    assert api.call("GET", "report?year=20", token=users["supervisor"])[0] == 400
    assert api.call("GET", "report?from=2026-05-01&to=2026-04-01", token=users["supervisor"])[0] == 400


@pytest.fixture
def report_tmpdir(loa, monkeypatch):
    """The daemon's $TMPDIR: a folder of the test's own (systemd gives the service a private
    /tmp; the report must go where TMPDIR says)."""
    d = loa.dir / "tmp"
    d.mkdir()
    monkeypatch.setenv("TMPDIR", str(d))
    return d


def test_api_report_is_written_in_tmpdir_and_removed(report_tmpdir, loa, psql, users, daemon):
    world(psql, loa)
    api = Api(daemon)
    status, body, _ = api.call("GET", "report?year=2026", token=users["supervisor"], raw=True)
    assert status == 200 and zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert list(report_tmpdir.iterdir()) == [], "nothing is left behind"
    # Where $TMPDIR says, not /tmp: without the folder there is no report.
    report_tmpdir.rmdir()
    status, err = api.call("GET", "report?year=2026", token=users["supervisor"])
    assert status == 500 and str(report_tmpdir) in err["error"], err
    assert daemon.get("/healthz")[0] == 200


def test_dashboard_is_served_from_the_binary(loa, daemon):
    status, body = daemon.get("/")
    assert status == 200 and "<html" in body.lower() or "<!doctype html" in body.lower()
    for path in ("/", "/app.js", "/app.css", "/charts.js"):
        assert daemon.get(path)[0] == 200, path
        # Strict: the page works without inline styles or scripts, or eval (the browser test
        # fails on any violation), so none is allowed.
        with urllib.request.urlopen(daemon.url + path, timeout=10) as r:
            csp = r.headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'self';") and "unsafe" not in csp, (path, csp)
    assert daemon.get("/nothing.js")[0] == 404


def test_user_list_and_disable_from_the_command_line(loa, psql):
    loa.set("http", "password_iterations", "1000")
    pw = loa.write_file("pw", "short\n")
    p = loa.run("user", "add", "x", "--role", "officer", "--password-file", pw)
    assert p.returncode == 1 and "8 to" in p.stderr
    assert psql("SELECT count(*) FROM users") == [("0",)]
    pw = loa.write_file("pw", PASSWORD + "\n")
    loa.ok("user", "add", "lan", "--role", "supervisor", "--password-file", pw)
    loa.ok("user", "add", "bob", "--role", "officer")
    stored = psql("SELECT password_hash FROM users WHERE name = 'lan'")[0][0]
    assert stored.startswith("pbkdf2-sha256$1000$") and PASSWORD not in stored
    # 1000 rounds here to keep the test quick; a deployment hashes with 600,000 by default.
    keys = loa.ok("config", "keys").stdout
    assert any("password_iterations" in l and "600000" in l for l in keys.splitlines()), keys
    us = {u["name"]: u for u in loa.json("user", "list")["users"]}
    assert us["lan"]["role"] == "supervisor" and us["lan"]["password"] is True
    assert us["bob"]["password"] is False and us["bob"]["disabled_at"] is None
    loa.ok("user", "disable", "lan")
    assert loa.json("user", "list")["users"][1]["disabled_at"]
    p = loa.run("user", "disable", "lan")
    assert p.returncode == 1 and "already disabled" in p.stderr
    p = loa.run("user", "disable", "nobody")
    assert p.returncode == 1 and "no user" in p.stderr
    # Each change to the users is audited, by the login that ran the command; refusals are not.
    login = os.environ.get("USER") or os.environ.get("LOGNAME") or getpass.getuser()
    rows = psql("SELECT user_id IS NULL, user_name, action, object, detail->>'name', detail->>'role',"
                " detail->>'password' FROM audit ORDER BY id")
    ids = dict(psql("SELECT name, id FROM users"))
    assert rows == [("t", f"shell:{login}", "user.add", f"user:{ids['lan']}", "lan", "supervisor", "true"),
                    ("t", f"shell:{login}", "user.add", f"user:{ids['bob']}", "bob", "officer", "false"),
                    ("t", f"shell:{login}", "user.disable", f"user:{ids['lan']}", "lan", "supervisor", "")], rows
    # A disabled supervisor approves nothing from the command line either.
    seed(psql, 2)
    create(loa)
    p = loa.run("campaign", "approve", "may", "--by", "lan")
    assert p.returncode == 1 and "not a supervisor" in p.stderr


def test_api_conversions_count_participation_changes_after_delivery(loa, psql, users, api):
    cid, _ = world(psql, loa)
    ids = [int(r[0]) for r in psql("SELECT id FROM citizens ORDER BY id")]
    psql(f"UPDATE messages SET final_at = now() - interval '1 day' WHERE campaign_id = {cid} AND state = 'delivered'")
    psql("UPDATE citizens SET participation = 'none'")          # unknown → none: no conversion
    psql(f"UPDATE citizens SET participation = 'voluntary' WHERE id IN ({ids[0]}, {ids[6]}, {ids[15]})")
    psql(f"UPDATE citizens SET participation = 'compulsory' WHERE id = {ids[1]}")
    psql(f"UPDATE citizens SET participation = 'stopped' WHERE id = {ids[2]}")
    # An import that changes a participation is recorded too (citizen 5, reached by Zalo).
    f = loa.write_file("c.csv", "full_name,phone,commune_code,participation\n"
                       "Nguyễn Văn 5,84912000005,23203,voluntary\n")
    loa.ok("import", "citizens", f)
    assert psql(f"SELECT old_value, new_value FROM participation_changes WHERE citizen_id = {ids[4]}"
                " ORDER BY changed_at DESC LIMIT 1") == [("none", "voluntary")]
    # A change later than the window counts only with a longer one.
    psql(f"INSERT INTO participation_changes (citizen_id, changed_at, old_value, new_value)"
         f" VALUES ({ids[3]}, now() + interval '100 days', 'none', 'voluntary')")
    status, conv = api.call("GET", f"campaigns/{cid}/conversions", token=users["officer"])
    assert status == 200 and conv["days"] == 90
    # ids 0, 1, 4 reached by Zalo; id 6 by SMS; id 15 was never reached; id 2 stopped.
    assert conv["converted"] == 4
    assert {r["code"]: r["converted"] for r in conv["by_channel"]} == {"zalo": 3, "sms": 1}
    assert sum(r["converted"] for r in conv["by_commune"]) == 4
    assert sum(r["converted"] for r in conv["by_group"]) == 4
    status, conv = api.call("GET", f"campaigns/{cid}/conversions?days=120", token=users["officer"])
    assert conv["converted"] == 5
    assert api.call("GET", f"campaigns/{cid}/conversions?days=0", token=users["officer"])[0] == 400
    assert api.call("GET", "campaigns/999999/conversions", token=users["officer"])[0] == 404
    assert api.call("GET", f"campaigns/{cid}/conversions")[0] == 401
    # Archived, the campaign still has its conversions.
    loa.ok("campaign", "cancel", str(cid))
    loa.ok("campaign", "archive", str(cid))
    assert psql(f"SELECT count(*) FROM messages WHERE campaign_id = {cid}") == [("0",)]
    status, conv = api.call("GET", f"campaigns/{cid}/conversions?days=120", token=users["officer"])
    assert status == 200 and conv["converted"] == 5, conv


def test_api_campaign_create_checks_like_the_cli(loa, psql, users, api):
    seed(psql, 4)
    off = users["officer"]
    body = {"name": "tháng 5", "segment": "gl", "channels": "zalo:t_zns,sms:t_sms",
            "start": "2026-05-01 07:00", "end": "2099-05-31T21:00+07:00", "window": "07:30-20:00",
            "topic": "voluntary"}
    status, out = api.call("POST", "campaigns", body, token=off)
    assert status == 201 and out["status"] == "draft" and out["name"] == "tháng 5"
    show = loa.json("campaign", "show", "tháng 5")
    assert show["id"] == out["id"] and show["segment"] == "gl" and show["window"] == "07:30-20:00"
    assert show["topic"] == "voluntary" and show["starts_at"] == "2026-05-01T00:00:00Z"
    assert show["ends_at"] == "2099-05-31T14:00:00Z"
    assert [(c["channel"], c["template"]) for c in show["channels"]] == [("zalo", "t_zns"), ("sms", "t_sms")]
    assert show["per_phone"] == "one" and show["daily_cap"] is None
    assert psql("SELECT user_name, action FROM audit WHERE action NOT LIKE 'user.%'") == [("officer_1", "campaign.create")]
    # --per-phone and --daily-cap, as the CLI has them.
    status, out = api.call("POST", "campaigns", {**body, "name": "capped", "per_phone": "all",
                                                 "daily_cap": 500}, token=off)
    assert status == 201, out
    show = loa.json("campaign", "show", "capped")
    assert show["per_phone"] == "all" and show["daily_cap"] == 500
    # null is the default, as when the key is absent.
    status, out = api.call("POST", "campaigns", {**body, "name": "nulls", "per_phone": None,
                                                 "daily_cap": None}, token=off)
    assert status == 201, out
    show = loa.json("campaign", "show", "nulls")
    assert show["per_phone"] == "one" and show["daily_cap"] is None
    assert psql("SELECT detail->>'per_phone' FROM audit WHERE object = 'campaign:%d'" % out["id"]) == [("one",)]
    before = psql("SELECT count(*) FROM campaigns")
    for bad, says in (({**body}, "already exists"),
                      ({**body, "name": ""}, "name"),
                      ({**body, "name": "b", "segment": "nope"}, "no segment 'nope'"),
                      ({**body, "name": "b", "channels": "fax:t"}, "unknown channel"),
                      ({**body, "name": "b", "channels": "sms:nope"}, "no template 'nope'"),
                      ({**body, "name": "b", "channels": "sms:t_zns"}, "needs a sms template"),
                      ({**body, "name": "b", "channels": "sms@nogw:t_sms"}, "no gateway 'nogw'"),
                      ({**body, "name": "b", "window": "21:00-07:00"}, "window"),
                      ({**body, "name": "b", "topic": "sports"}, "topic"),
                      ({**body, "name": "b", "per_phone": "some"}, "per_phone"),
                      ({**body, "name": "b", "per_phone": 1}, "per_phone"),
                      ({**body, "name": "b", "daily_cap": 0}, "daily_cap"),
                      ({**body, "name": "b", "daily_cap": 2.5}, "daily_cap"),
                      ({**body, "name": "b", "daily_cap": 1e300}, "daily_cap"),
                      ({**body, "name": "b", "daily_cap": "500"}, "daily_cap"),
                      ({**body, "name": "b", "start": "tomorrow"}, "ISO 8601"),
                      ({**body, "name": "b", "end": "2020-01-01"}, "already past"),
                      ({**body, "name": "b", "start": "2099-06-01", "end": "2099-05-01"}, "before end")):
        status, out = api.call("POST", "campaigns", bad, token=off)
        assert status == 400 and says in out["error"], (bad, status, out)
    assert psql("SELECT count(*) FROM campaigns") == before
    assert psql("SELECT count(*) FROM audit WHERE action NOT LIKE 'user.%'") == [("3",)]


def test_api_template_preview_renders_for_a_citizen(loa, psql, users, api):
    ids = seed(psql, 3)
    off = users["officer"]
    tpl = dict(psql("SELECT name, id FROM templates"))
    status, out = api.call("GET", f"templates/{tpl['t_sms']}/preview?citizen={ids[1]}", token=off)
    assert status == 200, out
    assert out["text"] == "Kính gửi Nguyễn Văn 2, BHXH thông báo." and out["citizen_id"] == ids[1]
    assert out["encoding"] == "UCS-2" and out["parts"] == 1 and out["units"] == len(out["text"])
    zid = psql("""INSERT INTO templates (name, channel) VALUES ('z2', 'zns') RETURNING id""")[0][0]
    psql(f"""INSERT INTO template_variants VALUES ({zid}, 'vi', '{{"ten": "{{{{full_name}}}}"}}')""")
    status, out = api.call("GET", f"templates/{zid}/preview", token=off)
    assert status == 200 and out["citizen_id"] == ids[0], out
    assert out["template_data"] == {"ten": "Nguyễn Văn 1"}
    assert api.call("GET", "templates/999/preview", token=off)[0] == 404
    assert api.call("GET", f"templates/{tpl['t_sms']}/preview?citizen=999999", token=off)[0] == 404
    assert api.call("GET", f"templates/{tpl['t_sms']}/preview?citizen=x", token=off)[0] == 400
