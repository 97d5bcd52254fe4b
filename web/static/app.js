/* The supervisors' dashboard: one page over /api/v1 (session cookie), Vietnamese labels and
 * number formats. Every text from the server goes in with textContent, never as HTML. */
"use strict";
(() => {
  const $ = s => document.querySelector(s);
  const fmt = n => Charts.fmt.format(n);
  const pct = n => new Intl.NumberFormat("vi-VN", {maximumFractionDigits: 1}).format(n) + "%";
  const STATUS = {draft: "Bản nháp", scheduled: "Đã lên lịch", running: "Đang gửi", paused: "Tạm dừng",
                  completed: "Hoàn thành", cancelled: "Đã hủy"};
  const ROLE = {officer: "Cán bộ", supervisor: "Lãnh đạo phê duyệt", admin: "Quản trị"};
  const CHANNEL = {zalo: "Zalo", sms: "SMS"};
  let me = null, timer = null;

  async function api(method, path, body) {
    const opt = {method, headers: {}, credentials: "same-origin"};
    if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
    const r = await fetch("/api/v1/" + path, opt);
    const data = await r.json().catch(() => ({}));
    if (r.status === 401 && path !== "login") { showLogin(); }
    if (!r.ok) { const e = new Error(data.error || ("HTTP " + r.status)); e.status = r.status; throw e; }
    return data;
  }

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      /* Styles through the CSSOM: the daemon's CSP (style-src 'self') refuses a style attribute,
       * and an inline handler, but not a property set from this script. */
      else if (k === "style") Object.assign(e.style, v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }

  function notice(text, good) {
    const n = $("#notice");
    n.textContent = text || "";
    n.className = "notice " + (good ? "good" : "bad");
  }

  /* ---- login ---- */
  function showLogin() {
    clearInterval(timer);
    me = null;
    $("#app").hidden = true; $("#who").hidden = true; $("#login").hidden = false;
  }

  async function start() {
    try { me = await api("GET", "me"); } catch (e) { showLogin(); return; }
    $("#login").hidden = true; $("#app").hidden = false; $("#who").hidden = false;
    $("#who-name").textContent = me.name;
    $("#who-role").textContent = ROLE[me.role] || me.role;
    route();
  }

  $("#login-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    $("#login-error").textContent = "";
    try {
      await api("POST", "login", {name: $("#login-name").value, password: $("#login-password").value});
      $("#login-password").value = "";
      start();
    } catch (e) {
      $("#login-error").textContent = e.status === 401 ? "Sai tên đăng nhập hoặc mật khẩu." : e.message;
    }
  });
  $("#logout").addEventListener("click", async () => { await api("POST", "logout").catch(() => {}); showLogin(); });

  /* ---- tables that sort and filter ---- */
  function table(id, cols, rows, rowClass) {
    const t = document.getElementById(id);
    t.replaceChildren();
    const head = h("tr");
    cols.forEach((c, i) => head.append(h("th", {class: c.num ? "num" : "", "data-col": i}, c.title)));
    t.append(h("thead", {}, head));
    const body = h("tbody");
    for (const r of rows) {
      const tr = h("tr", {class: rowClass ? rowClass(r) : ""});
      for (const c of cols) {
        const v = c.get(r);
        const td = h("td", {class: c.num ? "num" : "", "data-sort": c.sort ? c.sort(r) : (typeof v === "number" ? v : String(v ?? ""))},
                     c.show ? c.show(r) : (typeof v === "number" ? fmt(v) : (v ?? "")));
        tr.append(td);
      }
      body.append(tr);
    }
    t.append(body);
    t.querySelectorAll("th").forEach(th => th.addEventListener("click", () =>
      sortBy(t, +th.dataset.col, !th.classList.contains("sorted-asc"))));
    /* The views redraw every few seconds: keep the reader's order and filter across a redraw. */
    if (t.dataset.sortCol !== undefined) sortBy(t, +t.dataset.sortCol, t.dataset.sortAsc === "1");
    filterRows(t);
  }

  function sortBy(t, i, asc) {
    t.dataset.sortCol = i;
    t.dataset.sortAsc = asc ? "1" : "0";
    t.querySelectorAll("th").forEach(x => x.classList.remove("sorted-asc", "sorted-desc"));
    t.tHead.rows[0].cells[i].classList.add(asc ? "sorted-asc" : "sorted-desc");
    const body = t.tBodies[0];
    const rows = [...body.rows];
    rows.sort((a, b) => {
      const x = a.cells[i].dataset.sort, y = b.cells[i].dataset.sort;
      const nx = parseFloat(x), ny = parseFloat(y);
      const c = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y, "vi");
      return asc ? c : -c;
    });
    body.append(...rows);
  }

  /* Rows holding the text of the table's filter box, whatever the case; NFC on both sides, as
   * keyboards may type Vietnamese letters decomposed. */
  const folded = s => s.normalize("NFC").toLocaleLowerCase("vi");
  function filterRows(t) {
    const inp = document.querySelector(`input.filter[data-table="${t.id}"]`);
    const q = inp ? folded(inp.value.trim()) : "";
    for (const tr of t.tBodies[0]?.rows || []) tr.hidden = q !== "" && !folded(tr.textContent).includes(q);
  }
  document.querySelectorAll("input.filter").forEach(inp => inp.addEventListener("input", () =>
    filterRows(document.getElementById(inp.dataset.table))));

  /* ---- campaigns ---- */
  function statusTag(s) { return h("span", {class: "tag " + s}, STATUS[s] || s); }

  function progress(c) {
    const done = c.targeted - c.outcomes.pending;
    const p = c.targeted ? 100 * done / c.targeted : 0;
    return h("div", {title: pct(p)}, h("div", {class: "bar", role: "progressbar", "aria-valuemin": 0,
                                                "aria-valuemax": 100, "aria-valuenow": p.toFixed(1)},
                                             h("span", {style: {width: `${p.toFixed(1)}%`}})));
  }

  async function approve(c) {
    try {
      const r = await api("POST", `campaigns/${c.id}/approve`);
      notice(`Đã phê duyệt chiến dịch “${r.name}”.`, true);
    } catch (e) { notice(e.status === 403 ? "Bạn không có quyền phê duyệt: cần vai trò lãnh đạo phê duyệt." : e.message); }
    route();
  }

  async function viewCampaigns() {
    const data = await api("GET", "campaigns");
    const body = $("#campaigns tbody");
    body.replaceChildren();
    for (const c of data.campaigns) {
      const sent = c.by_channel.zalo.sent + c.by_channel.sms.sent;
      const delivered = c.by_channel.zalo.delivered + c.by_channel.sms.delivered;
      let appr = c.approved_by ? "✔ " + c.approved_by : (c.status === "draft" ? "Chưa" : "—");
      if (c.status === "draft" && !c.approved_by)
        appr = h("button", {class: "secondary", "data-approve": c.id, onclick: () => approve(c)}, "Phê duyệt");
      body.append(h("tr", {"data-id": c.id},
        h("td", {}, c.id), h("td", {}, h("a", {href: `#/campaigns/${c.id}`}, c.name)), h("td", {}, statusTag(c.status)),
        h("td", {class: "num"}, fmt(c.targeted)), h("td", {class: "num"}, fmt(sent)),
        h("td", {class: "num"}, fmt(delivered)), h("td", {}, progress(c)), h("td", {}, appr)));
    }
  }

  async function act(id, what, label) {
    try { const r = await api("POST", `campaigns/${id}/${what}`); notice(`${label}: ${STATUS[r.status] || r.status}.`, true); }
    catch (e) { notice(e.status === 403 ? "Bạn không có quyền làm việc này." : e.message); }
    route();
  }

  /* The whole campaign's funnel, then each channel's: targeted (its messages, those handed on to
   * the next channel included) → sent → delivered → replied and opted out on that channel →
   * converted (the channel that reached the citizen first), with its failures and hand-overs. */
  function funnelFor(c, conv, chans) {
    const box = $("#c-funnel");
    box.replaceChildren();
    const sent = c.by_channel.zalo.sent + c.by_channel.sms.sent;
    const delivered = c.by_channel.zalo.delivered + c.by_channel.sms.delivered;
    box.append(h("div", {"data-funnel": "all"}, Charts.funnel("Toàn chiến dịch", [
      {label: "Đối tượng", value: c.targeted}, {label: "Đã gửi", value: sent},
      {label: "Đã nhận", value: delivered, color: "#1e7b34"},
      {label: "Phản hồi", value: c.replies, color: "#7c3aed"},
      {label: "Từ chối nhận tin", value: c.opted_out, color: "#b3261e"},
      {label: "Đã tham gia BHXH", value: conv.converted, color: "#0e7490"}])));
    for (const ch of c.channels) {
      const s = c.by_channel[ch.channel];
      const row = chans.find(r => r.code === ch.channel) || {targeted: 0, replies: 0, opted_out: 0};
      const conv1 = (conv.by_channel.find(r => r.code === ch.channel) || {converted: 0}).converted;
      box.append(h("div", {"data-funnel": ch.channel}, Charts.funnel(`${CHANNEL[ch.channel]} · mẫu ${ch.template}`, [
        {label: "Đối tượng", value: row.targeted}, {label: "Đã gửi", value: s.sent},
        {label: "Đã nhận", value: s.delivered, color: "#1e7b34"},
        {label: "Phản hồi", value: row.replies, color: "#7c3aed"},
        {label: "Từ chối nhận tin", value: row.opted_out, color: "#b3261e"},
        {label: "Đã tham gia BHXH", value: conv1, color: "#0e7490"},
        {label: "Thất bại", value: s.failed, color: "#b3261e"},
        {label: "Chuyển kênh khác", value: s.fallback, color: "#f59e0b"}])));
    }
  }

  const reachCols = by => [
    {title: by === "commune" ? "Mã xã" : "Mã nhóm", get: r => r.code},
    {title: by === "commune" ? "Xã/phường" : "Nhóm", get: r => r.name},
    {title: "Đối tượng", num: true, get: r => r.targeted},
    {title: "Đã nhận", num: true, get: r => r.reached},
    {title: "Tỷ lệ", num: true, get: r => r.reach_pct, show: r => pct(r.reach_pct)}];

  async function viewCampaign(id) {
    const c = await api("GET", `campaigns/${id}`);
    $("#c-title").textContent = `Chiến dịch “${c.name}”`;
    $("#c-meta").replaceChildren(statusTag(c.status), ` · phân khúc ${c.segment} · khung giờ ${c.window}`,
      c.approved_by ? ` · phê duyệt bởi ${c.approved_by}` : (c.needs_approval ? " · cần phê duyệt" : ""));
    const a = $("#c-actions");
    a.replaceChildren();
    const btn = (what, label, cls) => a.append(h("button", {class: cls || "", "data-action": what,
                                                             onclick: () => act(c.id, what, label)}, label));
    if (c.status === "draft" && !c.approved_by) btn("approve", "Phê duyệt", "secondary");
    if (c.status === "draft") btn("start", "Bắt đầu gửi");
    if (c.status === "scheduled" || c.status === "running") btn("pause", "Tạm dừng", "secondary");
    if (c.status === "paused") btn("resume", "Tiếp tục");
    if (c.status !== "completed" && c.status !== "cancelled") btn("cancel", "Hủy chiến dịch", "danger");
    $("#c-cards").replaceChildren(...[
      ["Đối tượng", c.targeted], ["Đã nhận", c.outcomes.delivered], ["Đang chờ", c.outcomes.pending],
      ["Phản hồi", c.replies], ["Từ chối nhận tin", c.opted_out], ["Chi phí (đồng)", c.cost_vnd]]
      .map(([k, v]) => h("div", {class: "card"}, k, h("b", {}, fmt(v)))));
    const [days, communes, groups, chans, conv] = await Promise.all([...["day", "commune", "group", "channel"].map(
      by => api("GET", `campaigns/${id}/breakdown?by=${by}`)), api("GET", `campaigns/${id}/conversions`)]);
    funnelFor(c, conv, chans.rows);
    $("#c-days").replaceChildren(Charts.days(days.rows));
    table("c-communes", reachCols("commune"), communes.rows);
    table("c-groups", reachCols("group"), groups.rows);
  }

  /* ---- replies ---- */
  async function viewReplies() {
    const all = $("#r-all").checked;
    const data = await api("GET", "replies" + (all ? "" : "?unanswered=1"));
    const ul = $("#replies");
    ul.replaceChildren();
    if (!data.replies.length) ul.append(h("li", {}, "Không có phản hồi nào đang chờ trả lời."));
    for (const r of data.replies) {
      const li = h("li", {"data-reply": r.id},
        h("div", {class: "meta"}, `${r.received_at.replace("T", " ").replace("Z", " UTC")} · ${CHANNEL[r.channel]} · ${r.from}`,
          r.campaign ? ` · chiến dịch ${r.campaign}` : ""),
        h("div", {class: "body"}, r.body));
      if (r.answered) li.append(h("div", {class: "meta"}, `Đã trả lời bởi ${r.answered_by}: `, r.answer));
      else {
        const ta = h("textarea", {"aria-label": "Nội dung trả lời", maxlength: 1600});
        li.append(ta, h("button", {onclick: async () => {
          try { await api("POST", `replies/${r.id}/answer`, {text: ta.value}); await viewReplies(); notice("Đã gửi câu trả lời.", true); }
          catch (e) { notice(e.message); }
        }}, "Trả lời"));
      }
      ul.append(li);
    }
  }
  $("#r-all").addEventListener("change", viewReplies);

  /* ---- coverage ---- */
  const verdict = {title: "Đánh giá", get: r => r.below_target ? "dưới" : "đạt",
    show: r => r.below_target === null ? "—" : (r.below_target ? h("span", {class: "tag below"}, "Dưới chỉ tiêu") : "Đạt")};
  async function viewCoverage() {
    const y = $("#cov-year").value || new Date().getFullYear();
    $("#cov-year").value = y;
    const cov = await api("GET", `coverage?year=${y}&topic=${$("#cov-topic").value}`);
    const act = cov.activity;
    $("#cov-cards").replaceChildren(
      h("div", {class: "card"}, "Đã tiếp cận", h("b", {}, fmt(cov.totals.reached))),
      h("div", {class: "card"}, "Dân số trong độ tuổi lao động", h("b", {}, fmt(cov.totals.population))),
      h("div", {class: "card"}, "Tỷ lệ tiếp cận", h("b", {}, pct(cov.totals.reached_pct))),
      h("div", {class: "card" + (cov.totals.communes_below_target ? " bad" : "")}, "Xã dưới chỉ tiêu",
        h("b", {"data-below": cov.totals.communes_below_target}, fmt(cov.totals.communes_below_target))),
      h("div", {class: "card" + (act.below_target ? " bad" : "")}, `Xã có hoạt động (chỉ tiêu ${pct(act.target_pct)})`,
        h("b", {}, `${fmt(act.active)}/${fmt(act.communes)} · ${pct(act.share_pct)}`)));
    /* Each province's share of active communes against its plan's target (the one imported
     * with the targets, else 70%). */
    table("cov-provinces", [
      {title: "Mã tỉnh", get: r => r.code}, {title: "Tỉnh", get: r => r.name},
      {title: "Xã có chỉ tiêu", num: true, get: r => r.communes}, {title: "Xã có hoạt động", num: true, get: r => r.active},
      {title: "Tỷ lệ", num: true, get: r => r.share_pct, show: r => pct(r.share_pct)},
      {title: "Chỉ tiêu", num: true, get: r => r.target_pct,
       show: r => pct(r.target_pct) + (r.target_source === "default" ? " (mặc định)" : "")},
      verdict], act.provinces, r => r.below_target ? "below" : "");
    table("cov-communes", [
      {title: "Mã xã", get: r => r.code}, {title: "Xã/phường", get: r => r.name}, {title: "Tỉnh", get: r => r.province},
      {title: "Dân số", num: true, get: r => r.population ?? "", show: r => r.population === null ? "—" : fmt(r.population)},
      {title: "Đã tiếp cận", num: true, get: r => r.reached},
      {title: "Tỷ lệ", num: true, get: r => r.reached_pct ?? "", show: r => r.reached_pct === null ? "—" : pct(r.reached_pct)},
      {title: "Chỉ tiêu", num: true, get: r => r.target_pct ?? "", show: r => r.target_pct === null ? "—" : pct(r.target_pct)},
      verdict], cov.communes, r => r.below_target ? "below" : "");
    table("cov-groups", [
      {title: "Mã nhóm", get: r => r.code}, {title: "Nhóm", get: r => r.name},
      {title: "Trong danh sách", num: true, get: r => r.citizens}, {title: "Đã tiếp cận", num: true, get: r => r.reached},
      {title: "Tỷ lệ", num: true, get: r => r.reached_pct, show: r => pct(r.reached_pct)}], cov.groups);
  }
  $("#cov-form").addEventListener("submit", ev => { ev.preventDefault(); viewCoverage(); });

  /* ---- report ---- */
  function viewReport() {
    const inp = $("#rep-year");
    if (!inp.value) inp.value = new Date().getFullYear() - (new Date().getMonth() === 0 ? 1 : 0);
    const set = () => { $("#rep-link").href = `/api/v1/report?year=${inp.value}`; };
    inp.oninput = set;
    set();
  }

  /* ---- routing ---- */
  async function route() {
    if (!me) return;
    clearInterval(timer);
    const parts = (location.hash || "#/campaigns").slice(2).split("/");
    let view = parts[0] || "campaigns";
    if (view === "campaigns" && parts[1]) view = "campaign";
    document.querySelectorAll(".view").forEach(v => v.classList.toggle("shown", v.id === "view-" + view));
    document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", view.startsWith(a.dataset.view)));
    try {
      if (view === "campaigns") { await viewCampaigns(); timer = setInterval(() => viewCampaigns().catch(() => {}), 5000); }
      else if (view === "campaign") { await viewCampaign(parts[1]); timer = setInterval(() => viewCampaign(parts[1]).catch(() => {}), 5000); }
      else if (view === "replies") await viewReplies();
      else if (view === "coverage") await viewCoverage();
      else if (view === "report") viewReport();
    } catch (e) { if (e.status !== 401) notice(e.message); }
  }
  window.addEventListener("hashchange", () => { notice(""); route(); });
  start();
})();
