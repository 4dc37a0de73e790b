// paybridge console: vanilla JS, no dependencies. Renders with DOM APIs only (never
// innerHTML with data), so nothing a caller or a provider sends can inject markup.
"use strict";
(() => {
  const TOKEN_KEY = "paybridge.adminToken";
  const $ = (sel) => document.querySelector(sel);
  const live = new Map(); // call_id → live call state (same model as console.LiveCall)
  let ws = null, retry = 0, retryTimer = null, tickTimer = null, connectedBefore = false;
  const refreshTimers = {};

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
    try {
      await api("/api/info");
    } catch (e) {
      if (e.message !== "unauthorized") showLogin("Sign-in failed: " + e.message);
      return;
    }
    $("#login").close();
    $("#sign-out").hidden = false;
    connect();
    refreshAll();
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
        api("/api/info").catch(() => {});
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
        switch (ev.type) {
          case "call.started":
            if (!c.started_at || ev.time < c.started_at) c.started_at = ev.time;
            scheduleRefresh("calls");
            break;
          case "call.answered": c.state = "answered"; c.answered_at = ev.time; scheduleRefresh("calls"); break;
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
    if (ev.type === "pay.completed" || ev.type === "link.paid" || ev.type === "payment.reconciled") scheduleRefresh("payments");
    if (ev.type.startsWith("link.")) { scheduleRefresh("links"); scheduleRefresh("sms"); scheduleRefresh("payments"); }
  }

  // ---- rendering helpers ----
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
        el("td", {}, badge(c.state)),
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
    if (what !== "stats") scheduleRefresh("stats");
    if (refreshTimers[what]) return;
    refreshTimers[what] = setTimeout(() => {
      refreshTimers[what] = null;
      loaders[what]().catch(() => {});
    }, 250);
  }

  const loaders = {
    async payments(more) {
      const { items, next_cursor } = await api("/api/payments?limit=50" + pageParam("payments", more));
      rowsInto("#payments-table", "#payments-empty", (items || []).map((p) => clickable(el("tr", { "data-payment-id": p.id, class: "clickable", tabIndex: 0 },
        el("td", {}, fmtTime(p.created_at)),
        el("td", { class: "mono" }, fmtAmount(p.amount_minor, p.currency)),
        el("td", {}, p.reference || ""),
        el("td", { "data-result": p.result || p.state }, badge(p.result || p.state), p.error_type ? el("div", { class: "muted" }, p.error_type) : ""),
        el("td", {}, p.masked_card ? el("span", { class: "mono", "data-masked-card": "" }, p.masked_card) : "", p.card_type ? el("div", { class: "muted" }, p.card_type) : ""),
        el("td", { class: "mono" }, p.confirmation || p.token || ""),
        el("td", {}, p.connector || "", p.channel ? el("div", { class: "muted" }, p.channel) : ""),
        el("td", { class: "mono", title: p.call_id || "" }, short(p.call_id))), () => showPayment(p.id))), more);
      setMore("payments", next_cursor);
    },
    async calls(more) {
      const { items, next_cursor } = await api("/api/calls?limit=50" + pageParam("calls", more));
      rowsInto("#calls-table", "#calls-empty", (items || []).map((c) => {
        const end = c.ended_at ? new Date(c.ended_at) : new Date();
        return clickable(el("tr", { "data-call-id": c.id, class: "clickable", tabIndex: 0 },
          el("td", {}, fmtTime(c.started_at)),
          el("td", {}, (c.from || "?") + " → " + (c.to || "?")),
          el("td", {}, c.plan || ""),
          el("td", {}, badge(c.state)),
          el("td", { class: "mono" }, fmtDuration(end - new Date(c.started_at))),
          el("td", {}, c.hangup_cause || "")), () => showCall(c.id));
      }), more);
      setMore("calls", next_cursor);
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
    },
    async plans() {
      let items;
      try { ({ items } = await api("/api/plans")); } catch (e) { $("#plans-msg").textContent = e.message; return; }
      $("#plans-list").replaceChildren(...(items || []).map((p) => el("li", { "data-plan": p.name },
        el("h3", {}, el("span", {}, p.name), el("span", { class: "badge " + (p.valid ? "b-ok" : "b-bad") }, p.valid ? "valid" : "invalid")),
        el("div", { class: "muted mono path", title: p.file || "" }, (p.file || "").split("/").pop()),
        p.numbers && p.numbers.length ? el("div", {}, "Numbers: " + p.numbers.join(", ")) : "",
        p.hash ? el("div", { class: "muted mono", title: p.hash }, "hash " + p.hash.slice(0, 19)) : "",
        (p.messages || []).length ? el("ul", {}, ...p.messages.map((m) => el("li", { class: "msg-" + (m.severity || "error") }, m.text))) : "")));
      if (!(items || []).length) $("#plans-msg").textContent = "No plans loaded.";
    },
    async links() {
      const { items } = await api("/api/links?limit=50");
      fillTable("#links-table", (items || []).map((l) => el("tr", { "data-link-id": l.id },
        el("td", {}, fmtTime(l.created_at)),
        el("td", { class: "mono", title: l.session_id }, short(l.id)),
        el("td", {}, l.to || ""),
        el("td", { class: "mono" }, fmtAmount(l.amount_minor, l.currency)),
        el("td", {}, badge(l.state), l.last_result ? el("div", { class: "muted" }, l.last_result) : ""),
        el("td", {}, fmtTime(l.expires_at)),
        el("td", {}, String(l.attempts || 0)))), "#links-empty");
    },
    async sms() {
      const { items } = await api("/api/sms?limit=50");
      fillTable("#sms-table", (items || []).map((m) => el("tr", { "data-sms-id": m.id },
        el("td", {}, fmtTime(m.created_at)),
        el("td", {}, m.to),
        el("td", {}, badge(m.status), m.error ? el("div", { class: "muted" }, m.error) : ""),
        el("td", {}, m.body))), "#sms-empty");
    },
  };

  // ---- paging and details ----
  const cursors = {};
  function pageParam(name, more) {
    return more && cursors[name] ? "&cursor=" + encodeURIComponent(cursors[name]) : "";
  }
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

  async function showPayment(id) {
    const box = $("#payment-detail");
    let d;
    try { d = await api("/api/payments/" + encodeURIComponent(id)); } catch (e) { box.hidden = false; box.replaceChildren(e.message); return; }
    const p = d.payment;
    box.hidden = false;
    box.replaceChildren(
      el("h3", {}, "Payment ", el("span", { class: "mono" }, p.id), " ", badge(p.result || p.state)),
      el("p", { class: "muted" }, fmtAmount(p.amount_minor, p.currency), " · ", p.reference || "no reference", " · ",
        p.masked_card || "no card", p.card_type ? " " + p.card_type : "", p.attempts ? " · " + p.attempts + " entry attempts" : ""),
      el("h4", {}, "Provider attempts"),
      d.attempts.length ? el("ol", {}, ...d.attempts.map((a) => el("li", {},
        el("span", { class: "mono" }, a.idempotency_key), " ", badge(a.status === "pending" ? "pending" : (a.result || a.status)),
        a.provider_status ? " HTTP " + a.provider_status : "", a.error_code ? " · " + a.error_code : "",
        a.error_message ? " · " + a.error_message : "", a.confirmation ? " · " + a.confirmation : "",
        el("span", { class: "muted" }, " " + fmtTime(a.created_at))))) : el("p", { class: "muted" }, "No provider attempt recorded."),
      d.links.length ? el("h4", {}, "Payment links") : "",
      d.links.length ? el("ol", {}, ...d.links.map((l) => el("li", {}, el("span", { class: "mono" }, l.id), " ", badge(l.state),
        " to " + (l.to || "?") + ", expires " + fmtTime(l.expires_at)))) : "");
  }

  async function showCall(id) {
    const box = $("#call-detail");
    let d;
    try { d = await api("/api/calls/" + encodeURIComponent(id)); } catch (e) { box.hidden = false; box.replaceChildren(e.message); return; }
    box.hidden = false;
    box.replaceChildren(
      el("h3", {}, "Call ", el("span", { class: "mono" }, d.call.id)),
      d.call.rtp_foreign ? el("p", { class: "msg-warning", "data-rtp-foreign": String(d.call.rtp_foreign) },
        d.call.rtp_foreign + " media packets from a foreign address were dropped (an RTP injection attempt?)") : "",
      el("ol", {}, ...d.timeline.map((ev) => el("li", {},
        el("span", { class: "mono muted" }, fmtTime(ev.time)), " ", el("strong", {}, ev.type), ev.step ? " · " + ev.step : "",
        ev.fields ? el("span", { class: "muted mono" }, " " + JSON.stringify(ev.fields)) : ""))));
  }

  function refreshAll() { for (const k of Object.keys(loaders)) loaders[k]().catch(() => {}); }

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
    $("#payments-more").addEventListener("click", () => loaders.payments(true).catch(() => {}));
    $("#calls-more").addEventListener("click", () => loaders.calls(true).catch(() => {}));
    $("#reload-plans").addEventListener("click", async () => {
      $("#plans-msg").textContent = "Reloading…";
      try {
        const r = await api("/api/plans/reload", { method: "POST" });
        $("#plans-msg").textContent = r.error ? "Reload failed: " + r.error : "Plans reloaded.";
      } catch (e) { $("#plans-msg").textContent = "Reload failed: " + e.message; }
      loaders.plans().catch(() => {});
    });
    tickTimer = setInterval(tick, 1000);
    setInterval(() => { if (token()) { loaders.links().catch(() => {}); } }, 30000); // link expiry moves with time
    if (token()) signIn(token()); else showLogin("");
  });
})();
