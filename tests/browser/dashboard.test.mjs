// The dashboard as a supervisor and an officer use it, in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; no browser is downloaded). Started by
// tests/integration/test_dashboard_browser.py, which prepares the database and the daemon and
// passes: LOA_URL, OFFICER, SUPERVISOR, PASSWORD, CAMPAIGN_ID, EXPECT_DELIVERED,
// EXPECT_PROGRESS (per cent, as the CLI's figures give it), REPORT_YEAR, SHOTS.
// The page runs under the daemon's own Content-Security-Policy: any violation fails the test.
// Saves a screenshot of each page under SHOTS and the downloaded report as SHOTS/report.xlsx.
// Exits 0 when every step saw what it should, else 1 with the step that failed.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const env = name => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env("LOA_URL"), shots = env("SHOTS"), cid = env("CAMPAIGN_ID");
fs.mkdirSync(shots, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error(`failed: ${what}`);
  console.log(`ok   ${what}`);
}

// Polls PREDICATE(ARG) in the page until it is true. Playwright's waitForFunction evaluates a
// string, which the page's CSP (no 'unsafe-eval') refuses; page.evaluate does not.
async function until(page, predicate, arg, what, ms = 15000) {
  const deadline = Date.now() + ms;
  while (!(await page.evaluate(predicate, arg))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

// Every CSP violation of a context's pages, from the page's securitypolicyviolation events
// (listened to from before the page's own scripts run) and Chromium's console errors.
async function watchCsp(ctx, violations) {
  await ctx.exposeBinding("loaCspViolation", (_, v) => violations.push(v));
  await ctx.addInitScript(() => document.addEventListener("securitypolicyviolation", e =>
    window.loaCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`)));
  ctx.on("console", m => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) violations.push("console: " + m.text());
  });
}

// Vietnamese number formats, written out here rather than taken from Intl as the page does:
// a dot between thousands (12.345), a comma before the decimals (42,9%), one decimal at most.
const viNum = n => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
const viPct = x => String(Math.round(x * 10) / 10).replace(".", ",") + "%";

// The JSON the dashboard's session gets from the API for each of PATHS.
const apiGet = (page, paths) => page.evaluate(ps => Promise.all(ps.map(async p =>
  (await fetch("/api/v1/" + p)).json())), paths);

// Each body row of TABLE as its cells' texts, and whether it is shown.
const tableRows = (page, table) => page.$$eval(`${table} tbody tr`, trs => trs.map(tr =>
  ({ cells: [...tr.cells].map(td => td.textContent), shown: !tr.hidden })));

// The rows the API gives, as the table should show them, and the table's rows, by code.
function sameRows(shown, want, what) {
  const got = Object.fromEntries(shown.map(r => [r.cells[0], r.cells]));
  const bad = want.filter(w => JSON.stringify(got[w[0]]) !== JSON.stringify(w));
  check(shown.length === want.length && bad.length === 0,
        `${what}: ${want.length} rows show the API's figures (${bad.map(w => `${JSON.stringify(got[w[0]])} ≠ ${JSON.stringify(w)}`).join("; ")})`);
}

// Types Q into the filter box of TABLE; checks the rows shown are those holding Q.
async function filtered(page, table, q, codes, what) {
  await page.fill(`input.filter[data-table="${table.slice(1)}"]`, q);
  const shown = (await tableRows(page, table)).filter(r => r.shown).map(r => r.cells[0]);
  check(JSON.stringify(shown.sort()) === JSON.stringify([...codes].sort()),
        `${what}: filtering by “${q}” shows ${JSON.stringify(codes)} (${JSON.stringify(shown)})`);
}

async function login(page, name) {
  await page.goto(url + "/");
  await page.waitForSelector("#login-form", { state: "visible" });
  await page.fill("#login-name", name);
  await page.fill("#login-password", env("PASSWORD"));
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector(`#campaigns tr[data-id="${cid}"]`);
  check((await page.textContent("#who-name")) === name, `logged in as ${name}`);
}

async function logout(page) {
  await page.click("#logout");
  await page.waitForSelector("#login-form", { state: "visible" });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
let failed = false;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, locale: "vi-VN" });
  const csp = [];
  await watchCsp(ctx, csp);
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", e => errors.push(String(e)));
  page.on("request", r => { if (!r.url().startsWith(url)) errors.push("request outside the daemon: " + r.url()); });

  // A wrong password is refused on the page.
  await page.goto(url + "/");
  await page.fill("#login-name", env("OFFICER"));
  await page.fill("#login-password", "not the password");
  await page.click("#login-form button[type=submit]");
  await until(page, () => document.querySelector("#login-error").textContent.length > 0, null, "the login error");
  check((await page.textContent("#login-error")).includes("Sai"), "a wrong password is refused");
  await page.screenshot({ path: path.join(shots, "login.png") });

  // The officer: campaigns with their status and progress.
  await login(page, env("OFFICER"));
  const row = `#campaigns tr[data-id="${cid}"]`;
  check((await page.textContent(row)).includes("Bản nháp"), "the campaign is listed as a draft");
  // Its progress bar is as full as the campaign is done: the width set under the CSP.
  const bar = await page.$eval(`${row} .bar`, b => ({
    whole: b.getBoundingClientRect().width, fill: b.firstElementChild.getBoundingClientRect().width,
    now: b.getAttribute("aria-valuenow"), title: b.parentElement.title }));
  const want = +env("EXPECT_PROGRESS"), drawn = 100 * bar.fill / bar.whole;
  check(want > 0 && want < 100 && Math.abs(drawn - want) < 1 && Math.abs(+bar.now - want) < 0.1,
        `the progress bar is drawn ${drawn.toFixed(1)}% full for ${want}% done`);
  const title = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 1 }).format(+want.toFixed(1)) + "%";
  check(bar.title === title, `the progress reads ${title} (${bar.title})`);
  await page.screenshot({ path: path.join(shots, "campaigns.png"), fullPage: true });

  // An officer may not approve: the page says so and nothing changes.
  await page.click(`${row} button[data-approve]`);
  await until(page, () => document.querySelector("#notice").textContent.length > 0, null, "a notice");
  check((await page.textContent("#notice")).includes("không có quyền"), "an officer is refused the approval");
  const still = await page.evaluate(async id => (await (await fetch(`/api/v1/campaigns/${id}`)).json()).approved_by, cid);
  check(still === null, "the refused approval changed nothing");

  // One campaign: its funnel per channel, deliveries per day, tables by commune and group.
  await page.click(`${row} a`);
  await page.waitForSelector('[data-funnel="all"] svg');
  const delivered = await page.$$eval('[data-funnel="all"] text[data-value]', ts => ts.map(t => t.dataset.value));
  check(delivered[2] === env("EXPECT_DELIVERED"), `the funnel shows ${env("EXPECT_DELIVERED")} delivered`);
  check((await page.$$('[data-funnel="sms"] svg, [data-funnel="zalo"] svg')).length === 2, "a funnel per channel");
  // Each channel's funnel: targeted → sent → delivered → replied → opted out → converted, then
  // its failures and hand-overs, each from the API.
  const [cshow, cchan, cconv] = await apiGet(page, [`campaigns/${cid}`, `campaigns/${cid}/breakdown?by=channel`,
                                                   `campaigns/${cid}/conversions`]);
  for (const ch of ["sms", "zalo"]) {
    const vals = await page.$$eval(`[data-funnel="${ch}"] text[data-value]`, ts => ts.map(t => +t.dataset.value));
    const b = cshow.by_channel[ch], r = cchan.rows.find(x => x.code === ch);
    const conv = (cconv.by_channel.find(x => x.code === ch) || { converted: 0 }).converted;
    const want = [r.targeted, b.sent, b.delivered, r.replies, r.opted_out, conv, b.failed, b.fallback];
    check(JSON.stringify(vals) === JSON.stringify(want), `the ${ch} funnel reads ${vals.join(" → ")}`);
  }
  await page.waitForSelector("#c-communes tbody tr");
  check((await page.$$("#c-days svg rect")).length >= 2, "deliveries per day are drawn");
  await page.click("#c-communes th:nth-child(3)");
  await page.click("#c-communes th:nth-child(3)");
  const firsts = await page.$$eval("#c-communes tbody tr td:nth-child(3)", tds => tds.map(td => +td.dataset.sort));
  check(firsts.every((v, i) => i === 0 || firsts[i - 1] >= v), "the commune table sorts by a column");

  // The figures as the API gives them, in Vietnamese formats.
  const [camp, communes, groups] = await apiGet(page, [`campaigns/${cid}`, `campaigns/${cid}/breakdown?by=commune`,
                                                        `campaigns/${cid}/breakdown?by=group`]);
  const cards = await page.$$eval("#c-cards .card", cs => cs.map(c => c.querySelector("b").textContent));
  const wantCards = [camp.targeted, camp.outcomes.delivered, camp.outcomes.pending, camp.replies, camp.opted_out,
                     camp.cost_vnd].map(viNum);
  check(JSON.stringify(cards) === JSON.stringify(wantCards) && camp.cost_vnd >= 1000 && cards[5].includes("."),
        `the campaign's cards read ${cards.join(" · ")}, the cost with a dot between thousands`);
  const reachRow = r => [r.code, r.name, viNum(r.targeted), viNum(r.reached), viPct(r.reach_pct)];
  sameRows(await tableRows(page, "#c-communes"), communes.rows.map(reachRow), "by commune");
  const groupRows = await tableRows(page, "#c-groups");
  sameRows(groupRows, groups.rows.map(reachRow), "by group");
  check(groupRows.some(r => /^\d+,\d%$/.test(r.cells[4])), "a share with decimals has a decimal comma");

  // Filtering: by code, by a name typed in capitals, by what nobody has; and kept across the
  // page's redraw every 5 s, as is the order.
  const byName = groups.rows.find(r => r.code === "farmer");
  await filtered(page, "#c-communes", "23203", ["23203"], "by commune");
  await filtered(page, "#c-communes", "không có xã này", [], "by commune");
  await filtered(page, "#c-groups", byName.name.toLocaleUpperCase("vi"), ["farmer"], "by group");
  await page.fill('input.filter[data-table="c-communes"]', "23203");
  await page.$eval("#c-communes tbody", b => { b.dataset.old = "1"; });
  await until(page, () => !document.querySelector("#c-communes tbody").dataset.old, null, "the page's redraw");
  const after = (await tableRows(page, "#c-communes")).filter(r => r.shown).map(r => r.cells[0]);
  check(JSON.stringify(after) === '["23203"]', `the filter holds after the redraw (${after})`);
  check(await page.$eval("#c-communes th:nth-child(3)", th => th.classList.contains("sorted-desc")),
        "the order holds after the redraw");
  await page.fill('input.filter[data-table="c-communes"]', "");
  await page.fill('input.filter[data-table="c-groups"]', "");
  await page.screenshot({ path: path.join(shots, "campaign.png"), fullPage: true });

  // The replies queue: answer one.
  await page.goto(url + "/#/replies");
  await page.waitForSelector("#replies li[data-reply] textarea");
  await page.fill("#replies li[data-reply] textarea", "Dạ, mức đóng thấp nhất là 330.000 đồng mỗi tháng.");
  await page.screenshot({ path: path.join(shots, "replies.png"), fullPage: true });
  await page.click("#replies li[data-reply] button");
  await until(page, () => document.querySelector("#notice").textContent.includes("Đã gửi"), null, "the answer sent");
  await page.waitForSelector("#replies li[data-reply] textarea", { state: "detached", timeout: 5000 }).catch(() => {});
  check((await page.$$("#replies li[data-reply] textarea")).length === 0, "the answered reply left the queue");

  // Coverage against the targets, communes below target marked.
  await page.goto(url + "/#/coverage");
  await page.fill("#cov-year", env("REPORT_YEAR"));
  await page.click("#cov-form button");
  await page.waitForSelector("#cov-communes tbody tr");
  check((await page.$$("#cov-communes tr.below .tag.below")).length >= 1, "a commune below its target is marked");
  const [cov] = await apiGet(page, [`coverage?year=${env("REPORT_YEAR")}&topic=general`]);
  const orDash = (v, f) => v === null ? "—" : f(v);
  const covRows = await tableRows(page, "#cov-communes");
  sameRows(covRows, cov.communes.map(r => [r.code, r.name, r.province, orDash(r.population, viNum), viNum(r.reached),
    orDash(r.reached_pct, viPct), orDash(r.target_pct, viPct),
    r.below_target === null ? "—" : (r.below_target ? "Dưới chỉ tiêu" : "Đạt")]), "coverage by commune");
  check(covRows.some(r => /^\d+\.\d{3}$/.test(r.cells[3])) && covRows.some(r => /^\d+,\d%$/.test(r.cells[6])),
        "a population has a dot between thousands and a target a decimal comma");
  const covCards = await page.$$eval("#cov-cards .card b", bs => bs.map(b => b.textContent));
  const act = cov.activity;
  check(JSON.stringify(covCards) === JSON.stringify([viNum(cov.totals.reached), viNum(cov.totals.population),
    viPct(cov.totals.reached_pct), viNum(cov.totals.communes_below_target),
    `${viNum(act.active)}/${viNum(act.communes)} · ${viPct(act.share_pct)}`]),
        `the coverage cards read ${covCards.join(" · ")}`);
  // Each province's active communes against the target imported for it.
  const provRows = await tableRows(page, "#cov-provinces");
  sameRows(provRows, act.provinces.map(r => [r.code, r.name, viNum(r.communes), viNum(r.active), viPct(r.share_pct),
    viPct(r.target_pct) + (r.target_source === "default" ? " (mặc định)" : ""), r.below_target ? "Dưới chỉ tiêu" : "Đạt"]),
    "active communes by province");
  check(act.target_pct === 75.5 && provRows[0].cells[5] === "75,5%" &&
        (await page.textContent("#cov-cards")).includes("chỉ tiêu 75,5%"),
        "the province's imported activity target, 75,5%, is the one shown");
  const below = cov.communes.find(r => r.below_target);
  await filtered(page, "#cov-communes", below.name.toLocaleLowerCase("vi"), [below.code], "coverage");
  check((await page.$$("#cov-communes tr.below:not([hidden]) .tag.below")).length === 1, "the commune found is marked below");
  await page.screenshot({ path: path.join(shots, "coverage.png"), fullPage: true });
  await logout(page);

  // The supervisor approves, and downloads the yearly report.
  await login(page, env("SUPERVISOR"));
  await page.click(`${row} button[data-approve]`);
  await until(page, () => document.querySelector("#notice").textContent.includes("Đã phê duyệt"), null, "the approval");
  await until(page, sel => document.querySelector(sel).textContent.includes("✔"), row, "the approver in the list");
  check((await page.textContent(row)).includes(env("SUPERVISOR")), "the supervisor is the approver on record");
  await page.screenshot({ path: path.join(shots, "approved.png"), fullPage: true });
  await page.goto(url + "/#/report");
  await page.fill("#rep-year", env("REPORT_YEAR"));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#rep-link")]);
  const saved = path.join(shots, "report.xlsx");
  await download.saveAs(saved);
  const head = fs.readFileSync(saved).subarray(0, 2).toString();
  check(head === "PK", "the report downloads as an XLSX (zip) file");
  await page.screenshot({ path: path.join(shots, "report.png") });

  // On a phone's width.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "vi-VN" });
  await watchCsp(phone, csp);
  const p2 = await phone.newPage();
  await login(p2, env("SUPERVISOR"));
  await p2.goto(url + `/#/campaigns/${cid}`);
  await p2.waitForSelector('[data-funnel="all"] svg');
  await p2.screenshot({ path: path.join(shots, "campaign-phone.png"), fullPage: true });
  check(errors.length === 0, `no script error and nothing fetched elsewhere (${errors.join("; ")})`);
  check(csp.length === 0, `the daemon's CSP refused nothing the page did (${csp.join("; ")})`);

  // The watch sees what the CSP refuses: a style attribute, the kind the progress bar once had.
  const probe = [];
  const pctx = await browser.newContext();
  await watchCsp(pctx, probe);
  const p3 = await pctx.newPage();
  await p3.goto(url + "/");
  await p3.evaluate(() => { const s = document.createElement("span"); s.setAttribute("style", "width:5px"); document.body.append(s); });
  const seen = () => probe.some(v => v.startsWith("style-src")) && probe.some(v => v.startsWith("console:"));
  for (const end = Date.now() + 5000; !seen() && Date.now() < end;) await new Promise(r => setTimeout(r, 50));
  check(seen(), `a style attribute is seen as a violation, as an event and on the console (${probe.join("; ")})`);
} catch (e) {
  failed = true;
  console.error(String(e && e.stack || e));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
