"""`make demo` as a new supervisor meets it: tests/demo.sh runs end to end in a directory of its
own (its own PostgreSQL cluster, Kannel with the fake SMSC, the Zalo double), leaves the daemon
and the dashboard up and prints their address and a login; in headless Chromium that login
opens the demo campaign, whose funnel shows the figures of `loa campaign show`, and the
coverage of the year, and downloads the yearly report, whose channel sheet holds the same
figures again. Ctrl-C (SIGINT) then stops everything, status 0.

LOA_BROWSER=0 skips it, as it does the other browser test."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from conftest import free_port, loa_bin
from test_dashboard_browser import HERE, REPO, browser_missing
from test_report import sheet_rows


@pytest.mark.skipif(os.environ.get("LOA_BROWSER") == "0", reason="LOA_BROWSER=0")
def test_make_demo_leaves_a_dashboard_whose_figures_are_those_of_campaign_show():
    missing = browser_missing()
    assert not missing, f"{missing} is missing: tools/deps.sh installs it"
    var = Path(tempfile.mkdtemp(prefix="loa-demo-"))
    os.chmod(var, 0o755)      # as root, the cluster's owner `loa` must enter it
    log = var / "demo.out"
    env = dict(os.environ, DEMO_VAR=str(var), DEMO_CITIZENS="600", DEMO_PORT=str(free_port()), DEMO_TIMEOUT="240")
    env.pop("LOA_CONFIG", None)
    with open(log, "w") as out:
        demo = subprocess.Popen([str(REPO / "tests" / "demo.sh")], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        text = ""
        deadline = time.time() + 300
        while "The daemon is still running" not in text:
            assert demo.poll() is None, f"the demo ended with status {demo.returncode}:\n{log.read_text()[-3000:]}"
            assert time.time() < deadline, f"the demo did not settle in 300 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
            text = log.read_text()
        m = re.search(r"The daemon is still running: dashboard (http://\S+)/ \(log in as (\S+), password (\S+)\),", text)
        assert m, text[-2000:]
        url, login, password = m.groups()
        campaign = re.search(r'"(Tháng vận động BHXH toàn dân 5/\d{4})"', text) or \
            re.search(r"(Tháng vận động BHXH toàn dân 5/\d{4})", text)
        assert campaign, text[-2000:]
        campaign = campaign.group(1)
        year = campaign.rsplit("/", 1)[1]
        loa = [str(loa_bin()), "-c", str(var / "demo.conf")]
        show = json.loads(subprocess.run(loa + ["campaign", "show", campaign, "--json"], capture_output=True,
                                         text=True, check=True).stdout)
        assert show["status"] == "completed" and show["targeted"] > 0, show
        shots = REPO / "var" / "screenshots"
        p = subprocess.run(["node", str(HERE / "demo.test.mjs")], cwd=HERE, capture_output=True, text=True,
                           timeout=180, env=dict(os.environ, LOA_URL=url, LOGIN=login, PASSWORD=password,
                                                 CAMPAIGN=campaign, REPORT_YEAR=year, SHOTS=str(shots)))
        print(p.stdout)
        assert p.returncode == 0, p.stdout + p.stderr
        seen = json.loads(p.stdout.split("seen: ", 1)[1].splitlines()[0])
        # The funnel: targeted → sent → delivered → replied → opted out → converted.
        ch = show["by_channel"]
        assert seen["funnel"]["all"][:5] == [show["targeted"], ch["sms"]["sent"] + ch["zalo"]["sent"],
                                             ch["sms"]["delivered"] + ch["zalo"]["delivered"],
                                             show["replies"], show["opted_out"]], (seen, show)
        by_channel = {r["code"]: r for r in json.loads(subprocess.run(
            loa + ["campaign", "show", campaign, "--by", "channel", "--json"], capture_output=True, text=True,
            check=True).stdout)["rows"]}
        for name in ("sms", "zalo"):
            if name in seen["funnel"]:
                f, r = seen["funnel"][name], by_channel[name]
                assert [f[0], f[1], f[2], f[3], f[4], f[6], f[7]] == [
                    r["targeted"], ch[name]["sent"], ch[name]["delivered"], r["replies"], r["opted_out"],
                    ch[name]["failed"], ch[name]["fallback"]], (name, seen, show)
        assert seen["funnel"]["all"][2] > 0, "the demo delivered nothing"
        assert seen["communes"] > 0 and seen["coverageRows"] > 0 and len(seen["coverage"]) >= 4, seen
        # The report the button gave: its channel sheet holds the figures of `campaign show`.
        with zipfile.ZipFile(shots / "demo-report.xlsx") as z:
            channels = {r[0]: r for r in sheet_rows(z, 4)[1:]}
        for name, row in channels.items():
            b = ch[name]
            assert row[1:5] == [b["sent"], b["delivered"], b["failed"], b["fallback"]], (name, row, b)
        assert sum(r[2] for r in channels.values()) == seen["funnel"]["all"][2]
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
        subprocess.run([str(REPO / "tests" / "kannel.sh"), "stop", str(var / "kannel")], capture_output=True)
    assert demo.returncode == 0, f"Ctrl-C ended the demo with status {demo.returncode}:\n{log.read_text()[-2000:]}"
    assert "demo: stopping" in log.read_text()
    shutil.rmtree(var, ignore_errors=True)
