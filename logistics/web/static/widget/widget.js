/*
 * Website chat widget for Rasa's socket.io channel. Embed with one tag:
 *
 *   <script src="https://backend.example/web/static/widget/widget.js"
 *           data-rasa-url="https://rasa.example" data-backend-url="https://backend.example"
 *           data-title="在线客服" data-color="#d9292b" defer></script>
 *
 * Plain JS, no build step. Every piece of text goes into the DOM through textContent, never innerHTML, so a
 * message holding markup shows as text. The backend's /web/api/history is the authority on what was said:
 * on every (re)connect the widget fetches it and merges by each message's stable id, so a reload or a network
 * drop neither loses nor duplicates messages.
 */
(function () {
  "use strict";

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[src*='widget.js']");
    return all[all.length - 1];
  })();
  var scriptUrl = new URL(script.src, location.href);
  var data = script.dataset;
  var config = {
    rasaUrl: (data.rasaUrl || scriptUrl.origin).replace(/\/+$/, ""),
    backendUrl: (data.backendUrl || scriptUrl.origin).replace(/\/+$/, ""),
    socketPath: data.socketPath || "/socket.io/",
    title: data.title || "在线客服",
    color: data.color || "#d9292b",
    open: data.open === "true",
    storageKey: data.storageKey || "logistics-chat",
  };
  var vendorUrl = new URL("../vendor/socket.io.min.js", scriptUrl).href;
  var cssUrl = new URL("widget.css", scriptUrl).href;
  var HIDDEN_PHOTO_MESSAGE = "/send_photo";

  // ---- storage -------------------------------------------------------------------------------------------
  function load(key) {
    try { return JSON.parse(localStorage.getItem(config.storageKey + "." + key)); } catch (e) { return null; }
  }
  function save(key, value) {
    try { localStorage.setItem(config.storageKey + "." + key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function newSessionId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var hex = "";
    for (var i = 0; i < 32; i++) hex += Math.floor(Math.random() * 16).toString(16);
    return hex;
  }

  var state = {
    sessionId: load("session_id") || newSessionId(),
    login: load("login"),
    open: load("open") === true || config.open,
    messages: [],          // rendered messages, in order: {key, id, stable, sig, role, el, ...}
    outbox: [],            // user messages typed while disconnected, sent after the next history merge
    connected: false,
    confirmed: false,
    everConnected: false,
    localSeq: 0,
    typingTimer: null,
  };
  save("session_id", state.sessionId);

  // ---- DOM helpers ---------------------------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // Every time the widget shows is China time (北京时间, UTC+8, no daylight saving since 1991), as the bot's
  // own words say it: a user abroad must not read 02:10 in the timeline and 10:10 in the answer above it.
  var CHINA_OFFSET_MS = 8 * 3600 * 1000;
  function chinaTime(date) { return new Date(date.getTime() + CHINA_OFFSET_MS); }  // read with getUTC*
  function clock(date) {
    var c = chinaTime(date);
    return pad(c.getUTCHours()) + ":" + pad(c.getUTCMinutes());
  }
  function dayClock(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    var c = chinaTime(d);
    return pad(c.getUTCMonth() + 1) + "-" + pad(c.getUTCDate()) + " " + clock(d);
  }

  // ---- layout --------------------------------------------------------------------------------------------
  var root, launcher, panel, list, typing, banner, input, sendBtn, fileInput, loginLink, loginBox, toast;

  function build() {
    root = el("div", "lw-root");
    root.style.setProperty("--lw-color", config.color);

    launcher = el("button", "lw-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-label", "打开" + config.title);
    launcher.appendChild(el("span", "lw-launcher-icon"));
    launcher.appendChild(el("span", "lw-launcher-text", "在线客服"));
    launcher.addEventListener("click", function () { setOpen(true); });

    panel = el("section", "lw-panel");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", config.title);

    var header = el("header", "lw-header");
    var titles = el("div", "lw-titles");
    titles.appendChild(el("div", "lw-title", config.title));
    loginLink = el("button", "lw-login-link", "登录/绑定手机");
    loginLink.type = "button";
    loginLink.addEventListener("click", toggleLogin);
    titles.appendChild(loginLink);
    header.appendChild(titles);
    var close = el("button", "lw-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "关闭");
    close.addEventListener("click", function () { setOpen(false); });
    header.appendChild(close);
    panel.appendChild(header);

    banner = el("div", "lw-banner", "连接已断开，正在重连…");
    banner.setAttribute("role", "status");
    banner.hidden = true;
    panel.appendChild(banner);

    loginBox = buildLogin();
    panel.appendChild(loginBox);

    list = el("div", "lw-messages");
    list.setAttribute("aria-live", "polite");
    list.appendChild(el("div", "lw-intro", "您好，这里是" + config.title + "。查件、催件、破损丢件、理赔都可以直接问我；" +
                        "登录后查件不用报单号。"));
    panel.appendChild(list);

    typing = el("div", "lw-typing");
    typing.setAttribute("aria-label", "对方正在输入");
    for (var i = 0; i < 3; i++) typing.appendChild(el("span", "lw-dot"));
    typing.hidden = true;

    toast = el("div", "lw-toast");
    toast.hidden = true;
    panel.appendChild(toast);

    var composer = el("div", "lw-composer");
    fileInput = el("input", "lw-file");
    fileInput.type = "file";
    fileInput.accept = "image/jpeg,image/png,image/webp";
    fileInput.addEventListener("change", function () {
      if (fileInput.files && fileInput.files[0]) uploadPhoto(fileInput.files[0]);
      fileInput.value = "";
    });
    var attach = el("button", "lw-attach", "图");
    attach.type = "button";
    attach.title = "上传照片";
    attach.setAttribute("aria-label", "上传照片");
    attach.addEventListener("click", function () { fileInput.click(); });
    input = el("textarea", "lw-input");
    input.rows = 1;
    input.placeholder = "输入问题，Enter 发送";
    input.setAttribute("aria-label", "输入消息");
    input.addEventListener("keydown", function (event) {
      // Enter while an IME is composing (pinyin) picks a candidate; it must not send.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submit();
      }
    });
    sendBtn = el("button", "lw-send", "发送");
    sendBtn.type = "button";
    sendBtn.addEventListener("click", submit);
    composer.appendChild(fileInput);
    composer.appendChild(attach);
    composer.appendChild(input);
    composer.appendChild(sendBtn);
    panel.appendChild(composer);

    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(root);
    renderLogin();
    setOpen(state.open);
  }

  function setOpen(open) {
    state.open = open;
    save("open", open);
    root.classList.toggle("lw-open", open);
    if (open) {
      scrollDown();
      setTimeout(function () { input.focus(); }, 0);
    }
  }

  function scrollDown() { list.scrollTop = list.scrollHeight; }

  function showToast(text, kind) {
    toast.textContent = text;
    toast.className = "lw-toast" + (kind ? " lw-toast-" + kind : "");
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 6000);
  }

  // ---- login (one-time code) -----------------------------------------------------------------------------
  var phoneInput, codeInput, codeBtn, verifyBtn, demoHint;

  function buildLogin() {
    var box = el("div", "lw-login");
    box.hidden = true;
    box.appendChild(el("div", "lw-login-title", "绑定手机号后，查件不用再报单号"));
    phoneInput = el("input", "lw-phone");
    phoneInput.type = "tel";
    phoneInput.placeholder = "手机号";
    phoneInput.maxLength = 14;
    codeBtn = el("button", "lw-code-btn", "获取验证码");
    codeBtn.type = "button";
    codeBtn.addEventListener("click", requestCode);
    var row1 = el("div", "lw-login-row");
    row1.appendChild(phoneInput);
    row1.appendChild(codeBtn);
    codeInput = el("input", "lw-code");
    codeInput.inputMode = "numeric";
    codeInput.placeholder = "验证码";
    codeInput.maxLength = 6;
    verifyBtn = el("button", "lw-verify-btn", "登录");
    verifyBtn.type = "button";
    verifyBtn.addEventListener("click", verifyCode);
    var row2 = el("div", "lw-login-row");
    row2.appendChild(codeInput);
    row2.appendChild(verifyBtn);
    demoHint = el("div", "lw-demo-code");
    demoHint.hidden = true;
    box.appendChild(row1);
    box.appendChild(row2);
    box.appendChild(demoHint);
    box.appendChild(el("div", "lw-login-note", "不登录也可以咨询，查件时核对手机尾号即可。"));
    return box;
  }

  function toggleLogin() {
    if (state.login) return;
    loginBox.hidden = !loginBox.hidden;
    if (!loginBox.hidden) phoneInput.focus();
  }

  function renderLogin() {
    if (state.login) {
      loginLink.textContent = "已绑定 " + state.login.phone;
      loginLink.classList.add("lw-bound");
      loginBox.hidden = true;
    } else {
      loginLink.textContent = "登录/绑定手机";
      loginLink.classList.remove("lw-bound");
    }
  }

  function api(path, options) {
    return fetch(config.backendUrl + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, ok: response.ok, body: body };
      });
    });
  }

  function requestCode() {
    codeBtn.disabled = true;
    api("/web/api/otp", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ phone: phoneInput.value.trim(), session_id: state.sessionId }),
    }).then(function (r) {
      if (r.ok) {
        if (r.body.demo_code) {
          demoHint.textContent = "演示模式验证码：" + r.body.demo_code;
          demoHint.hidden = false;
        } else {
          showToast("验证码已发送，请查收短信");
        }
        codeInput.focus();
        countdown(60);
      } else {
        codeBtn.disabled = false;
        var msg = r.status === 422 ? "请输入正确的手机号" : (r.body.message || "获取验证码失败，请稍后再试");
        if (r.status === 429 && r.body.retry_after) msg += "（" + r.body.retry_after + " 秒后可重试）";
        showToast(msg, "error");
      }
    }).catch(function () { codeBtn.disabled = false; showToast("网络不太好，请稍后再试", "error"); });
  }

  function countdown(seconds) {
    codeBtn.textContent = seconds + " 秒后重发";
    if (seconds <= 0) { codeBtn.disabled = false; codeBtn.textContent = "获取验证码"; return; }
    setTimeout(function () { countdown(seconds - 1); }, 1000);
  }

  function verifyCode() {
    verifyBtn.disabled = true;
    api("/web/api/otp/verify", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ phone: phoneInput.value.trim(), code: codeInput.value.trim(),
                             session_id: state.sessionId }),
    }).then(function (r) {
      verifyBtn.disabled = false;
      if (r.ok) {
        state.login = { phone: r.body.phone, customer_id: r.body.customer_id };
        save("login", state.login);
        renderLogin();
        demoHint.hidden = true;
        showToast("登录成功，已绑定 " + r.body.phone + "，现在可以直接问「我的快递到哪了」", "ok");
      } else {
        showToast(r.status === 422 ? "请输入手机号和验证码" : (r.body.message || "登录失败"), "error");
      }
    }).catch(function () { verifyBtn.disabled = false; showToast("网络不太好，请稍后再试", "error"); });
  }

  // ---- messages ------------------------------------------------------------------------------------------
  // What a message is, regardless of where it came from (live socket or history): the merge key.
  function signature(m) {
    var body = m.evidence_id ? "photo:" + m.evidence_id : (m.text || "");
    var custom = m.custom ? (m.custom.type || "custom") + ":" + (m.custom.tracking_number || "") : "";
    var image = imageOf(m) ? "img:" + imageOf(m) : "";
    return m.role + "|" + body + "|" + custom + "|" + image;
  }

  function imageOf(m) {
    var src = m.image;
    var a = m.attachment;
    if (!src && a && a.type === "image" && a.payload) src = a.payload.src;
    // Only web addresses and inline images: never javascript: or other schemes from a message.
    return typeof src === "string" && /^(https?:\/\/|\/(?!\/)|data:image\/)/i.test(src) ? src : null;
  }

  function quickRepliesOf(m) {
    var items = m.quick_replies || m.buttons || [];
    return items.filter(function (b) { return b && b.title && b.payload; });
  }

  function render(m) {
    var row = el("div", "lw-msg lw-" + m.role);
    row.dataset.role = m.role;
    if (m.id) row.dataset.id = m.id;
    var bubble = el("div", "lw-bubble");
    var image = imageOf(m);
    if (m.custom && m.custom.type === "timeline") {
      bubble.classList.add("lw-card");
      bubble.appendChild(renderTimeline(m.custom));
    } else if (m.evidence_id || m.localImage) {
      bubble.classList.add("lw-photo");
      var img = el("img", "lw-thumb");
      img.alt = "已上传的照片";
      img.src = m.localImage || (config.backendUrl + "/web/api/evidence/" + encodeURIComponent(m.evidence_id) +
                                 "?session_id=" + encodeURIComponent(state.sessionId));
      bubble.appendChild(img);
    } else if (image) {
      bubble.classList.add("lw-photo");
      var pic = el("img", "lw-thumb");
      pic.alt = "图片";
      pic.src = image;
      bubble.appendChild(pic);
    }
    if (m.agent) bubble.appendChild(el("div", "lw-agent", "人工客服 · " + m.agent));
    if (m.text) bubble.appendChild(el("div", "lw-text", m.text));
    if (m.custom && m.custom.type !== "timeline" && !m.text) bubble.appendChild(el("div", "lw-text", "[卡片消息]"));
    row.appendChild(bubble);
    var meta = el("div", "lw-time", clock(m.time ? new Date(m.time * 1000) : new Date()));
    meta.title = "北京时间";
    if (m.pending) meta.textContent += " · 待发送";
    row.appendChild(meta);
    var replies = quickRepliesOf(m);
    if (replies.length) {
      var group = el("div", "lw-replies");
      replies.forEach(function (b) {
        var button = el("button", "lw-reply", b.title);
        button.type = "button";
        button.addEventListener("click", function () {
          if (group.classList.contains("lw-used")) return;
          group.classList.add("lw-used");
          sendUser(b.title, b.payload);
        });
        group.appendChild(button);
      });
      row.appendChild(group);
    }
    return row;
  }

  function renderTimeline(t) {
    var box = el("div", "lw-timeline");
    var head = el("div", "lw-tl-head");
    head.appendChild(el("span", "lw-tl-carrier", (t.carrier_name || t.carrier || "") + " " + (t.tracking_number || "")));
    head.appendChild(el("span", "lw-tl-status", t.status_label || t.status || ""));
    box.appendChild(head);
    var eta = t.eta && t.eta.delivery && t.eta.delivery.expected_at;
    if (eta && dayClock(eta)) box.appendChild(el("div", "lw-tl-eta", "预计送达 " + dayClock(eta)));
    var ol = el("ol", "lw-tl-events");
    ol.title = "时间均为北京时间";
    (t.events || []).slice(0, 12).forEach(function (e, i) {
      var li = el("li", "lw-tl-event" + (i === 0 ? " lw-tl-latest" : ""));
      li.appendChild(el("div", "lw-tl-time", dayClock(e.time) + "  " + (e.status_label || e.status || "")));
      li.appendChild(el("div", "lw-tl-desc", [e.location, e.description].filter(Boolean).join(" · ")));
      ol.appendChild(li);
    });
    box.appendChild(ol);
    return box;
  }

  // Only the newest message's quick replies stay clickable; older choices are history.
  function refreshReplies() {
    var rows = list.querySelectorAll(".lw-replies");
    var newest = state.messages[state.messages.length - 1];
    var last = newest && newest.el;
    for (var i = 0; i < rows.length; i++) {
      rows[i].classList.toggle("lw-stale", rows[i].parentNode !== last);
    }
  }

  function add(m) {
    m.key = "m" + (++state.localSeq);
    m.sig = signature(m);
    m.el = render(m);
    state.messages.push(m);
    list.appendChild(m.el);
    list.appendChild(typing);
    refreshReplies();
    scrollDown();
    return m;
  }

  // Merge the authoritative history: known ids stay, live messages with the same signature adopt their id,
  // the rest of history is inserted, and live messages history does not hold yet stay at the end.
  // An agent's reply during a handoff is followed by a marker {type: "agent_message", agent}: it labels the
  // message before it rather than showing as a message of its own.
  function isAgentMarker(m) {
    var c = m && (m.custom || m);
    return !!c && c.type === "agent_message";
  }

  function markAgent(name) {
    for (var i = state.messages.length - 1; i >= 0; i--) {
      var m = state.messages[i];
      if (m.role !== "bot") continue;
      if (!m.agent) {
        m.agent = name || "客服";
        var bubble = m.el.querySelector(".lw-bubble");
        bubble.insertBefore(el("div", "lw-agent", "人工客服 · " + m.agent), bubble.firstChild);
      }
      return;
    }
  }

  function mergeHistory(items) {
    items = items.filter(function (h, i) {
      if (!isAgentMarker(h)) return true;
      if (i > 0) items[i - 1].agent = (h.custom || h).agent || "客服";
      return false;
    });
    var byId = {};
    state.messages.forEach(function (m) { if (m.id) byId[m.id] = m; });
    var provisional = state.messages.filter(function (m) { return !m.id; });
    var ordered = [];
    items.forEach(function (h) {
      if (h.hidden) return;
      var existing = byId[h.id];
      if (!existing) {
        var sig = signature(h);
        for (var i = 0; i < provisional.length; i++) {
          if (!provisional[i].id && !provisional[i].pending && provisional[i].sig === sig) {
            existing = provisional[i];
            existing.id = h.id;
            existing.el.dataset.id = h.id;
            break;
          }
        }
      }
      if (!existing) {
        existing = h;
        existing.key = "m" + (++state.localSeq);
        existing.sig = signature(h);
        existing.el = render(h);
      }
      byId[h.id] = existing;
      if (ordered.indexOf(existing) < 0) ordered.push(existing);
    });
    state.messages.forEach(function (m) { if (ordered.indexOf(m) < 0) ordered.push(m); });
    state.messages = ordered;
    ordered.forEach(function (m) { list.appendChild(m.el); });
    list.appendChild(typing);
    refreshReplies();
    scrollDown();
  }

  function fetchHistory() {
    return api("/web/api/history?session_id=" + encodeURIComponent(state.sessionId), {})
      .then(function (r) {
        if (r.ok && Array.isArray(r.body.messages)) mergeHistory(r.body.messages);
      })
      .catch(function () { /* history is a convenience; live chat goes on */ });
  }

  function showTyping(on) {
    clearTimeout(state.typingTimer);
    typing.hidden = !on;
    if (on) {
      list.appendChild(typing);
      scrollDown();
      state.typingTimer = setTimeout(function () { typing.hidden = true; }, 30000);
    }
  }

  // ---- sending -------------------------------------------------------------------------------------------
  function submit() {
    var text = input.value.replace(/\s+$/, "");
    if (!text.trim()) return;
    input.value = "";
    sendUser(text, text);
  }

  function sendUser(shown, payload, metadata) {
    var m = add({ role: "user", text: shown, time: Date.now() / 1000 });
    var message = { message: payload, metadata: metadata || {} };
    if (shown !== payload) message.metadata.display = shown;
    deliver(m, message);
  }

  function deliver(m, message) {
    if (state.connected && state.confirmed) {
      emit(message);
    } else {
      m.pending = true;
      m.el.classList.add("lw-pending");
      var time = m.el.querySelector(".lw-time");
      if (time) time.textContent += " · 待发送";
      state.outbox.push({ m: m, message: message });
    }
  }

  function emit(message) {
    message.session_id = state.sessionId;
    socket.emit("user_uttered", message);
    showTyping(true);
  }

  function flushOutbox() {
    var queued = state.outbox;
    state.outbox = [];
    queued.forEach(function (q) {
      q.m.pending = false;
      q.m.el.classList.remove("lw-pending");
      var time = q.m.el.querySelector(".lw-time");
      if (time) time.textContent = time.textContent.replace(" · 待发送", "");
      emit(q.message);
    });
  }

  function uploadPhoto(file) {
    var form = new FormData();
    form.append("file", file);
    form.append("session_id", state.sessionId);
    showToast("照片上传中…");
    api("/web/api/evidence", { method: "POST", body: form }).then(function (r) {
      if (r.status === 201 || r.status === 200) {
        toast.hidden = true;
        var m = add({ role: "user", text: "", time: Date.now() / 1000, evidence_id: r.body.evidence_id,
                      localImage: URL.createObjectURL(file) });
        deliver(m, { message: HIDDEN_PHOTO_MESSAGE,
                     metadata: { evidence: { id: r.body.evidence_id, ticket_id: r.body.ticket_id } } });
      } else if (r.status === 409 && r.body.error === "no_ticket") {
        showToast("照片要附到工单上：请先说说出了什么问题（比如「快递破损了」），再上传照片。", "error");
      } else if (r.status === 413) {
        showToast("照片太大了，请上传 8MB 以内的图片。", "error");
      } else if (r.status === 415) {
        showToast("只能上传 JPG、PNG 或 WebP 格式的照片。", "error");
      } else {
        showToast(r.body.message || "上传失败，请稍后再试。", "error");
      }
    }).catch(function () { showToast("网络不太好，照片没有传上去，请稍后再试。", "error"); });
  }

  // ---- connection ----------------------------------------------------------------------------------------
  var socket;

  function setConnected(on) {
    state.connected = on;
    if (!on) state.confirmed = false;
    banner.hidden = on || !state.everConnected;
    root.classList.toggle("lw-offline", !on && state.everConnected);
  }

  function connect() {
    socket = window.io(config.rasaUrl, {
      path: config.socketPath,
      transports: ["websocket", "polling"],
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    socket.on("connect", function () {
      setConnected(true);
      state.everConnected = true;
      socket.emit("session_request", { session_id: state.sessionId });
    });
    socket.on("session_confirm", function (confirmed) {
      var id = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
      if (id && id !== state.sessionId) { state.sessionId = id; save("session_id", id); }
      state.confirmed = true;
      fetchHistory().then(flushOutbox);
    });
    socket.on("disconnect", function () { setConnected(false); });
    socket.on("connect_error", function () { setConnected(false); });
    socket.on("bot_uttered", function (message) {
      if (!message || typeof message !== "object") return;
      showTyping(false);
      if (isAgentMarker(message)) { markAgent(message.agent); return; }
      var m = { role: "bot", text: message.text || "", time: Date.now() / 1000,
                quick_replies: message.quick_replies, attachment: message.attachment, image: message.image };
      if (message.type) m.custom = message;  // a custom payload (the tracking timeline) arrives as-is
      if (message.custom) m.custom = message.custom;
      add(m);
    });
    // Browsers report a lost network long before the socket's heartbeat notices: act on it at once.
    window.addEventListener("offline", function () {
      setConnected(false);
      banner.hidden = false;
      socket.disconnect();
    });
    window.addEventListener("online", function () {
      if (!socket.connected) socket.connect();
    });
  }

  function loadScript(src, done) {
    var tag = document.createElement("script");
    tag.src = src;
    tag.onload = done;
    tag.onerror = function () { showToast("客服暂时连不上，请稍后刷新页面重试。", "error"); };
    document.head.appendChild(tag);
  }

  function start() {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = cssUrl;
    document.head.appendChild(link);
    build();
    fetchHistory();
    if (window.io) connect(); else loadScript(vendorUrl, connect);
  }

  window.LogisticsChat = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    ask: function (text) { setOpen(true); if (text && text.trim()) sendUser(text.trim(), text.trim()); },
    get sessionId() { return state.sessionId; },
    get connected() { return state.connected && state.confirmed; },
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
