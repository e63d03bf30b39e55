// otel-mon status page. No framework, no build step: fetch /api/status, draw it, repeat while visible.
// Every string from the agent goes into textContent or an attribute, never into HTML.
"use strict";

(function () {
  const API = "/api/status";
  const TOKEN_KEY = "otel-mon-token";
  const SVG = "http://www.w3.org/2000/svg";
  let timer = null;
  let period = 10000;
  let inflight = false;
  let last = null;

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  // --- formatting ---------------------------------------------------------------------------------
  const isNum = (v) => typeof v === "number" && isFinite(v);
  function pct(v) { return isNum(v) ? v.toFixed(1) + " %" : "–"; }
  function num(v, digits) { return isNum(v) ? v.toFixed(digits === undefined ? 2 : digits) : "–"; }
  function bytes(v, suffix) {
    if (!isNum(v)) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)) + " " + units[i] + (suffix || "");
  }
  function duration(s) {
    if (!isNum(s)) return "–";
    s = Math.max(0, Math.round(s));
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + (s % 60) + "s";
    return s + "s";
  }
  function ago(iso) {
    if (!iso) return "–";
    const t = Date.parse(iso);
    return isNaN(t) ? iso : duration((Date.now() - t) / 1000) + " ago";
  }
  function secs(s) {  // a clock's error or offset: the unit that reads best (first_view.py seconds())
    if (!isNum(s)) return "–";
    const a = Math.abs(s);
    if (a >= 1 || a === 0) return +s.toPrecision(3) + " s";
    if (a >= 1e-3) return +(s * 1e3).toPrecision(3) + " ms";
    return +(s * 1e6).toPrecision(3) + " µs";
  }
  function withUnit(v, unit) {
    if (!isNum(v)) return "–";
    const text = Math.abs(v) >= 100 ? v.toFixed(0) : String(+v.toPrecision(4));
    return unit ? text + " " + unit : text;
  }
  const stateOf = (s) => (s === "ok" || s === "warning" || s === "critical" || s === "no_data") ? s : "unknown";
  // The one no-data state (health/evaluator.py NO_DATA): its badge says "no data", in grey, never "ok".
  const stateText = (s) => s === "no_data" ? "no data" : s;
  function badge(state, text) { return el("span", { className: "badge", "data-state": stateOf(state), text: text || stateText(state) }); }

  // --- sparklines ---------------------------------------------------------------------------------
  function sparkline(times, values, opts) {
    const w = 200, h = 40, pad = 2;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    if (!values || !times || times.length < 2) return svg;
    const t0 = times[0], t1 = times[times.length - 1], span = Math.max(t1 - t0, 1);
    let lo = opts.min !== undefined ? opts.min : Infinity, hi = opts.max !== undefined ? opts.max : -Infinity;
    for (const v of values) if (isNum(v)) { if (opts.min === undefined) lo = Math.min(lo, v); if (opts.max === undefined) hi = Math.max(hi, v); }
    if (!isFinite(lo) || !isFinite(hi)) return svg;
    if (opts.min === undefined) lo = Math.min(lo, 0);
    if (hi <= lo) hi = lo + 1;
    const gapAfter = (opts.interval || 15) * 3;
    const x = (t) => ((t - t0) / span) * w;
    const y = (v) => h - pad - ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * (h - 2 * pad);
    let line = "", area = "", run = [];
    const tick = Math.max(3, w / Math.max(values.length, 1) / 2);
    const flush = () => {
      if (run.length && run.length < 3) {
        // One or two samples say nothing about what happened in between: each is a short level tick,
        // never a line from one to the other (two points drew a ramp that no sample showed).
        for (const [px, py] of run) line += "M" + Math.max(0, px - tick).toFixed(1) + " " + py.toFixed(1) + "L" + Math.min(w, px + tick).toFixed(1) + " " + py.toFixed(1);
        run = [];
        return;
      }
      if (run.length) {
        const d = run.map((p, i) => (i ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1)).join("");
        line += d;
        area += d + "L" + run[run.length - 1][0].toFixed(1) + " " + h + "L" + run[0][0].toFixed(1) + " " + h + "Z";
      }
      run = [];
    };
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!isNum(v) || (i && times[i] - times[i - 1] > gapAfter)) flush();
      if (isNum(v)) run.push([x(times[i]), y(v)]);
    }
    flush();
    const a = document.createElementNS(SVG, "path");
    a.setAttribute("class", "area");
    a.setAttribute("d", area);
    const l = document.createElementNS(SVG, "path");
    l.setAttribute("class", "line");
    l.setAttribute("d", line);
    svg.append(a, l);
    return svg;
  }

  // --- the cards ----------------------------------------------------------------------------------
  function ruleState(doc, reading, instance) {
    const rules = ((doc.health || {}).health || {}).rules || [];
    let worst = null;
    const order = { ok: 0, warning: 1, critical: 2 };
    for (const r of rules) {
      const name = r.rule.split(":")[0];
      if (name !== reading && !r.rule.startsWith(reading + ":")) continue;
      if (instance !== undefined && r.instance !== instance) continue;
      if (r.state === "no_data" || r.value === null) continue;
      if (worst === null || order[r.state] > order[worst.state]) worst = r;
    }
    return worst;
  }

  function thresholds(rule) {
    if (!rule) return "";
    const parts = [];
    if (isNum(rule.warning)) parts.push("warn " + withUnit(rule.warning, rule.unit));
    if (isNum(rule.critical)) parts.push("crit " + withUnit(rule.critical, rule.unit));
    return parts.join(" · ");
  }

  function cards(doc) {
    const host = (doc.health || {}).host || {};
    const series = (doc.history || {}).series || {};
    const agent = doc.agent || {};
    const disk = doc.disk || {};
    const list = [];
    const add = (id, label, value, text, sub, key, opts, rule) => list.push({ id, label, value, text, sub, key, opts: opts || {}, rule });
    const cpuRule = ruleState(doc, "cpu"), memRule = ruleState(doc, "memory"), loadRule = ruleState(doc, "load");
    add("cpu", "CPU", host.cpu_percent, pct(host.cpu_percent), thresholds(cpuRule) || "all logical CPUs", "cpu", { min: 0, max: 100 }, cpuRule);
    add("memory", "Memory", host.memory_percent, pct(host.memory_percent), thresholds(memRule) || "not available for new work", "memory", { min: 0, max: 100 }, memRule);
    const perCpu = series.load ? series.load[series.load.length - 1] : null;
    const load = host.load || [];
    add("load", "Load per CPU (1m)", perCpu, num(perCpu), "load (all CPUs) 1m " + num(load[0]) + " · 5m " + num(load[1]) + " · 15m " + num(load[2]), "load", {}, loadRule);
    if (isNum(host.swap_percent)) add("swap", "Swap", host.swap_percent, pct(host.swap_percent), thresholds(ruleState(doc, "paging")) || "in use", "swap", { min: 0, max: 100 }, ruleState(doc, "paging"));
    if (isNum(host.cpu_iowait_percent)) add("iowait", "CPU iowait", host.cpu_iowait_percent, pct(host.cpu_iowait_percent), "idle, waiting for I/O", "iowait", { min: 0 }, ruleState(doc, "cpu.iowait"));
    const psi = host.pressure_percent || {};
    const some = Object.entries(psi).filter(([k]) => k.endsWith(".some"));
    if (some.length) {
      const worst = Math.max(...some.map(([, v]) => v));
      add("pressure", "Pressure (PSI some, avg60)", worst, pct(worst), some.map(([k, v]) => k.replace(".some", "") + " " + pct(v)).join(" · "), "pressure", { min: 0 }, ruleState(doc, "pressure"));
    }
    if (host.clock) {
      const c = host.clock, rule = ruleState(doc, "clock.max_error");
      add("clock", "Clock", c.max_error_seconds, c.synchronized ? "synchronised" : "NOT synchronised",
        "max error " + secs(c.max_error_seconds) + " · offset " + secs(c.offset_seconds) + (rule ? " · " + thresholds(rule) : ""), "clock", {}, rule);
    }
    const rx = latest(series["net.rx"]), tx = latest(series["net.tx"]);
    add("net-rx", "Network in", rx, bytes(rx, "/s"), nics(host.network, "receive_bytes_per_s"), "net.rx");
    add("net-tx", "Network out", tx, bytes(tx, "/s"), nics(host.network, "transmit_bytes_per_s"), "net.tx");
    add("disk-read", "Disk read", disk.read_bytes_per_s, bytes(disk.read_bytes_per_s, "/s"), "all disks", "disk.read");
    add("disk-write", "Disk write", disk.write_bytes_per_s, bytes(disk.write_bytes_per_s, "/s"), "all disks", "disk.write");
    for (const [mount, value] of Object.entries(host.filesystems_percent || {})) {
      const rule = ruleState(doc, "filesystem", mount);
      const inodes = (host.inodes_percent || {})[mount];
      const sub = (thresholds(rule) || "used, as df counts it") + (isNum(inodes) ? " · inodes " + pct(inodes) : "");
      add("fs-" + mount, "Filesystem " + mount, value, pct(value), sub, "fs:" + mount, { min: 0, max: 100 }, rule);
    }
    for (const [sensor, value] of Object.entries(host.temperatures_celsius || {})) {
      const rule = ruleState(doc, "temperature", sensor);
      add("temp-" + sensor, sensor, value, withUnit(value, "°C"), thresholds(rule), "temp:" + sensor, {}, rule);
    }
    add("agent-cpu", "otel-mon CPU", agent.cpu_percent, isNum(agent.cpu_percent) ? agent.cpu_percent.toFixed(2) + " %" : "–", "of one CPU, like top", "agent.cpu", { min: 0 });
    add("agent-rss", "otel-mon memory", agent.rss_bytes, bytes(agent.rss_bytes), "resident (RSS)", "agent.rss", { min: 0 });
    return list;
  }

  function latest(values) {
    if (!values) return null;
    for (let i = values.length - 1; i >= 0; i--) if (isNum(values[i])) return values[i];
    return null;
  }

  function nics(network, field) {
    const names = Object.keys(network || {}).filter((n) => n !== "lo");
    return names.length ? names.length + (names.length === 1 ? " interface" : " interfaces") + " (no lo)" : "";
  }

  function drawCards(doc) {
    const box = $("cards");
    const history = doc.history || {};
    const interval = (doc.health || {}).interval_seconds;
    box.replaceChildren(...cards(doc).map((c) => {
      const card = el("article", { className: "card", id: "card-" + c.id, "data-state": c.rule ? c.rule.state : null },
        el("div", { className: "label", text: c.label, title: c.label }),
        el("div", { className: "value", id: c.id + "-value", "data-value": isNum(c.value) ? String(c.value) : "", text: c.text }),
        el("div", { className: "sub", text: c.sub || "", title: c.sub || "" }));
      card.append(sparkline(history.times, (history.series || {})[c.key], { ...c.opts, interval }));
      return card;
    }));
  }

  // --- the tables ---------------------------------------------------------------------------------
  function drawRules(doc) {
    const rules = ((doc.health || {}).health || {}).rules || [];
    $("rules").tBodies[0].replaceChildren(...rules.map((r) => el("tr", { "data-rule": r.rule, "data-instance": r.instance },
      el("td", {}, badge(r.state)),
      el("td", { text: r.instance ? r.rule + " " + r.instance : r.rule }),
      el("td", { className: "num", text: withUnit(r.value, r.unit) }),
      el("td", { className: "num", text: [isNum(r.warning) ? withUnit(r.warning, r.unit) : "–", isNum(r.critical) ? withUnit(r.critical, r.unit) : "–"].join(" / ") }),
      el("td", { className: "num", text: r.since ? ago(r.since) : "–", title: r.since || "" }),
      el("td", { className: "why" }, r.why || "", context(r.context)))));
  }

  // The processes or filesystem figures the agent measured when the rule rose (health/context.py).
  function context(c) {
    if (!c) return null;
    // When it was measured: the list stays while the rule is raised, after its processes may have exited.
    const when = c.measured_at ? " at " + c.measured_at.slice(11, 19) + " UTC (" + ago(c.measured_at) + ")" : "";
    if (c.processes) {
      const cpu = c.by === "cpu";
      const list = c.processes.map((p) => p.pid + " " + p.name + " (" + p.user + ") " +
        (cpu ? p.cpu_percent + " %" : bytes(p.rss_bytes))).join(", ");
      return el("div", { className: "context", "data-measured-at": c.measured_at || null,
        text: "top by " + (cpu ? "CPU (% of one core)" : "memory") + when + ": " + (list || "no process used any") });
    }
    if (isNum(c.size_bytes)) {
      return el("div", { className: "context", text: bytes(c.free_bytes) + " free of " + bytes(c.size_bytes) +
        (c.inodes_total ? ", inodes " + c.inodes_free + " free of " + c.inodes_total : "") });
    }
    return null;
  }

  function drawProbes(doc) {
    const probes = ((doc.health || {}).probes || {}).results || {};
    const names = Object.keys(probes);
    $("probes-panel").hidden = names.length === 0;
    $("probes").tBodies[0].replaceChildren(...names.map((name) => {
      const p = probes[name];
      if (!p) return el("tr", {}, el("td", {}, badge("unknown", "pending")), el("td", { text: name }), el("td"), el("td"), el("td"));
      const failure = p.last_failure ? p.last_failure.reason + " (" + ago(p.last_failure.at) + ")" : "never failed";
      return el("tr", { "data-probe": name },
        el("td", {}, badge(p.ok ? "ok" : "critical", p.ok ? "up" : "down")),
        el("td", { text: name + " (" + p.kind + ")" }),
        el("td", { text: p.target }),
        el("td", { className: "num", text: p.ok ? withUnit(p.duration_ms, "ms") : "–" }),
        el("td", { className: "why", text: p.ok ? failure : (p.reason || failure) }));
    }));
  }

  function drawTop(doc) {
    const top = doc.top || {};
    const fill = (id, rows, cells) => {
      $(id).hidden = rows.length === 0;
      $(id).tBodies[0].replaceChildren(...rows.map((r) => el("tr", {}, ...cells(r).map((c, i) =>
        el("td", { className: i ? "num" : null, text: c })))));
    };
    const procs = top.processes || [], groups = top.groups || [], services = top.services || [];
    fill("top-processes", procs, (p) => [String(p.pid), p.name, p.user, pct(p.cpu_percent), bytes(p.rss_bytes)]);
    fill("top-groups", groups, (g) => [g.name, String(g.processes), pct(g.cpu_percent), bytes(g.rss_bytes),
      bytes(g.io_bytes_per_s, "/s")]);
    fill("top-services", services, (c) => [c.unit || c.container_id || c.path, pct(c.cpu_percent),
      bytes(c.memory_bytes), bytes(c.io_bytes_per_s, "/s")]);
    $("no-top").hidden = procs.length + groups.length + services.length > 0;
  }

  function drawUnits(doc) {
    const host = (doc.health || {}).host || {};
    const units = host.failed_units;
    $("units-panel").hidden = !Array.isArray(units);  // absent: collectors.systemd is off
    const list = Array.isArray(units) ? units : [];
    $("failed-units").replaceChildren(...list.map((u) => el("li", { text: u, "data-unit": u })));
    $("no-failed-units").hidden = list.length > 0;
  }

  function drawTransitions(doc) {
    const list = doc.transitions || [];
    $("no-transitions").hidden = list.length > 0;
    $("transitions").tBodies[0].replaceChildren(...list.slice(0, 12).map((t) => el("tr", {},
      el("td", { className: "num", text: ago(t.at), title: t.at }),
      el("td", { text: t.instance ? t.rule + " " + t.instance : t.rule }),
      el("td", { className: "change" }, badge(t.old), " → ", badge(t.new)),
      el("td", { className: "why", text: t.why }))));
  }

  function drawPipeline(doc) {
    const h = doc.health || {};
    const rows = [];
    const fact = (k, v) => rows.push(el("dt", { text: k }), el("dd", { text: v }));
    if (h.spool) {
      const s = h.spool;
      const dropped = Object.values(s.dropped || {}).reduce((a, b) => a + b, 0);
      fact("spool", (s.status || "") + " · " + (s.files || 0) + " files · " + bytes(s.bytes) + (dropped ? " · " + dropped + " dropped" : ""));
    } else fact("spool", "off");
    if (h.forward && h.forward.signals) {
      for (const [signal, f] of Object.entries(h.forward.signals)) {
        const err = f.last_error ? " · last error: " + f.last_error.message : "";
        fact("OTLP " + signal, (f.degraded ? "degraded" : "ok") + " · backlog " + (f.backlog_records || 0) + " lines (" + bytes(f.backlog_bytes) + "), lag " + duration(f.lag_seconds) + err);
      }
    } else fact("OTLP forward", "off");
    // Any other section with a backlog (remote write, added by its own component): shown the same way.
    const known = ["spool", "forward", "health", "probes", "host", "collectors", "problems"];
    for (const [name, sec] of Object.entries(h)) {
      if (known.includes(name) || !sec || typeof sec !== "object" || Array.isArray(sec)) continue;
      const parts = [sec, ...Object.values(sec.signals || {})];
      const backlog = parts.map((p) => p.backlog_records).find(isNum);
      const lag = parts.map((p) => p.lag_seconds).find(isNum);
      if (backlog === undefined && lag === undefined) continue;
      const degraded = parts.some((p) => p.degraded);
      fact(name.replace(/_/g, " "), (degraded ? "degraded" : (sec.status || "ok")) + (backlog !== undefined ? " · backlog " + backlog + " lines" : "") + (isNum(lag) ? ", lag " + duration(lag) : ""));
    }
    const agent = doc.agent || {};
    fact("agent", (isNum(agent.cpu_percent) ? agent.cpu_percent.toFixed(2) + " % CPU · " : "") + bytes(agent.rss_bytes) + " RSS · up " + duration(h.agent_uptime_seconds));
    fact("collection", "every " + duration(h.interval_seconds) + ", last " + duration(h.snapshot_age_seconds) + " ago");
    $("pipeline").replaceChildren(...rows);
  }

  function drawHeader(doc) {
    const about = doc.about || {};
    const h = doc.health || {};
    const state = (h.health || {}).status || h.status;
    const s = $("state");
    s.dataset.state = stateOf(state);
    s.dataset.value = state || "";
    s.textContent = state ? stateText(state) : "unknown";
    $("host").textContent = about.host || "otel-mon";
    document.title = (state ? state.toUpperCase() + " · " : "") + (about.host || "otel-mon");
    const parts = [about.os, "up " + duration((h.host || {}).uptime_seconds), "otel-mon " + (about.version || h.version)];
    $("about").textContent = parts.filter(Boolean).join(" · ");
    $("footer-version").textContent = "otel-mon " + (about.version || "");
    $("updated").textContent = "updated " + new Date().toLocaleTimeString() + (h.status !== "ok" && h.status !== state ? " · agent " + h.status : "");
  }

  function draw(doc) {
    last = doc;
    drawHeader(doc);
    drawCards(doc);
    drawRules(doc);
    drawProbes(doc);
    drawUnits(doc);
    drawTop(doc);
    drawTransitions(doc);
    drawPipeline(doc);
    $("main").hidden = false;
    const first = $("first-view");  // the server's first view (web/first_view.py): this script's view replaces it
    if (first) first.hidden = true;
    document.body.dataset.rendered = String((doc.health || {}).snapshot_age_seconds !== undefined);
  }

  // --- fetching, token, schedule ------------------------------------------------------------------
  function showLogin(message) {
    $("login").hidden = false;
    $("main").hidden = true;
    const err = $("login-error");
    err.hidden = !message;
    err.textContent = message || "";
    $("about").textContent = "token required";
    $("token").focus();
  }

  async function refresh() {
    if (inflight) return;
    inflight = true;
    clearTimeout(timer);
    timer = null;
    try {
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (!token && document.body.dataset.auth === "bearer") {
        showLogin("");  // the agent said so in the page: no request that can only be refused
        return;
      }
      const headers = { Accept: "application/json" };
      if (token) headers.Authorization = "Bearer " + token;
      const resp = await fetch(API, { headers, cache: "no-store", credentials: "omit" });
      if (resp.status === 401) {
        if (token) sessionStorage.removeItem(TOKEN_KEY);
        showLogin(token ? "That token was refused." : "");
        return;
      }
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      const doc = await resp.json();
      $("login").hidden = true;
      $("forget").hidden = !token;
      period = Math.max(2, Math.min(60, (doc.health || {}).interval_seconds || 15)) * 1000;
      draw(doc);
    } catch (err) {
      $("updated").textContent = "cannot reach the agent (" + err.message + "), retrying";
    } finally {
      inflight = false;
      schedule();
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (!document.hidden && $("login").hidden) timer = setTimeout(refresh, period);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { clearTimeout(timer); timer = null; } else refresh();
  });

  document.addEventListener("DOMContentLoaded", () => {
    $("login").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("token").value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      $("token").value = "";
      $("login").hidden = true;
      refresh();
    });
    $("forget").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
    refresh();
  });

  window.otelMon = { refresh, last: () => last };
})();
