// A supervisor's first visit after `make demo`, in headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core): log in with the login the demo printed, open the demo campaign,
// read its funnel, read the coverage of the year, download the yearly report. Started by
// tests/integration/test_demo.py, which passes LOA_URL, LOGIN, PASSWORD, CAMPAIGN (its name),
// REPORT_YEAR and SHOTS, and compares what this saw with `loa campaign show`.
// Prints one line "seen: {JSON}" with the figures read off the pages; the report is saved as
// SHOTS/demo-report.xlsx. Exits 0 when every page showed what it should, else 1.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const env = name => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env("LOA_URL"), shots = env("SHOTS");
fs.mkdirSync(shots, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error(`failed: ${what}`);
  console.log(`ok   ${what}`);
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
                                        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
let rc = 0;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "vi-VN", acceptDownloads: true });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", e => errors.push(String(e)));
  await page.goto(url + "/");
  await page.waitForSelector("#login-form", { state: "visible" });
  await page.fill("#login-name", env("LOGIN"));
  await page.fill("#login-password", env("PASSWORD"));
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#campaigns tr[data-id]");
  check((await page.textContent("#who-name")) === env("LOGIN"), `logged in as ${env("LOGIN")}`);
  const rows = await page.$$eval("#campaigns tr[data-id]", trs => trs.map(tr => ({ id: tr.dataset.id, text: tr.textContent })));
  const mine = rows.find(r => r.text.includes(env("CAMPAIGN")));
  check(mine, `the demo campaign "${env("CAMPAIGN")}" is listed`);
  await page.screenshot({ path: path.join(shots, "demo-campaigns.png"), fullPage: true });

  await page.click(`#campaigns tr[data-id="${mine.id}"] a`);
  await page.waitForSelector('[data-funnel="all"] svg');
  const funnel = {};
  for (const f of await page.$$eval("[data-funnel]", ds => ds.map(d => d.dataset.funnel)))
    funnel[f] = await page.$$eval(`[data-funnel="${f}"] text[data-value]`, ts => ts.map(t => +t.dataset.value));
  check(funnel.all.length === 6, `the funnel has its six steps (${funnel.all.join(" → ")})`);
  await page.waitForSelector("#c-communes tbody tr");
  const communes = (await page.$$("#c-communes tbody tr")).length;
  await page.screenshot({ path: path.join(shots, "demo-campaign.png"), fullPage: true });

  await page.goto(url + "/#/coverage");
  await page.fill("#cov-year", env("REPORT_YEAR"));
  await page.click("#cov-form button");
  await page.waitForSelector("#cov-communes tbody tr");
  const coverage = await page.$$eval("#cov-cards .card b", bs => bs.map(b => b.textContent));
  const coverageRows = (await page.$$("#cov-communes tbody tr")).length;
  await page.screenshot({ path: path.join(shots, "demo-coverage.png"), fullPage: true });

  await page.goto(url + "/#/report");
  await page.fill("#rep-year", env("REPORT_YEAR"));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#rep-link")]);
  await download.saveAs(path.join(shots, "demo-report.xlsx"));
  check(fs.readFileSync(path.join(shots, "demo-report.xlsx")).subarray(0, 2).toString() === "PK",
        "the report downloads as an XLSX file");
  check(errors.length === 0, `no script error (${errors.join("; ")})`);
  console.log("seen: " + JSON.stringify({ id: +mine.id, funnel, communes, coverage, coverageRows }));
} catch (e) {
  console.log(String(e.stack || e));
  rc = 1;
} finally {
  await browser.close();
}
process.exit(rc);
