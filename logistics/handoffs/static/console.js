// Agent console: polls the queue and the open conversation every 2 s; every POST carries the CSRF token.
// User-written text is only ever set with textContent, never as HTML.
(function () {
  "use strict";
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const POLL_MS = 2000;
  let current = Number(document.body.dataset.handoff) || null;
  let detail = null;
  let lastTranscript = "";
  let detailLoadedAt = 0;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    if (opts.body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.body);
    }
    if ((opts.method || "GET") !== "GET") opts.headers["X-CSRF-Token"] = CSRF;
    const response = await fetch("/agent/api" + path, opts);
    if (response.status === 401) { window.location = "/agent/login"; throw new Error("logged out"); }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(body.message || response.statusText), { status: response.status });
    return body;
  }

  function waited(seconds) {
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return m >= 60 ? `${Math.floor(m / 60)}时${m % 60}分` : `${m}:${String(s).padStart(2, "0")}`;
  }

  // Times are China time (Asia/Shanghai) whatever the agent's computer is set to: the users, the outlets and the
  // SLA promises all speak it.
  const CHINA_TIME = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });

  function clock(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    const part = Object.fromEntries(CHINA_TIME.formatToParts(d).map((p) => [p.type, p.value]));
    return `${part.month}-${part.day} ${part.hour}:${part.minute}`;
  }

  function emotionBadge(h) {
    const cls = h.emotion === "angry" ? "angry" : h.emotion === "upset" ? "upset" : "ok";
    return el("span", { class: `badge ${cls}` }, h.emotion_label);
  }

  function queueItem(h) {
    const since = h.status === "queued" ? "等待" : h.status === "active" ? "已等" : "";
    return el("li", {
      class: `p${h.priority}` + (h.id === current ? " selected" : ""), "data-id": h.id,
      onclick: () => open(h.id),
    },
      el("div", { class: "row" },
        el("span", { class: `badge p${h.priority}` }, h.priority_label),
        emotionBadge(h),
        el("span", { class: "badge" }, h.channel_label),
        el("span", { class: "spacer" }),
        since ? el("span", { class: "wait", title: "从转人工起的等待时间" }, `${since} ${waited(h.waited_seconds)}`) : null),
      el("span", { class: "req", title: h.request }, h.request || h.reason_label),
      el("span", { class: "muted" }, `#${h.id} · ${h.reason_label}` + (h.agent ? ` · ${h.agent.display_name}` : "")
        + (h.close_reason && h.close_reason !== "agent" ? ` · ${h.close_reason_label}` : "")
        + (h.callback_ticket_ref ? ` · 回电工单 ${h.callback_ticket_ref}` : "")
        + (h.rating ? ` · 评分 ${h.rating}` : "")));
  }

  async function refreshQueue() {
    try {
      const q = await api("/queue");
      document.getElementById("queued").replaceChildren(...q.queued.map(queueItem));
      document.getElementById("active").replaceChildren(...q.active.map(queueItem));
      document.getElementById("closed").replaceChildren(...q.closed.map(queueItem));
      document.getElementById("queued-count").textContent = q.queued.length;
      document.getElementById("active-count").textContent = q.active.length;
      const longest = q.queued.reduce((m, h) => Math.max(m, h.waited_seconds), 0);
      document.getElementById("queue-stats").textContent =
        `排队 ${q.queued.length} · 处理中 ${q.active.length} · 最长等待 ${waited(longest)} · 在岗 ${q.agents_on_duty}`;
      document.getElementById("conn").textContent = "";
    } catch (err) {
      document.getElementById("conn").textContent = "连接中断，正在重试…";
    }
  }

  async function open(id) {
    current = id;
    lastTranscript = "";
    history.replaceState(null, "", `/agent/handoffs/${id}`);
    try { await api(`/handoffs/${id}/claim`, { method: "POST", body: {} }); } catch (err) { /* closed or taken: read only */ }
    try { await loadDetail(); } catch (err) {
      // 403: another agent's conversation (only supervisors read those).
      current = null;
      document.getElementById("detail").hidden = true;
      document.getElementById("side").hidden = true;
      document.getElementById("empty").hidden = false;
      document.getElementById("empty").textContent = err.message || "无法打开这个会话";
      refreshQueue();
      return;
    }
    await refreshTranscript();
    refreshQueue();
  }

  function triggeredLine(pkg) {
    if (!pkg.triggered || !pkg.triggered.length) return "无";
    return pkg.triggered.map((t) => `${t.process}（${t.age}，${t.status_label}，${t.ref}）`).join("；");
  }

  function shipmentsLine(pkg) {
    const lines = (pkg.shipments || []).map((s) => {
      const scan = s.last_scan ? `，最后扫描 ${clock(s.last_scan.time)} ${s.last_scan.place}：${s.last_scan.description || s.last_scan.status_label}` : "";
      return `${s.carrier_name} ${s.tracking_number}（${s.status_label}${s.goods_description ? "，" + s.goods_description : ""}）${scan}`;
    });
    for (const n of pkg.unknown_numbers || []) lines.push(`${n}（系统中查无此单）`);
    return lines.length ? lines.join("\n") : "用户未提供单号";
  }

  async function loadDetail() {
    if (!current) return;
    detail = await api(`/handoffs/${current}`);
    detailLoadedAt = Date.now();
    const pkg = detail.package || {};
    document.getElementById("empty").hidden = true;
    document.getElementById("detail").hidden = false;
    document.getElementById("side").hidden = false;
    document.getElementById("h-title").textContent = `#${detail.id} ${detail.ticket_ref || ""} · ${detail.conversation_id}`;
    const status = { queued: "排队中", active: detail.mine ? "我在处理" : `由 ${detail.agent ? detail.agent.display_name : "同事"} 处理`, closed: "已结束" + (detail.close_reason && detail.close_reason !== "agent" ? `（${detail.close_reason_label}）` : "") }[detail.status];
    document.getElementById("h-badges").replaceChildren(
      el("span", { class: `badge p${detail.priority}` }, detail.priority_label),
      el("span", { class: `badge ${detail.emotion}` }, `情绪：${pkg.emotion_label || detail.emotion_label}`),
      el("span", { class: "badge" }, `渠道：${detail.channel_label}`),
      el("span", { class: "badge" }, detail.reason_label),
      el("span", { class: "badge" }, status));
    document.getElementById("p-request").textContent = pkg.request || "";
    document.getElementById("p-triggered").textContent = triggeredLine(pkg);
    document.getElementById("p-notes").textContent = (pkg.notes && pkg.notes.length) ? pkg.notes.join("；") : "无";
    document.getElementById("p-shipments").textContent = shipmentsLine(pkg);
    document.getElementById("p-shipments").style.whiteSpace = "pre-line";
    document.getElementById("p-contact").textContent = pkg.contact || detail.contact || "";
    const closed = detail.status === "closed";
    document.getElementById("close-btn").disabled = closed && !!detail.resumed_at;
    document.getElementById("close-btn").textContent = closed && !detail.resumed_at ? "重试恢复机器人" : "结束会话";
    document.getElementById("reply-text").disabled = closed;
    renderTimelines(detail.timelines || []);
    renderTickets(detail.tickets || []);
  }

  function renderTimelines(timelines) {
    const box = document.getElementById("timelines");
    box.replaceChildren(...timelines.map((t) => el("div", {},
      el("div", { class: "shipment-head" }, `${t.carrier_name} ${t.tracking_number} · ${t.status_label}`),
      t.recipient ? el("div", { class: "muted" }, `收件：${t.recipient.name || ""} ${t.recipient.phone || ""} ${t.recipient.address || ""}`) : null,
      t.incident ? el("div", { class: "warning" }, t.incident.summary) : null,
      el("ol", { class: "timeline" }, (t.events || []).slice(0, 12).map((e) =>
        el("li", {}, el("time", {}, clock(e.time)), `${e.status_label} · ${e.location || ""}`,
          e.description ? el("div", { class: "muted" }, e.description) : null))))));
    if (!timelines.length) box.replaceChildren(el("p", { class: "muted" }, "没有可显示的轨迹"));
  }

  function renderTickets(tickets) {
    const list = document.getElementById("tickets");
    list.replaceChildren(...tickets.map((t) => {
      const note = el("input", { type: "text", placeholder: "加备注", maxlength: 2000 });
      const due = el("input", { type: "datetime-local", title: "改截止时间（北京时间）" });
      const canResolve = t.allowed_next.includes("resolved");
      return el("li", { "data-ticket": t.id },
        el("div", { class: "row" }, el("strong", {}, `T${t.id} ${t.type_label}`), " ",
          el("span", { class: "badge" }, t.status_label), " ",
          el("span", { class: "muted" }, `截止 ${clock(t.sla_due_at)}`)),
        t.tracking_number ? el("div", { class: "muted" }, t.tracking_number) : null,
        ...(t.notes || []).map((n) => el("div", { class: "note" }, `${n.actor}：${n.text}`)),
        el("div", { class: "actions" }, note,
          el("button", { class: "secondary", onclick: () => patchTicket(t.id, { note: note.value }) }, "备注"),
          canResolve ? el("button", { onclick: () => patchTicket(t.id, { status: "resolved" }) }, "解决") : null,
          due,
          el("button", { class: "secondary", onclick: () => due.value && patchTicket(t.id, { sla_due_at: due.value }) }, "改时限")));
    }));
  }

  async function patchTicket(id, change) {
    if (change.note !== undefined && !change.note.trim()) return;
    try {
      await api(`/tickets/${id}`, { method: "POST", body: change });
      await loadDetail();
    } catch (err) { warn(`工单 T${id} 未更新：${err.message}`); }
  }

  function warn(text) {
    const w = document.getElementById("h-warning");
    w.textContent = text || "";
    w.hidden = !text;
  }

  async function refreshTranscript() {
    if (!current) return;
    let t;
    try { t = await api(`/handoffs/${current}/transcript`); } catch (err) { return; }
    const key = JSON.stringify(t.lines);
    document.getElementById("t-state").textContent = t.live
      ? (t.paused ? "机器人已暂停，用户消息实时显示" : "机器人在线") : (t.warning || "");
    document.getElementById("retry-btn").hidden = !(t.pending && t.pending.length);
    if (key === lastTranscript) return;
    lastTranscript = key;
    const box = document.getElementById("transcript");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.replaceChildren(...t.lines.map((line) => {
      const who = line.role === "user" ? "用户" : line.role === "agent" ? (line.agent || "客服") : "机器人";
      const state = line.role === "agent" && line.delivered === false ? "（未送达，将重试）" : "";
      return el("li", { class: line.role + (line.delivered === false ? " pending" : "") },
        el("span", { class: "meta" }, `${who} ${clock(line.time)}${state}`),
        line.role === "user" && line.text.startsWith("/") ? `（点了按钮：${line.text}）` : line.text,
        line.buttons ? el("span", { class: "meta" }, `[${line.buttons.join("] [")}]`) : null);
    }));
    if (atBottom || box.dataset.init !== String(current)) { box.scrollTop = box.scrollHeight; box.dataset.init = String(current); }
  }

  document.getElementById("reply").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = document.getElementById("reply-text");
    const text = box.value.trim();
    if (!text || !current) return;
    box.disabled = true;
    try {
      const r = await api(`/handoffs/${current}/messages`, { method: "POST", body: { text } });
      box.value = "";
      warn(r.delivered ? "" : "消息已保存，但暂时没送达用户（机器人服务不可达），稍后会重试。");
    } catch (err) { warn(`发送失败：${err.message}`); }
    box.disabled = false;
    box.focus();
    lastTranscript = "";
    refreshTranscript();
  });
  document.getElementById("reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      document.getElementById("reply").requestSubmit();
    }
  });
  document.getElementById("retry-btn").addEventListener("click", async () => {
    try { const r = await api(`/handoffs/${current}/retry`, { method: "POST", body: {} }); warn(r.delivered ? "" : "仍未送达，稍后再试。"); }
    catch (err) { warn(err.message); }
    lastTranscript = "";
    refreshTranscript();
  });
  document.getElementById("close-btn").addEventListener("click", async () => {
    if (!current || !window.confirm("结束人工会话？机器人会接回对话并请用户评分。")) return;
    try {
      const r = await api(`/handoffs/${current}/close`, { method: "POST", body: {} });
      warn(r.resumed ? "" : r.warning);
    } catch (err) { warn(`结束失败：${err.message}`); }
    await loadDetail();
    lastTranscript = "";
    refreshTranscript();
    refreshQueue();
  });

  async function tick() {
    await refreshQueue();
    if (current) {
      await refreshTranscript();
      if (Date.now() - detailLoadedAt > 10000) loadDetail().catch(() => {});
    }
  }
  setInterval(tick, POLL_MS);
  refreshQueue();
  if (current) open(current);
})();
