// The operations dashboard: one JSON call per filter change (/agent/ops/api/overview), drawn with Chart.js.
// Every text from the data goes into the page through textContent.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const charts = {};
  const COLORS = ["#dc2626", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#9ca3af"];
  const BY_LABEL = { area: "小区", outlet: "网点", route: "线路", hub: "中转场", city: "城市", carrier: "快递公司" };
  const SCOPE_LABEL = { area: "小区", outlet: "网点", route: "线路", hub: "中转场" };

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function params() {
    const form = new FormData($("filters"));
    const q = new URLSearchParams();
    for (const [k, v] of form.entries()) if (v) q.set(k, v);
    return q;
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  function fillSelect(select, options, keep) {
    const current = select.value;
    while (select.options.length > 1) select.remove(1);
    options.forEach(([value, label]) => select.add(new Option(label, value)));
    if (keep && [...select.options].some((o) => o.value === current)) select.value = current;
  }

  function time(iso) {
    return iso ? iso.replace("T", " ").slice(5, 16) : "";
  }

  function renderAlerts(alerts) {
    const box = $("alerts");
    box.replaceChildren();
    const open = alerts.filter((a) => a.status === "open").length;
    $("alert-count").textContent = open ? `${open} 条未解除` : "";
    if (!alerts.length) { box.append(el("p", { class: "muted" }, "当前时间范围内没有预警。")); return; }
    alerts.forEach((a) => {
      const card = el("article", { class: `alert ${a.status}`, "data-alert-id": a.id, "data-kind": a.kind });
      const head = el("div", { class: "head" });
      head.append(el("span", { class: "badge kind" }, a.kind === "spike" ? "突增" : "集中"),
        el("strong", {}, `${a.category_label} · ${SCOPE_LABEL[a.scope.type] || a.scope.type}：${a.scope.name}`),
        el("span", { class: "badge" }, a.status === "open" ? "未解除" : "已解除"),
        el("span", { class: "muted" }, `发现于 ${time(a.opened_at)}${a.ticket_id ? ` · 工单 T${a.ticket_id}` : ""}`));
      card.append(head, el("div", {}, a.summary));
      const ev = a.evidence || {};
      if (ev.by_day && ev.by_day.length) {
        const bars = el("div", { class: "bars", title: "过去15天每天的数量（红色为近24小时）" });
        const max = Math.max(1, ...ev.by_day.map((d) => d.count));
        ev.by_day.forEach((d, i) => {
          const bar = el("span", { class: i === ev.by_day.length - 1 ? "now" : "", title: `${time(d.until)} ${d.count}` });
          bar.style.height = `${Math.max(2, (36 * d.count) / max)}px`;
          bars.append(bar);
        });
        card.append(bars);
      }
      const facts = [];
      if (a.kind === "spike") facts.push(`近24小时 ${a.count} 起，按基线预期 ${a.baseline} 起（p=${ev.p_value}）`);
      else facts.push(`${a.count} 起 / 该类共 ${ev.category_total} 起，预期 ${a.baseline} 起（p=${ev.p_value}）`);
      if (ev.top_outlets && ev.top_outlets.length) facts.push(`网点：${ev.top_outlets.map((o) => `${o.name}(${o.count})`).join("、")}`);
      if (ev.top_routes && ev.top_routes.length && a.scope.type !== "area") facts.push(`线路：${ev.top_routes.map((o) => `${o.name}(${o.count})`).join("、")}`);
      if (ev.owner) facts.push(`责任方：${ev.owner.name}`);
      card.append(el("div", { class: "muted" }, facts.join("；")));
      card.append(el("div", { class: "action" }, `建议：${a.suggested_action}`));
      if (ev.examples && ev.examples.length) {
        const list = el("ul", { class: "examples" });
        ev.examples.slice(0, 3).forEach((x) => list.append(
          el("li", {}, `${time(x.time)} 「${x.text || ""}」${x.conversation_id ? ` 会话 ${x.conversation_id}` : ""}`)));
        card.append(list);
      }
      box.append(card);
    });
  }

  function render(data) {
    const facets = data.facets;
    fillSelect($("f-carrier"), facets.carriers.map((c) => [c, c.toUpperCase()]), true);
    fillSelect($("f-category"), facets.categories.map((c) => [c.code, c.label]), true);
    const trend = data.trend;
    draw("trend-chart", {
      type: "line",
      data: { labels: trend.days, datasets: trend.series.map((s, i) => ({
        label: s.label, data: s.counts, borderColor: COLORS[i % COLORS.length],
        backgroundColor: COLORS[i % COLORS.length], tension: 0.2, pointRadius: 1 })) },
      options: { maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } },
    });
    const cats = data.categories.rows.filter((r) => r.category !== "track_parcel").slice(0, 12);
    draw("category-chart", {
      type: "bar",
      data: { labels: cats.map((r) => r.category_label), datasets: [{ label: "数量", data: cats.map((r) => r.count),
        backgroundColor: "#2563eb" }] },
      options: { indexAxis: "y", maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } },
    });
    const by = data.breakdown.by;
    $("breakdown-title").textContent = `按${BY_LABEL[by] || by}分布（投诉与问题）`;
    $("table-by").textContent = BY_LABEL[by] || by;
    const rows = data.breakdown.rows.filter((r) => r.category !== "track_parcel");
    const top = rows.slice(0, 10);
    draw("breakdown-chart", {
      type: "bar",
      data: { labels: top.map((r) => `${r.name} · ${r.category_label}`), datasets: [{ label: "数量",
        data: top.map((r) => r.count), backgroundColor: "#d97706" }] },
      options: { indexAxis: "y", maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } },
    });
    const body = $("breakdown-table").querySelector("tbody");
    body.replaceChildren();
    rows.slice(0, 30).forEach((r) => {
      const tr = el("tr");
      tr.append(el("td", {}, r.category_label), el("td", {}, r.name), el("td", {}, r.count),
        el("td", {}, `${(r.rate * 100).toFixed(1)}%`));
      body.append(tr);
    });
    renderAlerts(data.alerts);
  }

  async function load() {
    $("status").textContent = "加载中…";
    try {
      const response = await fetch(`/agent/ops/api/overview?${params()}`, { credentials: "same-origin" });
      if (response.status === 401) { location.href = "/agent/login?next=/agent/ops/"; return; }
      const data = await response.json();
      if (!response.ok) throw new Error(data.message || response.status);
      render(data);
      $("status").textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}`;
      document.body.dataset.loaded = "true";
    } catch (err) {
      $("status").textContent = `加载失败：${err.message}`;
    }
  }

  $("filters").addEventListener("change", load);
  $("run-btn").addEventListener("click", async () => {
    $("status").textContent = "检测中…";
    const response = await fetch("/agent/ops/api/run", { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf } });
    const data = await response.json();
    $("status").textContent = response.ok
      ? `检测完成：新增 ${data.opened.length}，持续 ${data.updated.length}，解除 ${data.resolved.length}` : data.message;
    load();
  });
  load();
}());
