"""Fixtures for loa's integration tests: real PostgreSQL, real Kannel, the real daemon.

Run them with ``make test`` (tests/run.sh), or alone once ``make build/loa`` is done::

    python3 -m pytest -q tests/integration
    LOA_BIN=build/loa-asan python3 -m pytest -q tests/integration -k kannel

Fixtures
--------
``pg`` (session)
    A throw-away PostgreSQL cluster (tests/pg.sh, fsync off) in a temporary directory; its
    libpq URL. It holds a database ``loa_tmpl`` migrated once with ``loa db migrate``.

``db_url`` (function)
    The URL of a fresh database ``t_<n>`` for this test alone, a copy of ``loa_tmpl``, so
    already migrated. ``empty_db_url`` gives a fresh database with no migration applied.

``psql`` (function)
    ``psql(sql, url=None, **vars)`` runs SQL (default: on ``db_url``) and returns rows as
    tuples of strings. Values go in as psql variables, quoted by psql::

        psql("SELECT count(*) FROM citizens WHERE phone = :'p'", p="84912345678")

``loa`` (function)
    Runs the CLI with a config file of its own (database = ``db_url``, HTTP on a free port,
    window 00:00-24:00 so tests do not depend on the hour)::

        loa.run("segment", "count", "--filter", str(f))          # CompletedProcess (text)
        show = loa.json("campaign", "show", "may", "--json")     # parsed stdout, exit 0 asserted
        loa.ok("campaign", "start", "may")                       # exit 0 asserted
        loa.set("policy", "frequency_cap", "5/7d")
        loa.add_gateway("esms", type="http_sms", preset="esms", url=...)   # `type` first
        loa.write_file("c.csv", "full_name,phone,commune_code\\n...")   # path in loa.dir

    The config is rewritten before every command, so gateways added later are included.

``kannel`` (function)
    Real Kannel (bearerbox, smsbox) and its fake SMSC on free ports (tests/kannel.sh), its
    MO hook pointed at the daemon of this test; it also adds ``[gateway.kannel]`` to the
    ``loa`` config. ``@pytest.mark.kannel_conf(core="sms-outgoing-queue-limit = 10",
    smsc="throughput = 5")`` adds lines to its bearerbox core and smsc groups.
    ``make_kannel(mo_url=..., core=..., smsc=...)`` starts one whose MO hook points elsewhere::

        kannel.sendsms_url, kannel.username, kannel.password, kannel.hook_secret
        kannel.sendsms("84912345678", "Xin chào", coding=2)    # (status, body), straight to Kannel
        kannel.received()            # every MT part the fake SMSC got: list of dicts
        kannel.messages()            # the same, concatenated parts joined: list of dicts
        kannel.wait_messages(3)      # waits (10 s) until at least 3 whole messages arrived
        kannel.send_mo("84912345678", "TC")   # a citizen's reply, through bearerbox and smsbox
        kannel.smsbox_stop(); kannel.smsbox_start()   # an operator restarting smsbox
        kannel.smsc_stop(); kannel.smsc_start()       # the SMSC link lost and back
        kannel.sent_to_smsc()        # numbers bearerbox sent to the SMSC (its access log)

    Each dict has ``sender``, ``to``, ``coding`` ("text", "ucs2" or "data"), ``text``.

``daemon`` (function)
    ``loa serve`` with the ``loa`` config, started once /healthz answers 200; stopped with
    SIGTERM at the end of the test, which asserts exit status 0. Its log is printed when a
    test fails. Gateway fixtures the test asks for (``kannel`` and those registered with
    ``register_gateway_fixture``) are set up first, whatever the argument order::

        def test_sms_reaches_citizen(loa, kannel, daemon):
            ...
            daemon.get("/metrics")       # (status, body)
            daemon.stop()                # SIGTERM, returns the exit status
            daemon.kill(); daemon.start()    # crash and restart

Adding fixtures (gateway doubles and the like)
----------------------------------------------
Put them in ``tests/doubles/fixtures_<name>.py`` or ``tests/integration/fixtures_<name>.py``
as ordinary ``@pytest.fixture`` functions: every fixture defined there is loaded here. A
fixture that adds a gateway to the ``loa`` config must be set up before the daemon starts:
call ``harness.register_gateway_fixture("zalo_double")`` in that module. Such a module sees
this conftest as the global ``harness``, with helpers: ``harness.free_port()``,
``harness.wait_http(url, proc=...)``, ``harness.http_get(url)``, ``harness.Background`` (a
process with its log in a file), ``harness.REPO``. For example::

    import pytest

    @pytest.fixture
    def zalo_double(loa):
        port = harness.free_port()
        p = harness.Background([sys.executable, harness.REPO / "tests/doubles/zalo_double.py",
                                "--port", port], loa.dir / "zalo.log").start()
        harness.wait_http(f"http://127.0.0.1:{port}/healthz", proc=p.proc)
        loa.add_gateway("zalo", type="zalo_zns", api_url=f"http://127.0.0.1:{port}", ...)
        yield p
        p.stop()

    harness.register_gateway_fixture("zalo_double")
"""

