/* Small SVG charts drawn by the page itself: a horizontal funnel and bars per day. No library,
 * nothing fetched; numbers formatted the Vietnamese way (1.234.567). */
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const fmt = new Intl.NumberFormat("vi-VN");

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* ITEMS: [{label, value, color}], longest bar = the largest value. */
  function funnel(title, items) {
    const rowH = 26, labelW = 130, valueW = 70, width = 420;
    const svg = el("svg", {viewBox: `0 0 ${width} ${items.length * rowH + 28}`, role: "img",
                           "aria-label": title, width});
    svg.appendChild(el("text", {x: 0, y: 14, "font-weight": "bold"}, title));
    const max = Math.max(1, ...items.map(i => i.value));
    items.forEach((it, i) => {
      const y = 24 + i * rowH, w = (width - labelW - valueW) * it.value / max;
      svg.appendChild(el("text", {x: 0, y: y + 15}, it.label));
      svg.appendChild(el("rect", {x: labelW, y: y + 3, width: Math.max(w, 1), height: rowH - 8,
                                  fill: it.color || "#0b5cab", rx: 3}));
      svg.appendChild(el("text", {x: labelW + w + 6, y: y + 15, "data-value": it.value}, fmt.format(it.value)));
    });
    return svg;
  }

  /* ROWS: [{day, sent, delivered}] as sent and delivered bars side by side per day. */
  function days(rows) {
    const h = 180, pad = 30, bw = 14, gap = 10, width = Math.max(320, pad + rows.length * (2 * bw + gap) + 10);
    const svg = el("svg", {viewBox: `0 0 ${width} ${h + 40}`, width, role: "img",
                           "aria-label": "Tin nhắn theo ngày"});
    if (!rows.length) {
      svg.appendChild(el("text", {x: 10, y: 30}, "Chưa có tin nhắn nào được gửi."));
      return svg;
    }
    const max = Math.max(1, ...rows.map(r => r.sent));
    svg.appendChild(el("line", {x1: pad, y1: h, x2: width, y2: h, stroke: "#999"}));
    svg.appendChild(el("text", {x: 0, y: 12}, fmt.format(max)));
    rows.forEach((r, i) => {
      const x = pad + 6 + i * (2 * bw + gap);
      const hs = (h - 20) * r.sent / max, hd = (h - 20) * r.delivered / max;
      svg.appendChild(el("rect", {x, y: h - hs, width: bw, height: hs, fill: "#93c5fd"}));
      svg.appendChild(el("rect", {x: x + bw, y: h - hd, width: bw, height: hd, fill: "#1e7b34"}));
      svg.appendChild(el("text", {x, y: h + 14, "font-size": 10}, r.day.slice(5).split("-").reverse().join("/")));
    });
    const lg = el("g", {transform: `translate(${pad + 6}, ${h + 30})`});
    lg.appendChild(el("rect", {x: 0, y: -9, width: 10, height: 10, fill: "#93c5fd"}));
    lg.appendChild(el("text", {x: 14, y: 0}, "Đã gửi"));
    lg.appendChild(el("rect", {x: 80, y: -9, width: 10, height: 10, fill: "#1e7b34"}));
    lg.appendChild(el("text", {x: 94, y: 0}, "Đã nhận"));
    svg.appendChild(lg);
    return svg;
  }

  return {funnel, days, fmt};
})();
