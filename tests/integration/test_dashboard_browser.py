"""The dashboard in headless Chromium: log in, open a campaign and see its funnel and its
progress, sort and filter its tables and read the API's figures in Vietnamese formats, answer a
reply, be refused the approval as an officer and approve as a supervisor, read the coverage,
download the report; a screenshot of each page under var/screenshots/. All under the daemon's
own Content-Security-Policy, which must refuse nothing.

tests/browser/dashboard.test.mjs drives Debian's /usr/bin/chromium with playwright-core from
npm (tools/deps.sh installs both). Here, in the integration tests, it shares their cluster.
LOA_BROWSER=0 skips it (tests/run.sh does so for the sanitized pass, to keep `make test` short)."""

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from test_api import PASSWORD, world
from test_campaign_cli import messages

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "tests" / "browser"


def browser_missing():
    if not shutil.which("node"):
        return "node"
    if not os.access(os.environ.get("CHROMIUM", "/usr/bin/chromium"), os.X_OK):
        return "/usr/bin/chromium"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "tests/browser/node_modules/playwright-core"
    return None


@pytest.mark.skipif(os.environ.get("LOA_BROWSER") == "0", reason="LOA_BROWSER=0")
def test_dashboard_in_chromium(loa, psql, daemon):
    missing = browser_missing()
    assert not missing, f"{missing} is missing: tools/deps.sh installs it"
    # Few PBKDF2 rounds: the test is of the page, not of the hash's cost.
    loa.set("http", "password_iterations", "1000")
    pw = loa.write_file("pw.txt", PASSWORD + "\n")
    loa.ok("user", "add", "thu", "--role", "officer", "--password-file", pw)
    loa.ok("user", "add", "lan", "--role", "supervisor", "--password-file", pw)
    cid, rid = world(psql, loa)
    # Three citizens still waiting: the campaign is part done, so its bar is neither empty nor full.
    waiting = [int(r[0]) for r in psql("SELECT id FROM citizens ORDER BY id OFFSET 10 LIMIT 3")]
    messages(psql, cid, [(c, 0, "zalo", "pending", 0, 0) for c in waiting])
    psql("UPDATE campaigns SET started_at = '2026-05-04 08:00+07'")
    # Figures that show the formats: 12.345 people, a target of 45,5%; and Gia Lai's target
    # share of active communes, 75,5%, imported with them.
    loa.ok("targets", "import", loa.write_file("targets.csv", "year,commune_code,population,target_pct,"
                                               "activity_target_pct\n2026,23200,12,30,\n2026,23203,12345,45.5,75.5\n"))
    show = loa.json("campaign", "show", str(cid))
    delivered = sum(ch["delivered"] for ch in show["by_channel"].values())
    progress = round(100 * (show["targeted"] - show["outcomes"]["pending"]) / show["targeted"], 1)
    shots = REPO / "var" / "screenshots"
    env = dict(os.environ, LOA_URL=daemon.url, OFFICER="thu", SUPERVISOR="lan", PASSWORD=PASSWORD,
               CAMPAIGN_ID=str(cid), EXPECT_DELIVERED=str(delivered),
               EXPECT_PROGRESS=str(progress), REPORT_YEAR="2026", SHOTS=str(shots))
    p = subprocess.run(["node", str(HERE / "dashboard.test.mjs")], cwd=HERE, env=env,
                       capture_output=True, text=True, timeout=180)
    print(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    # What the clicks did, seen in the database.
    assert psql("SELECT answered_by FROM replies WHERE id = :'r'", r=rid) == [("thu",)]
    assert psql("SELECT approved_by FROM campaigns WHERE id = :'c'", c=cid) == [("lan",)]
    assert psql("SELECT user_name, action FROM audit WHERE action NOT IN ('login','logout') AND action NOT LIKE 'user.%' ORDER BY id") == \
        [("thu", "reply.answer"), ("lan", "campaign.approve")]
    for name in ("login", "campaigns", "campaign", "replies", "coverage", "approved", "report", "campaign-phone"):
        assert (shots / f"{name}.png").stat().st_size > 5000, name
    assert "xl/workbook.xml" in zipfile.ZipFile(shots / "report.xlsx").namelist()