import importlib.util
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    # tests/run.sh leaves these out of the sanitized pass: they run the plain pass's code paths
    # again at volume (thousands of rows, processes or messages), which under ASan costs minutes
    # and finds nothing the smaller tests of the same paths do not.
    config.addinivalue_line("markers", "volume: the same code paths at volume; plain pass only")
    # Also left out of it: tests whose time goes into waiting on the clock, the gateways or many
    # short processes (kill loops, takeovers, the help of every command, hundreds of replies),
    # whose C paths the sanitized pass runs in the smaller tests beside them.
    config.addinivalue_line("markers", "plain_only: paths the sanitized pass covers in other tests; plain pass only")
    config.addinivalue_line("markers", "kannel_conf(core=, smsc=): lines added to the `kannel` fixture's bearerbox groups")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


# tests/run.sh runs pytest in the background, where SIGINT starts ignored, and stops it with
# SIGTERM: both become an interruption, so fixtures still stop their clusters and daemons.
signal.signal(signal.SIGTERM, _interrupt)
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
PG_SH = REPO / "tests" / "pg.sh"
KANNEL_SH = REPO / "tests" / "kannel.sh"


def loa_bin():
    """The binary under test: $LOA_BIN, else build/loa."""
    b = Path(os.environ.get("LOA_BIN", REPO / "build" / "loa"))
    if not b.is_absolute():
        b = REPO / b
    if not os.access(b, os.X_OK):
        pytest.fail(f"{b} is missing: run `make {b.relative_to(REPO) if b.is_relative_to(REPO) else b}` first")
    return b


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on now. Drawn below the kernel's ephemeral range
    (32768-60999 here), where no outgoing connection can take it between now and the bind of
    the server it is for: the flood tests open thousands of connections."""
    import random
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reserve_port():
    """free_port(), held until the caller closes the returned socket: bound with SO_REUSEADDR
    and not listening, so that another test process's free_port() cannot pick it before its
    server binds it (the plain and sanitized passes run side by side; once, a daemon found its
    port taken and the test talked to another test's daemon). `loa serve` sets SO_REUSEADDR
    too, and Linux lets it bind beside a socket that does not listen. (port, socket)."""
    for _ in range(20):
        port = free_port()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return port, s
        except OSError:
            s.close()
    pytest.fail("no free port to reserve")


def http_get(url, timeout=5):
    """(status, body text) of a GET; HTTP errors are answers, not exceptions."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def wait_http(url, timeout=20, status=200, proc=None):
    """Polls URL until it answers STATUS; fails the test after TIMEOUT seconds, or as soon
    as PROC (a Popen) has exited."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process exited with status {proc.returncode} before {url} answered")
        try:
            code, _ = http_get(url, timeout=1)
            if code == status:
                return
            last = f"status {code}"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer {status} within {timeout}s (last: {last})")


def wait_for(pred, timeout=60, what="condition"):
    """Polls PRED until it returns something true, which is returned; fails the test after
    TIMEOUT seconds, naming WHAT it waited for. The polls come every 0.05 s at first and then
    less often, up to every 0.5 s: most predicates start a `loa` process, and polling at a fixed
    0.2 s, hundreds of waits in parallel took a large share of the CPU the daemons under test
    needed (under ASan a process costs about 0.1 s of CPU)."""
    deadline = time.monotonic() + timeout
    pause = 0.05
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def show(loa, name):
    """`loa campaign show NAME --json`, parsed."""
    return loa.json("campaign", "show", name)


def _pg_bindir():
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not dirs:
        pytest.fail("PostgreSQL server binaries not found (apt-get install postgresql)")
    return dirs[-1]


def psql_command(url):
    """The psql command line for URL: unaligned rows, tab-separated, no psqlrc."""
    return [str(_pg_bindir() / "psql"), "-X", "-q", "-A", "-t", "-F", "\t", "-d", url]


def run_psql(url, sql, **variables):
    """Runs SQL on URL with psql; rows as tuples of strings. Fails the test on an error."""
    cmd = psql_command(url) + ["-v", "ON_ERROR_STOP=1"]
    for k, v in variables.items():
        cmd += ["-v", f"{k}={v}"]
    # -c does not expand variables; standard input does.
    p = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        pytest.fail(f"psql failed ({p.returncode}): {p.stderr.strip()}\nSQL: {sql}")
    return [tuple(line.split("\t")) for line in p.stdout.splitlines() if line != ""]


def db_url_for(cluster_url, dbname):
    """The cluster URL with its database name replaced."""
    m = re.match(r"^(postgres(?:ql)?://[^/?]*)(/[^?]*)?(\?.*)?$", cluster_url)
    if not m:
        raise ValueError(f"not a libpq URL: {cluster_url}")
    return f"{m.group(1)}/{dbname}{m.group(3) or ''}"


def _write_config(path, sections):
    """Writes SECTIONS ({section: {key: value}}, in order) as INI."""
    lines = []
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        for k, v in keys.items():
            lines.append(f"{k} = {v}")
        lines.append("")
    Path(path).write_text("\n".join(lines))


class Background:
    """A background process whose standard output and error go to LOG (a path).

    ``start()``, ``stop(sig=SIGTERM, timeout=30)`` → exit status, ``kill()``, ``log()`` →
    the log's text, ``running()``."""

    def __init__(self, argv, log, env=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log)
        self.env = env
        self.cwd = cwd
        self.proc = None

    def start(self):
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd)
        finally:
            logf.close()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"{self.argv[0]} did not exit within {timeout}s of signal {sig}")
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL, timeout=10)

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


