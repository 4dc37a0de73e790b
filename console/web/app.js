// paybridge console: vanilla JS, no dependencies. Renders with DOM APIs only (never
// innerHTML with data), so nothing a caller or a provider sends can inject markup.
"use strict";
(() => {
  const TOKEN_KEY = "paybridge.adminToken";
  const $ = (sel) => document.querySelector(sel);
  const live = new Map(); // call_id → live call state (same model as console.LiveCall)
  let ws = null, retry = 0, retryTimer = null, tickTimer = null, connectedBefore = false;
  const refreshTimers = {};
  const bridged = new Map(); // call_id → { agent, target, payment } (the agent desk)
  // "admin", or "agent" when signed in with an agent's token: the page then shows the agent
  // desk only. The server enforces that scope (its feed and API answer nothing else to an
  // agent's token); this only keeps the page from asking for what it will not get.
  let role = "admin";

  // ---- auth ----
  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

  async function api(path, opts = {}) {
    const res = await fetch(path, {
      ...opts,
      headers: { Authorization: "Bearer " + token(), Accept: "application/json", ...(opts.headers || {}) },
      cache: "no-store",
    });
    if (res.status === 401) {
      signOut("Your token was not accepted. Sign in again.");
      throw new Error("unauthorized");
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok && !body.items) throw new Error(body.error || res.statusText);
    return body;
  }

  function showLogin(message) {
    const dlg = $("#login");
    $("#login-error").textContent = message || "";
    if (!dlg.open) dlg.showModal();
    $("#token").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    clearTimeout(retryTimer);
    setStatus("off", "signed out");
    $("#sign-out").hidden = true;
    showLogin(message);
  }

  async function signIn(tok) {
    sessionStorage.setItem(TOKEN_KEY, tok);
    let who;
    try {
      who = await api("/api/whoami");
    } catch (e) {
      if (e.message !== "unauthorized") showLogin("Sign-in failed: " + e.message);
      return;
    }
    applyRole(who);
    $("#login").close();
    $("#sign-out").hidden = false;
    connect();
    refreshAll();
  }

  // An agent's token sees the agent desk only: every other section and its link are hidden.
  function applyRole(who) {
    role = who && who.role === "agent" ? "agent" : "admin";
    const agentOnly = role === "agent";
    document.body.classList.toggle("agent-only", agentOnly);
    for (const sec of document.querySelectorAll("main > section")) sec.hidden = agentOnly && sec.id !== "agent";
    for (const a of document.querySelectorAll("header nav a")) a.parentElement.hidden = agentOnly && a.getAttribute("href") !== "#agent";
    $("#signed-in-as").textContent = agentOnly ? "agent " + (who.agent || "") : "";
  }

  // ---- live feed ----
  function setStatus(kind, text) {
    const el = $("#feed-status");
    el.className = "pill " + ({ on: "pill-on", off: "pill-off", wait: "pill-wait" }[kind]);
    el.textContent = text;
  }

  function connect() {
    if (!token()) return;
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/events";
    setStatus("wait", "connecting…");
    // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol.
    ws = new WebSocket(url, ["paybridge.v1", "bearer." + token()]);
    ws.onopen = () => {
      retry = 0;
      setStatus("on", "live");
      if (connectedBefore) refreshAll(); // events were missed while away: reload the lists
      connectedBefore = true;
    };
    ws.onmessage = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      onEvent(ev);
    };
    ws.onclose = (e) => {
      ws = null;
      if (!token()) return;
      if (e.code === 1006 && retry > 2) {
        // Maybe the token was rotated: check it before hammering the server.
        api("/api/whoami").catch(() => {});
      }
      const delay = Math.min(30000, 500 * 2 ** retry++);
      setStatus("wait", e.code === 1013 ? "catching up…" : "reconnecting…");
      retryTimer = setTimeout(connect, delay);
    };
  }

  const str = (f, ...names) => { for (const n of names) if (typeof f[n] === "string") return f[n]; return ""; };
  const num = (f, ...names) => { for (const n of names) if (typeof f[n] === "number") return f[n]; return undefined; };
  // Calls that ended lately: their late events (a link paid after the call) never bring them back.
  const ended = new Set();
  const rememberEnded = (id) => {
    ended.add(id);
    if (ended.size > 4096) ended.delete(ended.values().next().value);
  };

  function onEvent(ev) {
    if (!ev || typeof ev.type !== "string") return;
    const f = ev.fields || {};
    if (ev.type === "snapshot") {
      live.clear();
      for (const c of f.calls || []) live.set(c.call_id, c);
      renderLive();
      loadAgent().catch(() => {}); // the desk as it is now (events may have been missed)
      return;
    }
    const id = ev.call_id;
    if (id) {
      let c = live.get(id);
      if (ev.type === "call.ended") {
        live.delete(id);
        rememberEnded(id);
        scheduleRefresh("calls");
        scheduleRefresh("payments");
        // The server records the end just after announcing it: look again shortly.
        setTimeout(() => { scheduleRefresh("calls"); scheduleRefresh("payments"); }, 1500);
      } else {
        // Only the start of a call adds it; other events update a call that is live already.
        const starts = ev.type === "call.started" || ev.type === "call.answered";
        if (!c && starts && !ended.has(id) && live.size < 10000) { // a broken emitter must not exhaust the tab
          c = { call_id: id, state: "ringing", started_at: ev.time };
          live.set(id, c);
        }
      }
      if (c && ev.type !== "call.ended") {
        c.updated_at = ev.time;
        c.fresh = true;
        // call.answered (serve) and call.started (the engine) name the parties and the plan.
        c.from = str(f, "from") || c.from;
        c.to = str(f, "to") || c.to;
        c.plan = str(f, "plan") || c.plan;
        c.node = ev.node || c.node; // several nodes share the database: whose call this is
        switch (ev.type) {
          case "call.started":
            if (!c.started_at || ev.time < c.started_at) c.started_at = ev.time;
            scheduleRefresh("calls");
            break;
          case "call.answered":
            c.state = "answered"; c.answered_at = ev.time;
            c.sip_transport = str(f, "sip_transport"); c.srtp = str(f, "srtp"); c.encrypted = f && f.encrypted === true;
            scheduleRefresh("calls");
            break;
          case "step": c.step = ev.step; if (c.state === "ringing") c.state = "answered"; break;
          case "pay.progress": {
            const p = c.pay || (c.pay = { digits: 0 });
            if (c.state === "ringing") c.state = "answered";
            c.step = ev.step || c.step;
            p.for = str(f, "for") || p.for;
            const a = num(f, "attempt"); if (a !== undefined) p.attempt = a;
            p.error_type = str(f, "errorType");
            const d = num(f, "digits"); if (d !== undefined) p.digits = d;
            break;
          }
          case "pay.completed": {
            const p = c.pay || (c.pay = { digits: 0 });
            p.result = str(f, "result");
            p.masked_card = str(f, "maskedCard");
            p.card_type = str(f, "cardType");
            p.error_type = str(f, "errorType");
            scheduleRefresh("payments");
            break;
          }
        }
      }
      renderLive();
    }
    if (id && (ev.type === "call.bridged" || ev.type === "call.unbridged" || ev.type === "agent.payment" || ev.type === "call.ended")) {
      agentEvent(id, ev.type, f);
    }
    if (ev.type === "pay.completed" || ev.type === "link.paid" || ev.type === "payment.reconciled") scheduleRefresh("payments");
    if (/^(payment\.(captured|capture_failed|voided|void_failed|expired|charged_back)|refund\.|capture\.settled)/.test(ev.type)) {
      scheduleRefresh("payments");
      const pid = f.paymentId;
      if (pid && shownPayment === pid) showPayment(pid).catch(() => {});
    }
    if (ev.type.startsWith("link.")) { scheduleRefresh("links"); scheduleRefresh("sms"); scheduleRefresh("payments"); }
  }

  // ---- rendering helpers ----
  // fillCapacity shows the call limit with the calls refused since start, and (fillAdmission)
  // why it stands where it is.
  function fillCapacity(cap) {
    $("#stat-capacity").textContent = cap
      ? cap.limit + " (" + cap.refused + " refused" + (cap.degraded ? ", degraded: " + cap.degraded : "") + ")"
      : "–";
    fillAdmission(cap);
  }

  // pollCapacity refreshes the admission figures every few seconds while an admin is signed
  // in and the node has a SIP endpoint (its stats carry the figure): a refused call publishes
  // no event, so the overview would not refresh by itself.
  let hasCapacity = false;
  async function pollCapacity() {
    if (!token() || role !== "admin" || !hasCapacity) return;
    const res = await fetch("/api/capacity", { headers: { Authorization: "Bearer " + token(), Accept: "application/json" }, cache: "no-store" });
    if (res.ok) fillCapacity(await res.json());
  }

  // fillAdmission shows why the call limit stands where it is (the admission controller's last
  // half-second look) and the media path: the reason it was lowered or held, the figures behind
  // it, and a warning when the kernel caps the receive buffers.
  function fillAdmission(cap) {
    const adm = document.querySelector("#stat-admission");
    const media = document.querySelector("#stat-media");
    if (!adm || !media) return;
    if (!cap) {
      adm.textContent = "–";
      media.textContent = "–";
      return;
    }
    const p = (x) => Math.round(100 * (x || 0)) + " %";
    let state = "healthy", cls = "";
    if (cap.fixed) {
      state = "fixed at --max-calls (measurement mode)";
    } else if (cap.degraded) {
      state = "lowered: " + cap.degraded;
      cls = "msg-warning";
    } else if (cap.held === "cpu") {
      state = "held: cpu (" + p(cap.cpu_share) + " of the CPUs)";
    } else if (cap.held) {
      state = "held: " + cap.held + (cap.late ? " (" + cap.late + ")" : "");
    } else if (cap.limit >= cap.ceiling) {
      state = "at the ceiling";
    }
    adm.setAttribute("data-admission", cap.degraded ? "degraded" : (cap.held ? "held" : "healthy"));
    adm.setAttribute("data-reason", cap.degraded || cap.held || "");
    adm.className = cls;
    adm.replaceChildren(document.createTextNode(state),
      el("span", { class: "stat-note" }, "CPU " + p(cap.cpu_share) + ", late " + (100 * (cap.late_share || 0)).toFixed(1) + " %" +
        (cap.skipped_frames ? ", " + cap.skipped_frames + " frames skipped" : "") + (cap.behind ? ", " + cap.behind + " sockets behind" : "") +
        ", " + (cap.socket_drops || 0) + " dropped by the kernel"));
    const capped = (cap.rtp_buffer_granted < cap.rtp_buffer_requested) || (cap.sip_buffer_granted < cap.sip_buffer_requested);
    const kb = (n) => Math.round((n || 0) / 1024) + " KiB";
    media.setAttribute("data-rtp-io", cap.rtp_io || "");
    media.replaceChildren(document.createTextNode(cap.rtp_io || "–"),
      // Per call only with many calls up: below that the shared goroutines the first call
      // starts (the media poller and scheduler) outweigh the calls' own.
      el("span", { class: "stat-note", "data-goroutines": String(cap.goroutines) }, cap.goroutines + " goroutines (" + cap.goroutines_idle + " with no call)" +
        (cap.calls >= 100 ? ", ≈ " + ((cap.goroutines - cap.goroutines_idle) / cap.calls).toFixed(1) + " per call" : "")),
      capped ? el("span", { class: "stat-note msg-warning", "data-rcvbuf-capped": "true" }, "receive buffers capped by net.core.rmem_max: rtp " +
        kb(cap.rtp_buffer_granted) + " of " + kb(cap.rtp_buffer_requested) + ", sip " + kb(cap.sip_buffer_granted) + " of " + kb(cap.sip_buffer_requested)) : "");
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role") e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) if (c !== undefined && c !== null) e.append(c.nodeType ? c : String(c));
    return e;
  }

  function fmtTime(t) {
    if (!t) return "";
    const d = new Date(t);
    if (isNaN(d)) return "";
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString();
  }

  function fmtDuration(ms) {
    if (!(ms >= 0)) return "";
    const s = Math.floor(ms / 1000);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function fmtAmount(minor, currency) {
    if (typeof minor !== "number" || !currency) return "";
    try {
      const nf = new Intl.NumberFormat(undefined, { style: "currency", currency });
      const digits = nf.resolvedOptions().maximumFractionDigits;
      return nf.format(minor / 10 ** digits);
    } catch { return minor + " " + currency; }
  }

  const okResults = new Set(["success", "approved", "completed", "sent", "delivered", "active", "answered"]);
  const warnResults = new Set(["pending", "queued", "ringing", "started", "capturing", "used"]);
  function badge(text) {
    if (!text) return "";
    const cls = okResults.has(text) ? "b-ok" : warnResults.has(text) ? "b-warn" : text === "ended" ? "b-info" : "b-bad";
    return el("span", { class: "badge " + cls }, text);
  }

  // protection says how a call is protected on the wire: TLS + SRTP (encrypted), or what is
  // plaintext. c has sip_transport, srtp and encrypted (the call record or call.answered).
  function protection(c) {
    if (!c.sip_transport) return el("span", { class: "muted" }, "–");
    if (c.encrypted) {
      return el("span", { class: "badge b-ok", "data-encrypted": "true", title: "SIP over TLS, SRTP " + c.srtp }, "🔒 TLS + SRTP");
    }
    const what = c.sip_transport + (c.srtp ? " + SRTP (keys in plaintext SIP)" : " + plain RTP");
    return el("span", { class: "badge b-warn", "data-encrypted": "false", title: "tones or their keys cross the network in the clear" }, what);
  }

  function fillTable(id, rows, emptyId) {
    const tbody = $(id + " tbody");
    tbody.replaceChildren(...rows);
    $(emptyId).hidden = rows.length > 0;
  }

  const short = (id) => (id && id.length > 14 ? id.slice(0, 12) + "…" : id || "");

  // ---- live calls ----
  function renderLive() {
    const calls = [...live.values()].sort((a, b) => (a.started_at < b.started_at ? -1 : 1));
    const now = Date.now();
    const rows = calls.map((c) => {
      const p = c.pay;
      let progress = "";
      if (p) {
        const lines = [];
        if (p.result) {
          lines.push(el("span", {}, badge(p.result), " ", p.masked_card ? el("span", { class: "mono" }, p.masked_card) : "", p.card_type ? " " + p.card_type : ""));
        } else {
          lines.push(el("span", {}, (p.for || "card").replace(/-/g, " "), p.attempt ? " · attempt " + p.attempt : ""));
          lines.push(el("span", { class: "dots", "aria-label": p.digits + " digits entered" }, "•".repeat(Math.min(p.digits || 0, 24)) || "–",
            el("span", { class: "muted" }, " " + (p.digits || 0) + " digits")));
        }
        if (p.error_type) lines.push(el("span", { class: "badge b-bad" }, p.error_type));
        progress = el("div", { class: "progress", "data-pay-progress": "" }, ...lines);
      }
      const tr = el("tr", { "data-call-id": c.call_id, class: c.fresh ? "fresh" : "" },
        el("td", { class: "mono", title: c.call_id }, short(c.call_id)),
        el("td", {}, (c.from || "?") + " → " + (c.to || "?")),
        el("td", {}, c.plan || ""),
        el("td", { "data-node": "" }, c.node || ""),
        el("td", {}, badge(c.state)),
        el("td", {}, protection(c)),
        el("td", { "data-step": "" }, c.step || ""),
        el("td", {}, progress),
        el("td", { class: "mono", "data-started": c.started_at }, fmtDuration(now - new Date(c.started_at))));
      c.fresh = false;
      return tr;
    });
    fillTable("#live-calls", rows, "#live-empty");
    $("#live-count").textContent = String(calls.length);
  }

  function tick() { // durations move even without events
    for (const td of document.querySelectorAll("#live-calls td[data-started]")) {
      td.textContent = fmtDuration(Date.now() - new Date(td.getAttribute("data-started")));
    }
  }

  // ---- lists ----
  // Coalesce refreshes: at most one pending per list, fired 250 ms after the first request.
  // (A debounce that restarts on every event would starve while a call streams events.)
  function scheduleRefresh(what) {
    if (role !== "admin") return; // an agent's page has no lists
    if (what !== "stats") scheduleRefresh("stats");
    if (refreshTimers[what]) return;
    refreshTimers[what] = setTimeout(() => {
      refreshTimers[what] = null;
      loaders[what]().catch(() => {});
    }, 250);
  }

  // ---- filters ----
  // Each list has a filter form whose inputs are named after the API's parameters; the list,
  // its pages and its CSV export all use what the form says.
  function filterParams(name) {
    const form = document.querySelector("#" + name + "-filter");
    const q = new URLSearchParams();
    if (!form) return q;
    for (const [k, v] of new FormData(form)) {
      const val = String(v).trim();
      if (!val) continue;
      if (k === "since" || k === "until") {
        const d = new Date(val); // datetime-local is the browser's local time
        if (!isNaN(d)) q.set(k, d.toISOString());
        continue;
      }
      q.set(k, val);
    }
    return q;
  }
  function filterStatus(name, text) {
    const st = document.querySelector("#" + name + "-filter .filter-status");
    if (st) st.textContent = text;
  }
  function listURL(name, more) {
    const q = filterParams(name);
    q.set("limit", "50");
    if (more && cursors[name]) q.set("cursor", cursors[name]);
    return "/api/" + name + "?" + q.toString();
  }
  async function exportCSV(name) {
    const q = filterParams(name);
    filterStatus(name, "Exporting…");
    const res = await fetch("/api/export/" + name + ".csv?" + q.toString(), { headers: { Authorization: "Bearer " + token() }, cache: "no-store" });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      filterStatus(name, "Export failed: " + (body.error || res.statusText));
      return;
    }
    const blob = await res.blob();
    const text = await blob.text();
    const rows = Math.max(0, text.split("\n").filter((l) => l && !l.startsWith("#")).length - 1);
    const cd = res.headers.get("Content-Disposition") || "";
    const m = /filename="([^"]+)"/.exec(cd);
    const a = el("a", { href: URL.createObjectURL(blob), download: m ? m[1] : name + ".csv", hidden: true });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    document.body.dataset.lastExport = name + ":" + rows;
    filterStatus(name, "Exported " + rows + " row" + (rows === 1 ? "" : "s") + " as CSV.");
  }
  function shown(name, tbodySel, next) {
    const n = document.querySelectorAll(tbodySel + " tbody tr").length;
    const filtered = [...filterParams(name).keys()].length > 0;
    filterStatus(name, (filtered ? "Filtered: " : "") + n + " shown" + (next ? ", more below" : ""));
  }

  const loaders = {
    async payments(more) {
      const { items, next_cursor } = await api(listURL("payments", more));
      rowsInto("#payments-table", "#payments-empty", (items || []).map((p) => clickable(el("tr", { "data-payment-id": p.id, class: "clickable", tabIndex: 0 },
        el("td", {}, fmtTime(p.created_at)),
        el("td", { class: "mono" }, fmtAmount(p.amount_minor, p.currency)),
        el("td", {}, p.reference || ""),
        el("td", { "data-result": p.result || p.state }, badge(p.result || p.state), p.lifecycle ? " " : "", p.lifecycle ? badge(p.lifecycle) : "",
          p.error_type ? el("div", { class: "muted" }, p.error_type) : ""),
        el("td", {}, p.masked_card ? el("span", { class: "mono", "data-masked-card": "" }, p.masked_card) : "",
          p.masked_account ? el("span", { class: "mono", "data-masked-account": "" }, p.masked_account) : "",
          p.card_type || p.bank_account_type ? el("div", { class: "muted" }, p.card_type || p.bank_account_type) : ""),
        el("td", { class: "mono" }, p.confirmation || p.token || ""),
        el("td", {}, p.connector || "", p.channel ? el("div", { class: "muted" }, p.channel) : ""),
        el("td", { class: "mono", title: p.call_id || "" }, short(p.call_id))), () => showPayment(p.id))), more);
      setMore("payments", next_cursor);
      shown("payments", "#payments-table", next_cursor);
    },
    async calls(more) {
      const { items, next_cursor } = await api(listURL("calls", more));
      rowsInto("#calls-table", "#calls-empty", (items || []).map((c) => {
        const end = c.ended_at ? new Date(c.ended_at) : new Date();
        return clickable(el("tr", { "data-call-id": c.id, class: "clickable", tabIndex: 0 },
          el("td", {}, fmtTime(c.started_at)),
          el("td", {}, (c.from || "?") + " → " + (c.to || "?")),
          el("td", {}, c.plan || "", c.node ? el("div", { class: "muted" }, c.node) : ""),
          el("td", {}, badge(c.state)),
          el("td", {}, protection(c)),
          el("td", { class: "mono" }, fmtDuration(end - new Date(c.started_at))),
          el("td", {}, c.hangup_cause || "")), () => showCall(c.id));
      }), more);
      setMore("calls", next_cursor);
      shown("calls", "#calls-table", next_cursor);
    },
    async stats() {
      const st = await api("/api/stats");
      const pays = st.payments || {};
      const total = Object.values(pays).reduce((a, b) => a + b, 0);
      $("#stat-calls").textContent = String(st.calls);
      $("#stat-active").textContent = String(st.active_calls);
      $("#stat-approved").textContent = (pays.success || 0) + " / " + total;
      const money = Object.entries(st.collected || {}).map(([cur, minor]) => fmtAmount(minor, cur));
      $("#stat-collected").textContent = money.length ? money.join(" · ") : "–";
      $("#stat-links").textContent = String(st.links_sent);
      $("#stat-sms-failed").textContent = String(st.sms_failed);
      const ttp = st.time_to_pay || {};
      $("#stat-time-to-pay").textContent = ttp.voice_n ? fmtSeconds(ttp.voice_ms) + (ttp.link_n ? " · link " + fmtSeconds(ttp.link_ms) : "") :
        (ttp.link_n ? "link " + fmtSeconds(ttp.link_ms) : "–");
      const lk = st.links || {};
      $("#stat-link-conversion").textContent = lk.sent ? pct(lk.paid, lk.sent) + " (" + lk.paid + " of " + lk.sent + ")" : "–";
      fillTable("#conversion-table", (st.conversion || []).map((c) => el("tr", { "data-plan": c.plan },
        el("td", {}, c.plan || "–"), el("td", {}, String(c.calls)), el("td", {}, String(c.reached_pay)),
        el("td", {}, String(c.paid_voice), c.paid_link ? el("span", { class: "muted" }, " + " + c.paid_link + " by link") : ""),
        el("td", {}, c.reached_pay ? pct(c.paid_voice, c.reached_pay) : "–"))), "#conversion-empty");
      fillTable("#entry-errors-table", (st.entry_errors || []).map((e) => el("tr", {},
        el("td", {}, fieldName(e.field)), el("td", {}, e.error_type), el("td", {}, String(e.count)))), "#entry-errors-empty");
      fillTable("#providers-table", (st.providers || []).map((p) => el("tr", { "data-connector": p.connector },
        el("td", {}, p.connector), el("td", {}, String(p.attempts)), el("td", {}, String(p.declined)),
        el("td", {}, p.errors ? badge(String(p.errors)) : "0"), el("td", { class: "mono" }, p.avg_latency_ms + " ms"))), "#providers-empty");
      hasCapacity = !!st.capacity;
      fillCapacity(st.capacity);
    },
    async plans() {
      let items;
      try { ({ items } = await api("/api/plans")); } catch (e) { $("#plans-msg").textContent = e.message; return; }
      $("#plans-list").replaceChildren(...(items || []).map((p) => el("li", { "data-plan": p.name },
        el("h3", {}, el("span", {}, p.name), el("span", { class: "badge " + (p.valid ? "b-ok" : "b-bad") }, p.valid ? "valid" : "invalid")),
        el("div", { class: "muted mono path", title: p.file || "" }, (p.file || "").split("/").pop()),
        p.numbers && p.numbers.length ? el("div", {}, "Numbers: " + p.numbers.join(", ")) : "",
        p.hash ? el("div", { class: "muted mono", title: p.hash }, "hash " + p.hash.slice(0, 19)) : "",
        (p.messages || []).length ? el("ul", {}, ...p.messages.map((m) => el("li", { class: "msg-" + (m.severity || "error") },
          m.line ? planLineLink(p.name, "", m.line, m.text) : m.text))) : "",
        p.hash ? el("button", { type: "button", class: "btn btn-quiet small", "data-view-plan": p.name, onclick: () => showPlan(p.name, "", [], 0) }, "View plan") : "")));
      if (!(items || []).length) $("#plans-msg").textContent = "No plans loaded.";
    },
    async links(more) {
      const { items, next_cursor } = await api(listURL("links", more));
      rowsInto("#links-table", "#links-empty", (items || []).map((l) => el("tr", { "data-link-id": l.id },
        el("td", {}, fmtTime(l.created_at)),
        el("td", { class: "mono", title: l.session_id }, short(l.id)),
        el("td", {}, l.to || ""),
        el("td", { class: "mono" }, fmtAmount(l.amount_minor, l.currency), l.reference ? el("div", { class: "muted" }, l.reference) : ""),
        el("td", {}, badge(l.state), l.last_result ? el("div", { class: "muted" }, l.last_result) : ""),
        el("td", {}, fmtTime(l.expires_at)),
        el("td", {}, String(l.attempts || 0)))), more);
      setMore("links", next_cursor);
      shown("links", "#links-table", next_cursor);
    },
    async sms(more) {
      const { items, next_cursor } = await api(listURL("sms", more));
      rowsInto("#sms-table", "#sms-empty", (items || []).map((m) => el("tr", { "data-sms-id": m.id },
        el("td", {}, fmtTime(m.created_at)),
        el("td", {}, m.to),
        el("td", { "data-status": m.status }, smsStatus(m)),
        el("td", {}, m.body))), more);
      setMore("sms", next_cursor);
      shown("sms", "#sms-table", next_cursor);
    },
  };

  function smsStatus(m) {
    if (m.status === "not-sent") return el("span", { class: "badge b-warn" }, "not sent (no SMS provider configured)");
    return el("span", {}, badge(m.status), m.error ? el("div", { class: "muted" }, m.error) : "");
  }
  const pct = (a, b) => (b ? Math.round((100 * a) / b) + " %" : "–");
  function fmtSeconds(ms) {
    if (!(ms >= 0)) return "";
    const s = ms / 1000;
    if (s < 10) return s.toFixed(1) + " s";
    if (s < 120) return Math.round(s) + " s";
    return Math.floor(s / 60) + " min " + String(Math.round(s % 60)).padStart(2, "0") + " s";
  }
  const fieldNames = { "payment-card-number": "card number", "expiration-date": "expiry date", "security-code": "security code", "postal-code": "postal code" };
  const fieldName = (f) => fieldNames[f] || f;

  // ---- paging and details ----
  const cursors = {};
  function setMore(name, next) {
    cursors[name] = next || "";
    $("#" + name + "-more").hidden = !next;
  }
  function rowsInto(id, emptyId, rows, append) {
    const tbody = $(id + " tbody");
    if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
    $(emptyId).hidden = tbody.children.length > 0;
  }
  function clickable(tr, open) {
    tr.addEventListener("click", open);
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    return tr;
  }
  function dl(pairs) {
    return el("dl", { class: "facts" }, ...pairs.filter(([, v]) => v !== "" && v !== undefined && v !== null && v !== 0)
      .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }

  // ---- the life of a payment: amounts, operations, history ----
  let shownPayment = "";
  const opKeys = {}; // form → idempotency key: a double submission is the same operation

  function newKey() { return "console-" + crypto.randomUUID(); }

  function opForm(p, kind) {
    const names = { capture: "Capture", void: "Void (release the hold)", refunds: "Refund" };
    const f = el("form", { class: "op-form", "data-op": kind });
    const key = p.id + "/" + kind;
    if (!opKeys[key]) opKeys[key] = newKey();
    const amount = el("input", { type: "text", inputMode: "decimal", name: "amount", placeholder: "all that is left", size: 10, autocomplete: "off" });
    const reason = el("input", { type: "text", name: "reason", placeholder: "reason", size: 18, autocomplete: "off" });
    const final = el("input", { type: "checkbox", name: "final" });
    const msg = el("span", { class: "op-msg", role: "status" });
    if (kind !== "void") f.append(el("label", {}, "Amount (" + p.currency + ") ", amount), " ");
    if (kind === "refunds") f.append(el("label", {}, "Reason ", reason), " ");
    if (kind === "capture") f.append(el("label", {}, final, " release the rest"), " ");
    f.append(el("button", { type: "submit", class: "btn" }, names[kind]), " ", msg);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = {};
      if (amount.value.trim()) body.amount = amount.value.trim();
      if (kind === "refunds" && reason.value.trim()) body.reason = reason.value.trim();
      if (kind === "capture" && final.checked) body.final = true;
      msg.textContent = "…";
      try {
        const r = await api("/api/payments/" + encodeURIComponent(p.id) + "/" + kind, {
          method: "POST", headers: { "Content-Type": "application/json", "Idempotency-Key": opKeys[key] }, body: JSON.stringify(body) });
        const o = r.operation || {};
        msg.textContent = o.kind + " " + o.state + (o.errorCode ? " (" + o.errorCode + ")" : "") + (o.replayed ? " — already done" : "");
        opKeys[key] = newKey();
        setTimeout(() => showPayment(p.id).catch(() => {}), 300);
      } catch (err) { msg.textContent = err.message; }
    });
    return f;
  }

  async function downloadCSV(path, name) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + token() }, cache: "no-store" });
    if (!res.ok) throw new Error(res.statusText);
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  }

  function lifecycleView(p, d) {
    if (!p.lifecycle && !(d.history || []).length) return [];
    const holding = p.lifecycle === "authorized" || p.lifecycle === "partially_captured";
    const refundable = p.captured_minor > 0 && p.lifecycle !== "charged_back" && p.lifecycle !== "refunded";
    const out = [
      el("h4", {}, "Money ", badge(p.lifecycle)),
      el("dl", { class: "money" },
        el("dt", {}, "Authorised"), el("dd", { "data-authorized": "" }, fmtAmount(p.authorized_minor, p.currency),
          p.authorized_until && holding ? el("span", { class: "muted" }, " until " + fmtTime(p.authorized_until)) : ""),
        el("dt", {}, "Captured"), el("dd", { "data-captured": "" }, fmtAmount(p.captured_minor, p.currency)),
        el("dt", {}, "Refunded"), el("dd", { "data-refunded": "" }, fmtAmount(p.refunded_minor, p.currency))),
    ];
    if (holding) out.push(opForm(p, "capture"), opForm(p, "void"));
    if (refundable) out.push(opForm(p, "refunds"));
    const ops = d.operations || [];
    if (ops.length) out.push(el("h4", {}, "Operations"), el("ol", {}, ...ops.map((o) => el("li", { "data-op-id": o.id },
      el("strong", {}, o.kind), " ", fmtAmount(o.amount_minor, o.currency), " ", badge(o.state === "succeeded" ? "success" : o.state),
      o.error_code ? " · " + o.error_code : "", o.reason ? " · " + o.reason : "", o.settled_at ? " · settled" : "",
      el("span", { class: "muted" }, " " + (o.actor ? o.actor.kind + (o.actor.id ? ":" + o.actor.id : "") : "") + " · " + fmtTime(o.created_at))))));
    const h = d.history || [];
    const exportBtn = el("button", { type: "button", class: "btn btn-quiet" }, "Export history (CSV)");
    exportBtn.addEventListener("click", () => downloadCSV("/api/payments/" + encodeURIComponent(p.id) + "/history.csv",
      "payment-" + p.id + "-history.csv").catch((e) => { exportBtn.textContent = e.message; }));
    out.push(el("h4", {}, "History ", exportBtn), el("table", { class: "history" },
      el("thead", {}, el("tr", {}, ...["When", "Who", "What", "Amount", "State after", "Detail"].map((t) => el("th", { scope: "col" }, t)))),
      el("tbody", {}, ...h.map((e) => el("tr", { "data-history-action": e.action },
        el("td", {}, fmtTime(e.at)), el("td", {}, e.actor.kind + (e.actor.id ? ":" + e.actor.id : "")), el("td", {}, e.action),
        el("td", { class: "mono" }, e.amount_minor ? fmtAmount(e.amount_minor, e.currency) : ""), el("td", {}, e.state || ""),
        el("td", { class: "muted" }, e.detail || ""))))));
    return out;
  }

  function invoiceView(inv, currency) {
    if (!inv) return "";
    return el("div", { class: "invoice", "data-invoice": inv.id }, el("h4", {}, "Invoice ", el("span", { class: "mono" }, inv.id)),
      inv.description ? el("p", {}, inv.description) : "",
      (inv.lines || []).length ? el("ul", {}, ...inv.lines.map((l) => el("li", {}, l.quantity + " × " + l.description + " @ " + fmtAmount(l.amountMinor, currency)))) : "");
  }

  function routesView(routes) {
    if (!routes || !routes.length) return "";
    return el("div", { class: "routes" }, el("h4", {}, "Routes"), el("ol", {}, ...routes.map((r) => el("li", { "data-route": r.connector },
      el("strong", {}, r.connector), " ", badge(r.outcome === "approved" ? "success" : r.outcome), r.errorCode ? " · " + r.errorCode : "",
      r.attemptKey ? el("span", { class: "muted mono" }, " " + r.attemptKey) : ""))));
  }

  async function showPayment(id) {
    const box = $("#payment-detail");
    let d;
    try { d = await api("/api/payments/" + encodeURIComponent(id)); } catch (e) { box.hidden = false; box.replaceChildren(e.message); return; }
    const p = d.payment;
    const textsByLink = {};
    for (const t of d.texts || []) (textsByLink[t.link_id] = textsByLink[t.link_id] || []).push(t);
    shownPayment = p.id;
    box.hidden = false;
    box.replaceChildren(
      el("h3", {}, "Payment ", el("span", { class: "mono" }, p.id), " ", badge(p.result || p.state)),
      dl([["Amount", fmtAmount(p.amount_minor, p.currency)], ["Reference", p.reference], ["Result", p.result],
        ["Entry error", p.error_type], ["Provider code", p.error_code],
        ["Card", p.masked_card ? el("span", { class: "mono", "data-masked-card": "" }, p.masked_card + (p.card_type ? " " + p.card_type : "")) : ""],
        ["Bank account", p.masked_account ? el("span", { class: "mono", "data-masked-account": "" }, p.masked_account + (p.bank_account_type ? " " + p.bank_account_type : "")) : ""],
        ["Method", p.method],
        ["Confirmation", p.confirmation], ["Token", p.token], ["Channel", p.channel], ["Connector", p.connector],
        ["Provider session", p.provider_session_id ? el("span", { class: "mono", "data-provider-session": "" }, p.provider_session_id) : ""],
        ["Provider payment", p.provider_payment_id], ["Entries keyed", p.attempts], ["Created", fmtTime(p.created_at)], ["Completed", fmtTime(p.completed_at)]]),
      invoiceView(p.invoice, p.currency),
      routesView(p.routes),
      ...lifecycleView(p, d),
      el("h4", {}, "Call"),
      d.call ? el("p", { "data-payment-call": d.call.id }, el("button", { type: "button", class: "btn btn-quiet small", onclick: () => { showCall(d.call.id); $("#calls").scrollIntoView(); } },
        "Call " + short(d.call.id)), " ", (d.call.from || "?") + " → " + (d.call.to || "?"), " · plan " + (d.call.plan || "?"), " · ", badge(d.call.state),
        d.call.hangup_cause ? " " + d.call.hangup_cause : "") : el("p", { class: "muted" }, "No call (paid on a link only)."),
      el("h4", {}, "Provider attempts"),
      d.attempts.length ? el("ol", { "data-attempts": "" }, ...d.attempts.map((a) => el("li", {},
        el("span", { class: "mono" }, a.idempotency_key), " ", badge(a.status === "pending" ? "pending" : (a.result || a.status)),
        a.provider_status ? " HTTP " + a.provider_status : "", a.error_code ? " · " + a.error_code : "",
        a.error_message ? " · " + a.error_message : "", a.confirmation ? " · " + a.confirmation : "",
        a.completed_at ? el("span", { class: "muted" }, " · " + Math.max(0, new Date(a.completed_at) - new Date(a.created_at)) + " ms") : "",
        el("span", { class: "muted" }, " " + fmtTime(a.created_at))))) : el("p", { class: "muted" }, "No provider attempt recorded."),
      el("h4", {}, "Payment links and texts"),
      d.links.length ? el("ol", { "data-links": "" }, ...d.links.map((l) => el("li", {}, el("span", { class: "mono" }, l.id), " ", badge(l.state),
        " to " + (l.to || "?") + ", expires " + fmtTime(l.expires_at) + (l.attempts ? ", " + l.attempts + " tries" : "") + (l.last_result ? " (" + l.last_result + ")" : ""),
        ...(textsByLink[l.id] || []).map((t) => el("div", { class: "text", "data-text": t.id }, smsStatus(t), " ", el("q", {}, t.body)))))) :
        el("p", { class: "muted" }, "No link sent."),
      el("h4", {}, "Result webhooks"),
      d.webhooks.length ? el("ol", { "data-webhooks": "" }, ...d.webhooks.map((w) => el("li", {},
        el("strong", {}, w.event), " → " + (w.endpoint || "") + " ", el("span", { class: "mono muted" }, w.url), " ", badge(w.status),
        " " + w.attempts + " tr" + (w.attempts === 1 ? "y" : "ies"), w.last_status ? " · HTTP " + w.last_status : "",
        w.last_error ? el("div", { class: "muted mono answer" }, w.last_error) : "",
        w.delivered_at ? el("span", { class: "muted" }, " · delivered " + fmtTime(w.delivered_at)) : (w.status === "pending" && w.next_at ? el("span", { class: "muted" }, " · next try " + fmtTime(w.next_at)) : "")))) :
        el("p", { class: "muted" }, "No webhook for this payment (no endpoint configured, or none wanted it)."));
  }

  // A link to the plan view at a line: the plan's XML with what the call went through marked.
  function planLineLink(plan, hash, line, label, visited) {
    return el("a", { href: "#plan-view", class: "plan-line", "data-plan-line": String(line), onclick: (e) => { e.preventDefault(); showPlan(plan, hash, visited || [line], line); } },
      label || "line " + line);
  }

  async function showCall(id) {
    const box = $("#call-detail");
    let d;
    try { d = await api("/api/calls/" + encodeURIComponent(id)); } catch (e) { box.hidden = false; box.replaceChildren(e.message); return; }
    box.hidden = false;
    const c = d.call;
    const visited = (d.steps || []).filter((s) => s.line).map((s) => s.line);
    const rows = (d.steps || []).map((s) => el("tr", { "data-step-line": s.line ? String(s.line) : "", class: s.step ? "" : "call-line" },
      el("td", { class: "mono" }, (s.at_ms / 1000).toFixed(2) + " s"),
      el("td", {}, s.line ? planLineLink(c.plan, c.plan_hash, s.line, "L" + s.line, visited) : ""),
      el("td", { class: "step-name" }, "\u00a0".repeat(2 * (s.depth || 0)) + (s.step || "")),
      el("td", {}, s.outcome ? badge(s.outcome) : "", s.in_progress ? el("span", { class: "muted" }, " cut short") : ""),
      el("td", { class: "mono" }, s.step ? fmtSeconds(s.duration_ms) : ""),
      el("td", {}, ...(s.details || []).map((t) => el("div", {}, t)),
        (s.set || []).filter((v) => v.value !== "").length ? el("div", { class: "muted mono set" }, "set " + s.set.filter((v) => v.value !== "").map((v) => v.name + "=" + JSON.stringify(v.value)).join(", ")) : "")));
    box.replaceChildren(
      el("h3", {}, "Call ", el("span", { class: "mono" }, c.id), " ", badge(c.state)),
      el("p", { class: "muted" }, (c.from || "?") + " → " + (c.to || "?") + " · plan " + (c.plan || "?") + (c.node ? " · node " + c.node : "") +
        " · started " + fmtTime(c.started_at) + (c.hangup_cause ? " · " + c.hangup_cause : "")),
      el("p", {}, "On the wire: ", protection(c), c.srtp ? el("span", { class: "muted mono" }, " " + c.srtp) : ""),
      c.srtp_auth_failed ? el("p", { class: "msg-warning", "data-srtp-auth-failed": String(c.srtp_auth_failed) },
        c.srtp_auth_failed + " SRTP packets failed authentication and were dropped (a wrong key or tampering?)") : "",
      c.rtp_foreign ? el("p", { class: "msg-warning", "data-rtp-foreign": String(c.rtp_foreign) },
        c.rtp_foreign + " media packets from a foreign address were dropped (an RTP injection attempt?)") : "",
      c.rtp_socket_drops ? el("p", { class: "msg-warning", "data-rtp-socket-drops": String(c.rtp_socket_drops) },
        c.rtp_socket_drops + " media packets were dropped by the kernel (the receive queue was full): keypresses may have been lost") : "",
      el("div", { class: "section-head" }, el("h4", {}, "Timeline"),
        visited.length ? el("button", { type: "button", class: "btn btn-quiet small", "data-show-plan": "", onclick: () => showPlan(c.plan, c.plan_hash, visited, 0) }, "Show the plan, steps highlighted") : ""),
      el("div", { class: "table-wrap" }, el("table", { id: "steps-table" },
        el("caption", { class: "sr-only" }, "The call step by step"),
        el("thead", {}, el("tr", {}, ...["At", "Line", "Step", "Outcome", "Took", "What happened"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...rows))),
      (d.payments || []).length ? el("p", {}, "Payments: ", ...d.payments.map((p) => el("button", { type: "button", class: "btn btn-quiet small", onclick: () => { showPayment(p.id); $("#payments").scrollIntoView(); } },
        short(p.id) + " " + (p.result || p.state)))) : "",
      el("details", {}, el("summary", {}, "All " + d.timeline.length + " events"),
        el("ol", {}, ...d.timeline.map((ev) => el("li", {},
          el("span", { class: "mono muted" }, fmtTime(ev.time)), " ", el("strong", {}, ev.type), ev.step ? " · " + ev.step : "",
          ev.fields ? el("span", { class: "muted mono" }, " " + JSON.stringify(ev.fields)) : "")))));
  }

  // showPlan shows a plan's XML with numbered lines; the lines in visited (the steps a call went
  // through) are marked, and line (if any) is the one scrolled to.
  async function showPlan(name, hash, visited, line) {
    const box = $("#plan-view");
    let pt;
    try { pt = await api("/api/plans/" + encodeURIComponent(name) + "/source" + (hash ? "?hash=" + encodeURIComponent(hash) : "")); }
    catch (e) { box.hidden = false; $("#plan-view-note").textContent = "Plan " + name + ": " + e.message; $("#plan-source").replaceChildren(); return; }
    const marks = new Set(visited || []);
    $("#plan-view-h").textContent = "Plan " + pt.name + " (" + pt.file + ")";
    $("#plan-view-note").textContent = (marks.size ? marks.size + " lines the call went through are highlighted. " : "") +
      (pt.asked ? "This call ran an earlier version (" + pt.asked.slice(0, 12) + "…); this is the version running now." : "Version " + pt.hash.slice(0, 12) + (pt.current ? " (running now)." : "."));
    const lines = pt.source.replace(/\n$/, "").split("\n");
    $("#plan-source").replaceChildren(...lines.map((text, i) => {
      const n = i + 1;
      return el("span", { class: "src-line" + (marks.has(n) ? " visited" : "") + (n === line ? " current" : ""), id: "plan-L" + n, "data-line": String(n) },
        el("span", { class: "ln", "aria-hidden": "true" }, String(n)), text + "\n");
    }));
    box.hidden = false;
    $("#plans").scrollIntoView();
    const target = document.getElementById("plan-L" + (line || [...marks][0] || 1));
    if (target) target.scrollIntoView({ block: "center" });
  }

  // ---- agent desk ----
  // The desk shows each bridged call with its agent payment, as the feed reports it (masked
  // state only: keys counted, never shown), and drives the Payments API.
  function agentEvent(id, type, f) {
    if (type === "call.unbridged" || type === "call.ended") {
      bridged.delete(id);
    } else if (type === "call.bridged") {
      if (bridged.size < 1000) bridged.set(id, { agent: str(f, "agent"), target: str(f, "target"), payment: null });
    } else if (type === "agent.payment") {
      const b = bridged.get(id);
      if (b) b.payment = f;
    }
    renderAgent();
  }

  // Payment views (API) and agent.payment events (feed) name the same things differently.
  function fromView(v) {
    return {
      paymentId: v.Sid, status: v.Status, capture: v.Capture, connector: v.PaymentConnector, fields: v.Fields || [],
      required: (v.Required || "").split(",").filter(Boolean), maskedCard: v.PaymentCardNumber, cardType: v.PaymentCardType,
      securityCode: v.SecurityCode, expirationDate: v.ExpirationDate, errorType: v.ErrorType, result: v.Result,
      confirmation: v.PaymentConfirmationCode, amountMinor: undefined, chargeAmount: v.ChargeAmount, currency: v.Currency,
      method: v.Method, paymentMethod: v.PaymentMethod, bankAccountType: v.BankAccountType,
      bankAccountNumber: v.BankAccountNumber, bankRoutingNumber: v.BankRoutingNumber, authorizedUntil: v.AuthorizedUntil,
    };
  }

  async function loadAgent() {
    const { items } = await api("/api/agent/calls");
    bridged.clear();
    for (const b of items || []) {
      const last = (b.payments || []).slice(-1)[0];
      bridged.set(b.call_id, { agent: b.agent, target: "", payment: last ? fromView(last) : null });
    }
    renderAgent();
  }

  const deskFieldNames = { "payment-card-number": "Card number", "expiration-date": "Expiry", "security-code": "Security code", "postal-code": "Postal code",
    "bank-routing-number": "Routing number", "bank-account-number": "Account number" };

  function fieldCheck(p, fl) {
    if (!fl.complete) return fl.digits ? el("span", { class: "muted" }, "keying…") : el("span", { class: "muted" }, "–");
    const ok = fl.valid;
    let what = ok ? "valid" : (fl.errorType || "invalid");
    if (fl.check === "luhn") what = (ok ? "Luhn ✓" : "Luhn ✗") + (p.cardType ? " · " + p.cardType : "");
    if (fl.check === "expiry") what = ok ? "valid ✓ " + (p.expirationDate || "") : "expired or wrong ✗";
    if (fl.check === "length") what = ok ? "length ✓" : "length ✗";
    if (fl.check === "aba") what = ok ? "ABA ✓ " + (p.bankRoutingNumber || "") : "ABA ✗";
    if (fl.check === "account") what = ok ? "valid ✓ " + (p.bankAccountNumber || "") : "4–17 digits ✗";
    return el("span", { class: ok ? "check-ok" : "check-bad", "data-check": ok ? "ok" : "bad" }, what);
  }

  async function agentPost(id, path, params) {
    const body = new URLSearchParams({ IdempotencyKey: crypto.randomUUID(), ...params });
    const box = document.querySelector('#agent-calls li[data-call-id="' + CSS.escape(id) + '"] .agent-msg');
    try {
      const v = await api("/api/calls/" + encodeURIComponent(id) + "/payments" + path,
        { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
      const b = bridged.get(id);
      if (b && v.Sid) { b.payment = fromView(v); renderAgent(); }
    } catch (e) {
      if (box) box.textContent = e.message;
    }
  }

  function renderAgent() {
    const cards = [...bridged.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, b]) => {
      const p = b.payment;
      const open = p && (p.status === "open" || p.status === "capturing");
      const parts = [el("h3", {}, el("span", { class: "mono", title: id }, short(id)), el("span", {}, b.agent || "agent"))];
      if (p) {
        parts.push(el("p", {}, badge(p.status), " ", p.capture ? "taking " + (deskFieldNames[p.capture] || p.capture) : "",
          p.maskedCard ? el("span", { class: "mono", "data-masked-card": "" }, " " + p.maskedCard) : "",
          p.bankAccountNumber ? el("span", { class: "mono", "data-masked-account": "" }, " " + p.bankAccountNumber) : "",
          p.method === "authorize" ? el("span", { class: "muted", "data-hold": "" }, p.authorizedUntil ? " · held until " + p.authorizedUntil : " · hold") : "",
          p.result ? el("span", {}, " · ", badge(p.result), p.confirmation ? " " + p.confirmation : "") : ""));
        parts.push(el("ul", { class: "agent-fields" }, ...(p.fields || []).map((fl) => el("li", { "data-field": fl.name, class: p.capture === fl.name ? "taking" : "" },
          el("span", {}, deskFieldNames[fl.name] || fl.name),
          el("span", {}, el("span", { class: "dots", "aria-label": fl.digits + " digits entered" }, "•".repeat(Math.min(fl.digits || 0, 24)) || "–"), " ", fieldCheck(p, fl)),
          open ? el("button", { type: "button", class: "btn btn-quiet", "data-take": fl.name,
            onclick: () => agentPost(id, "/" + encodeURIComponent(p.paymentId), { Capture: fl.name }) },
          fl.complete || p.capture === fl.name ? "Re-take" : "Take") : ""))));
        if (p.errorType) parts.push(el("p", { class: "badge b-bad" }, p.errorType));
      }
      const actions = el("div", { class: "agent-actions" });
      if (open) {
        actions.append(
          el("button", { type: "button", class: "btn", "data-complete": "", disabled: (p.required || []).length > 0 || p.status === "capturing",
            onclick: () => agentPost(id, "/" + encodeURIComponent(p.paymentId), { Status: "complete" }) }, "Complete"),
          el("button", { type: "button", class: "btn btn-quiet", "data-cancel": "",
            onclick: () => agentPost(id, "/" + encodeURIComponent(p.paymentId), { Status: "cancel" }) }, "Cancel"));
      } else if (!p || p.status === "complete" || p.status === "cancelled") {
        const amount = el("input", { type: "text", inputMode: "decimal", placeholder: "amount", "aria-label": "Amount", "data-amount": "" });
        const currency = el("input", { type: "text", value: "GBP", maxLength: 3, "aria-label": "Currency", "data-currency": "" });
        const method = el("select", { "aria-label": "Charge or authorise", "data-method": "" },
          el("option", { value: "charge" }, "Charge"), el("option", { value: "authorize" }, "Authorise (hold)"));
        const pm = el("select", { "aria-label": "Card or bank account", "data-payment-method": "" },
          el("option", { value: "credit-card" }, "Card"), el("option", { value: "ach-debit" }, "Bank account (ACH)"));
        actions.append(amount, currency, method, pm, el("button", { type: "button", class: "btn", "data-open": "",
          onclick: () => agentPost(id, "", { ChargeAmount: amount.value.trim(), Currency: currency.value.trim().toUpperCase(),
            Method: method.value, PaymentMethod: pm.value }) }, "Take a payment"));
      }
      parts.push(actions, el("p", { class: "agent-msg error", role: "alert" }));
      return el("li", { "data-call-id": id }, ...parts);
    });
    $("#agent-calls").replaceChildren(...cards);
    $("#agent-empty").hidden = cards.length > 0;
    $("#agent-count").textContent = String(cards.length);
  }

  function refreshAll() {
    if (role === "admin") for (const k of Object.keys(loaders)) loaders[k]().catch(() => {});
    loadAgent().catch(() => {});
  }

  // ---- start ----
  document.addEventListener("DOMContentLoaded", () => {
    $("#login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const tok = $("#token").value.trim();
      $("#token").value = "";
      signIn(tok);
    });
    $("#login").addEventListener("cancel", (e) => { if (!token()) e.preventDefault(); });
    $("#sign-out").addEventListener("click", () => signOut(""));
    for (const name of ["payments", "calls", "links", "sms"]) {
      $("#" + name + "-more").addEventListener("click", () => loaders[name](true).catch(() => {}));
      const form = $("#" + name + "-filter");
      form.addEventListener("submit", (e) => { e.preventDefault(); loaders[name]().catch((err) => filterStatus(name, err.message)); });
      form.addEventListener("reset", () => setTimeout(() => loaders[name]().catch(() => {}), 0));
      form.querySelector("[data-export]").addEventListener("click", () => exportCSV(name).catch((err) => filterStatus(name, "Export failed: " + err.message)));
    }
    $("#plan-view-close").addEventListener("click", () => { $("#plan-view").hidden = true; });
    $("#history-export").addEventListener("click", () => downloadCSV("/api/history.csv", "payment-history.csv")
      .catch((e) => { $("#history-export").textContent = e.message; }));
    $("#reload-plans").addEventListener("click", async () => {
      $("#plans-msg").textContent = "Reloading…";
      try {
        const r = await api("/api/plans/reload", { method: "POST" });
        $("#plans-msg").textContent = r.error ? "Reload failed: " + r.error : "Plans reloaded.";
      } catch (e) { $("#plans-msg").textContent = "Reload failed: " + e.message; }
      loaders.plans().catch(() => {});
    });
    tickTimer = setInterval(tick, 1000);
    setInterval(() => { pollCapacity().catch(() => {}); }, 3000);
    setInterval(() => { if (token() && role === "admin") { loaders.links().catch(() => {}); } }, 30000); // link expiry moves with time
    if (token()) signIn(token()); else showLogin("");
  });
})();