# ---------------------------------------------------------------------------------------------
# PostgreSQL

def _tmpdir(prefix):
    # Not pytest's tmp_path: as root the cluster belongs to the user `loa`, which must reach
    # the directory; /tmp/pytest-of-root is private to root.
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return Path(d)


@pytest.fixture(scope="session")
def pg():
    d = _tmpdir("loa-it-pg-")
    env = dict(os.environ, PG_FSYNC="off", PG_SYNC_COMMIT="off")
    # From /: as root, tests/pg.sh runs PostgreSQL's tools as `loa`, who may not enter the checkout.
    p = subprocess.run([str(PG_SH), "start", str(d)], capture_output=True, text=True, env=env,
                       timeout=120, cwd="/")
    if p.returncode != 0:
        pytest.fail(f"tests/pg.sh start failed: {p.stderr}")
    url = p.stdout.strip().splitlines()[-1]
    try:
        run_psql(url, "CREATE DATABASE loa_tmpl")
        tmpl = db_url_for(url, "loa_tmpl")
        _migrate(tmpl, d)
        yield url
    finally:
        subprocess.run([str(PG_SH), "discard", str(d)], capture_output=True, timeout=120, cwd="/")
        # Hundreds of test databases: removed in the background, so that the worker's last test
        # does not wait for it.
        subprocess.Popen(["rm", "-rf", str(d)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)


def _migrate(url, workdir):
    conf = Path(workdir) / f"migrate-{secrets.token_hex(4)}.conf"
    _write_config(conf, {"database": {"url": url}})
    p = subprocess.run([str(loa_bin()), "-c", str(conf), "db", "migrate"],
                       capture_output=True, text=True, timeout=300)
    conf.unlink()
    if p.returncode != 0:
        pytest.fail(f"loa db migrate failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")


_db_counter = itertools.count(1)


@pytest.fixture
def db_url(pg):
    name = f"t_{os.getpid()}_{next(_db_counter)}"
    # FILE_COPY copies the template's files whole: with its many small partitions and indexes
    # that is twice as fast as PostgreSQL 15's default of writing every block through the WAL.
    run_psql(pg, f'CREATE DATABASE "{name}" TEMPLATE loa_tmpl STRATEGY FILE_COPY')
    return db_url_for(pg, name)


@pytest.fixture
def empty_db_url(pg):
    name = f"e_{os.getpid()}_{next(_db_counter)}"
    run_psql(pg, f'CREATE DATABASE "{name}"')
    return db_url_for(pg, name)


@pytest.fixture
def psql(db_url):
    def q(sql, url=None, **variables):
        return run_psql(url or db_url, sql, **variables)
    return q


# ---------------------------------------------------------------------------------------------
# The CLI

class Loa:
    """The loa CLI with a config file of its own; see the module docstring."""

    def __init__(self, workdir, db_url):
        self.bin = loa_bin()
        self.dir = Path(workdir)
        self.db_url = db_url
        self.http_port, self._port_hold = reserve_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        self.config_path = self.dir / "loa.conf"
        self.sections = {
            "database": {"url": db_url},
            "http": {"listen": f"127.0.0.1:{self.http_port}", "public_url": self.base_url},
            "policy": {"window": "00:00-24:00"},
        }

    def set(self, section, key, value):
        self.sections.setdefault(section, {})[key] = value

    def add_gateway(self, name, **keys):
        if "type" not in keys:
            raise ValueError("a gateway needs a type")
        keys = {"type": keys.pop("type"), **keys}
        self.sections[f"gateway.{name}"] = {k: str(v) for k, v in keys.items()}

    def write_config(self):
        _write_config(self.config_path, self.sections)
        return self.config_path

    def write_file(self, name, text):
        p = self.dir / name
        p.write_text(text, encoding="utf-8")
        return p

    def argv(self, *args):
        return [str(self.bin), "-c", str(self.config_path), *[str(a) for a in args]]

    def run(self, *args, input=None, timeout=120, env=None):
        self.write_config()
        return subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=self.dir)

    def ok(self, *args, **kw):
        p = self.run(*args, **kw)
        if p.returncode != 0:
            pytest.fail(f"loa {' '.join(map(str, args))} exited {p.returncode}\n"
                        f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def json(self, *args, **kw):
        if "--json" not in args:
            args = (*args, "--json")
        p = self.ok(*args, **kw)
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            pytest.fail(f"loa {' '.join(map(str, args))}: stdout is not JSON ({e}): {p.stdout!r}")


@pytest.fixture
def loa(db_url):
    d = _tmpdir("loa-it-")
    try:
        cli = Loa(d, db_url)
        yield cli
    finally:
        if "cli" in locals():
            cli._port_hold.close()
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Kannel

_MT_LINE = re.compile(r"Got message \d+: <(\S+) (\S+) (.*)>$")


def _unquote(s):
    # fakesmsc URL-encodes payloads with '+' for a space (a real '+' is %2B).
    return urllib.parse.unquote_to_bytes(s.replace("+", "%20"))


def _decode_payload(raw, ucs2):
    if ucs2:
        return raw.decode("utf-16-be", "replace")
    return raw.decode("utf-8", "replace")


def parse_fakesmsc_line(line):
    """One MT as logged by fakesmsc, or None. See tests/kannel.sh for the shapes."""
    m = _MT_LINE.search(line)
    if not m:
        return None
    sender, to, rest = m.groups()
    kind, _, data = rest.partition(" ")
    msg = {"sender": sender, "to": to, "udh": None}
    if kind == "text":
        msg.update(coding="text", raw=data.encode(), text=data)
    elif kind in ("ucs-2", "ucs2"):
        raw = _unquote(data)
        msg.update(coding="ucs2", raw=raw, text=_decode_payload(raw, True))
    elif kind == "data":
        raw = _unquote(data)
        msg.update(coding="data", raw=raw, text=_decode_payload(raw, False))
    elif kind == "udh":
        udh_s, _, payload = data.partition(" data ")
        udh = _unquote(udh_s)
        raw = _unquote(payload)
        # fakesmsc does not print the coding of a concatenated part. UCS-2 text always holds
        # NUL bytes (the high byte of every ASCII letter and space); GSM and 8-bit text do not.
        ucs2 = len(raw) % 2 == 0 and b"\x00" in raw
        msg.update(coding="ucs2" if ucs2 else "text", raw=raw, udh=udh,
                   text=_decode_payload(raw, ucs2))
    else:
        msg.update(coding=kind, raw=data.encode(), text=data)
    return msg


def _concat_info(udh):
    """(reference, total, sequence) from a concatenation UDH, or None."""
    if not udh or len(udh) < 2:
        return None
    i, end = 1, 1 + udh[0]
    while i + 1 < len(udh) and i < end:
        iei, ln = udh[i], udh[i + 1]
        v = udh[i + 2:i + 2 + ln]
        if iei == 0x00 and ln == 3:
            return v[0], v[1], v[2]
        if iei == 0x08 and ln == 4:
            return (v[0] << 8) | v[1], v[2], v[3]
        i += 2 + ln
    return None


def join_parts(parts):
    """Whole messages from MT parts, concatenated parts joined in order (incomplete ones are
    left out until their last part arrives)."""
    out, pending = [], {}
    for p in parts:
        c = _concat_info(p["udh"])
        if c is None:
            out.append({**p, "parts": 1})
            continue
        ref, total, seq = c
        key = (p["sender"], p["to"], ref, total)
        group = pending.setdefault(key, {"first": len(out), "parts": {}})
        group["parts"][seq] = p
        if len(group["parts"]) == total:
            ordered = [group["parts"][i] for i in sorted(group["parts"])]
            raw = b"".join(x["raw"] for x in ordered)
            ucs2 = ordered[0]["coding"] == "ucs2"
            out.append({"sender": p["sender"], "to": p["to"], "udh": None,
                        "coding": ordered[0]["coding"], "raw": raw,
                        "text": _decode_payload(raw, ucs2), "parts": total})
            del pending[key]
    return out


class Kannel:
    def __init__(self, workdir, mo_url, hook_secret, core="", smsc=""):
        self.dir = Path(workdir)
        self.mo_url = mo_url
        self.hook_secret = hook_secret
        # kannel.sh picks free ports, then bearerbox binds them: another test run on the machine
        # (the plain and sanitized passes run side by side) can take one in between. Only that
        # race is retried, with new ports.
        for _ in range(3):
            p = subprocess.run([str(KANNEL_SH), "start", str(self.dir), mo_url],
                               capture_output=True, text=True, timeout=90,
                               env=dict(os.environ, KANNEL_CORE_EXTRA=core, KANNEL_SMSC_EXTRA=smsc))
            if p.returncode == 0 or "Address already in use" not in p.stderr:
                break
        if p.returncode != 0:
            pytest.fail(f"tests/kannel.sh start failed ({p.returncode}):\n{p.stderr}")
        self.env = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
        self.sendsms_url = self.env["KANNEL_SENDSMS_URL"]
        self.username = self.env["KANNEL_USERNAME"]
        self.password = self.env["KANNEL_PASSWORD"]
        self.sender = self.env["KANNEL_SENDER"]
        self.smsc_id = self.env["KANNEL_SMSC_ID"]
        self.admin_url = f"http://127.0.0.1:{self.env['KANNEL_ADMIN_PORT']}"
        self.mt_log = Path(self.env["KANNEL_MT_LOG"])

    def stop(self):
        subprocess.run([str(KANNEL_SH), "stop", str(self.dir)], capture_output=True, timeout=60)

    def discard(self):
        """Kills it outright: for the end of a test, when nothing in it matters any more."""
        subprocess.run([str(KANNEL_SH), "discard", str(self.dir)], capture_output=True, timeout=60)

    def sendsms(self, to, text, **params):
        """Submits straight to smsbox; (status, body)."""
        q = {"username": self.username, "password": self.password, "to": to, "text": text,
             "charset": "UTF-8", **params}
        return http_get(self.sendsms_url + "?" + urllib.parse.urlencode(q))

    def status(self):
        return http_get(f"{self.admin_url}/status.txt?password={self.env['KANNEL_ADMIN_PASSWORD']}")[1]

    def received(self):
        try:
            lines = self.mt_log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        return [m for m in map(parse_fakesmsc_line, lines) if m]

    def messages(self):
        return join_parts(self.received())

    def wait_messages(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages()
            if len(got) >= n:
                return got
            time.sleep(0.1)
        pytest.fail(f"the fake SMSC received {len(self.messages())} messages, expected {n}, "
                    f"within {timeout}s")

    def send_mo(self, phone, text, to=None):
        args = [str(KANNEL_SH), "mo", str(self.dir), phone, text] + ([to] if to else [])
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            pytest.fail(f"tests/kannel.sh mo failed: {p.stderr}")

    def smsbox_stop(self):
        """Stops smsbox alone (SIGTERM); bearerbox and the fake SMSC keep running."""
        subprocess.run([str(KANNEL_SH), "smsbox-stop", str(self.dir)], check=True, timeout=60)

    def smsbox_start(self):
        subprocess.run([str(KANNEL_SH), "smsbox-start", str(self.dir)], check=True, timeout=180,
                       stdout=subprocess.DEVNULL)

    def smsc_stop(self):
        """Stops the fake SMSC alone: bearerbox queues what smsbox hands it."""
        subprocess.run([str(KANNEL_SH), "smsc-stop", str(self.dir)], check=True, timeout=60)

    def smsc_start(self):
        subprocess.run([str(KANNEL_SH), "smsc-start", str(self.dir)], check=True, timeout=60)

    def sent_to_smsc(self):
        """Every MT bearerbox wrote to the SMSC link, from its access log: list of numbers. A
        part written as the fake SMSC is killed is lost with it (and reported delivered by
        Kannel's fake SMSC driver), so this, not ``received()``, counts what was sent then."""
        try:
            text = (self.dir / "access.log").read_text(errors="replace")
        except FileNotFoundError:
            return []
        return re.findall(r"^\S+ \S+ Sent SMS \[SMSC:[^]]*\].*? \[to:(\S+?)\]", text, re.M)

    def logs(self):
        out = []
        for name in ("bearerbox.log", "smsbox.log", "fakesmsc.log"):
            f = self.dir / name
            if f.exists():
                tail = f.read_text(errors="replace").splitlines()[-30:]
                out.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(out)


@pytest.fixture
def make_kannel(request):
    started = []

    def make(mo_url, hook_secret="", core="", smsc=""):
        k = Kannel(_tmpdir("loa-it-kannel-"), mo_url, hook_secret, core, smsc)
        started.append(k)
        return k

    yield make
    for k in started:
        if _failed(request):
            print(k.logs())
        k.discard()
        shutil.rmtree(k.dir, ignore_errors=True)


@pytest.fixture
def kannel(request, loa, make_kannel):
    secret = secrets.token_hex(16)
    mo_url = (f"{loa.base_url}/hooks/kannel/kannel/mo?from=%p&to=%P&text=%a&ts=%T&id=%I"
              f"&token={secret}")
    conf = request.node.get_closest_marker("kannel_conf")
    k = make_kannel(mo_url, secret, **(conf.kwargs if conf else {}))
    loa.add_gateway("kannel", type="kannel", sendsms_url=k.sendsms_url, username=k.username,
                    password=k.password, sender="BHXH", rate=50, concurrency=10,
                    webhook_secret=secret)
    return k


# ---------------------------------------------------------------------------------------------
# The daemon

_gateway_fixtures = ["kannel"]


def register_gateway_fixture(name):
    """Names a fixture that adds a gateway to the `loa` config: `daemon` sets it up first."""
    if name not in _gateway_fixtures:
        _gateway_fixtures.append(name)


class Daemon(Background):
    def __init__(self, loa):
        self.loa = loa
        self.url = loa.base_url
        env = dict(os.environ)
        super().__init__(loa.argv("serve"), loa.dir / "daemon.log", env=env, cwd=loa.dir)

    def start(self, timeout=30):
        self.loa.write_config()
        super().start()
        try:
            wait_http(f"{self.url}/healthz", timeout=timeout, proc=self.proc)
        except BaseException:
            # Why it did not come up (a refused port, a bad setting) is in its own log only.
            print(f"--- daemon log (start failed)\n{self.log()}")
            raise
        return self

    def get(self, path, timeout=10):
        return http_get(self.url + path, timeout=timeout)


@pytest.fixture
def daemon(request, loa):
    for name in _gateway_fixtures:
        if name in request.fixturenames:
            request.getfixturevalue(name)
    d = Daemon(loa)
    try:
        d.start()
    except BaseException:
        d.stop(signal.SIGKILL, timeout=10)
        print(f"--- daemon log\n{d.log()}")
        raise
    yield d
    was_running = d.running()
    status = d.stop()
    if _failed(request) or (was_running and status != 0):
        print(f"--- daemon log ({d.log_path})\n{d.log()}")
    if was_running:
        assert status == 0, f"loa serve exited with status {status} after SIGTERM"


# ---------------------------------------------------------------------------------------------
# Plumbing

@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


def _load_fixture_modules():
    """Every fixture in tests/doubles/fixtures_*.py and tests/integration/fixtures_*.py becomes
    a fixture of this conftest."""
    files = sorted((REPO / "tests" / "doubles").glob("fixtures_*.py")) + \
        sorted((REPO / "tests" / "integration").glob("fixtures_*.py"))
    for f in files:
        spec = importlib.util.spec_from_file_location(f"loa_fixtures_{f.stem}", f)
        mod = importlib.util.module_from_spec(spec)
        mod.harness = sys.modules[__name__]
        spec.loader.exec_module(mod)
        for k, v in vars(mod).items():
            if hasattr(v, "_pytestfixturefunction") and k not in globals():
                globals()[k] = v


_load_fixture_modules()
