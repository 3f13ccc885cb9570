"use strict";
// The edgeinfra dashboard: polls the hub's JSON API and renders it.
(() => {
  // MAX_ROWS bounds the node table so a large fleet stays responsive.
  const POLL_MS = 2000, TIMEOUT_MS = 5000, WINDOW_MS = 3 * 60 * 1000, MAX_ROWS = 500;
  // Statuses from worst to best, for sorting the status column by severity.
  const SEVERITY = { unknown: 0, offline: 1, degraded: 2, maintenance: 3, online: 4 };
  const LIVENESS = { dead: 0, suspect: 1, unknown: 2, alive: 3 };
  const COLORS = ["#58a6ff", "#3fb950", "#d29922", "#f85149", "#a371f7", "#39c5cf", "#ff7b72", "#e3b341"];
  const $ = (id) => document.getElementById(id);
  const state = { nodes: [], sort: "id", asc: true, filter: "", series: {}, selected: null, lastOK: 0 };

  const fmtInt = (n) => Number(n || 0).toLocaleString("en-US");
  const fmtMs = (ms) => ms >= 1000 ? (ms / 1000).toFixed(2) + " s" : ms >= 10 ? ms.toFixed(0) + " ms" : Number(ms || 0).toFixed(2) + " ms";
  const fmtAge = (s, t) => !t || t.startsWith("0001") ? "never" : s < 10 ? s.toFixed(1) + "s ago" : s < 90 ? s.toFixed(0) + "s ago" : s < 5400 ? (s / 60).toFixed(0) + "m ago" : (s / 3600).toFixed(1) + "h ago";
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  async function get(path) {
    const ctl = new AbortController(), timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const r = await fetch(path, { cache: "no-store", signal: ctl.signal });
      if (!r.ok) {
        let msg = "HTTP " + r.status;
        try { msg = (await r.json()).error.message || msg; } catch (_) { /* not a JSON error */ }
        const err = new Error(msg);
        err.status = r.status;
        throw err;
      }
      return await r.json();
    } finally {
      clearTimeout(timer);
    }
  }

  async function poll() {
    try {
      const [nodes, cluster, metrics] = await Promise.all([get("api/v1/nodes"), get("api/v1/cluster"), get("api/v1/metrics")]);
      state.nodes = nodes;
      renderCards(nodes, cluster, metrics);
      renderRegions(nodes);
      renderFunctions(metrics);
      renderNodes();
      if (state.selected) renderDetail(state.selected);
      state.lastOK = Date.now();
      setConn(true, "live · " + new Date().toLocaleTimeString());
    } catch (e) {
      const since = state.lastOK ? " · data from " + new Date(state.lastOK).toLocaleTimeString() : "";
      const denied = e.status === 401 || e.status === 403;
      setConn(false, (denied ? "access denied by the hub (HTTP " + e.status + ")" : "hub unreachable — retrying") + since);
    }
    setTimeout(poll, POLL_MS);
  }

  function setConn(ok, text) {
    const el = $("conn");
    el.className = "conn " + (ok ? "ok" : "bad");
    el.textContent = text;
    document.body.classList.toggle("stale", !ok);
  }

  function renderCards(nodes, cluster, m) {
    const by = {};
    let healthy = 0, flapping = 0;
    for (const n of nodes) {
      by[n.status] = (by[n.status] || 0) + 1;
      if (n.healthy) healthy++;
      if (n.flapping) flapping++;
    }
    $("c-total").textContent = fmtInt(nodes.length);
    $("c-statuses").innerHTML = Object.keys(by).sort().map((s) => `<span class="s-${esc(s)}">${by[s]} ${esc(s)}</span>`).join(" · ");
    const pct = nodes.length ? (100 * healthy / nodes.length) : 0;
    $("c-healthy").textContent = pct.toFixed(pct === 100 || pct === 0 ? 0 : 1) + "%";
    $("c-healthy").className = "value " + (pct >= 99 ? "s-online" : pct >= 90 ? "s-degraded" : "s-offline");
    $("c-unhealthy").textContent = `${healthy} healthy, ${nodes.length - healthy} not`;
    $("c-flapping").textContent = fmtInt(flapping);
    $("c-flapping").className = "value" + (flapping ? " flap" : "");
    const lv = cluster.liveness;
    $("c-alive").textContent = lv ? fmtInt(lv.alive) : "–";
    $("c-alive").className = "value" + (lv && lv.dead ? " l-dead" : lv && lv.suspect ? " l-suspect" : "");
    $("c-liveness").innerHTML = lv ? `<span class="${lv.suspect ? "l-suspect" : ""}">${fmtInt(lv.suspect)} suspect</span> · ` +
      `<span class="${lv.dead ? "l-dead" : ""}">${fmtInt(lv.dead)} dead</span>` : "";
    state.badRegions = new Set(lv && lv.unhealthy_regions || []);
    const fl = cluster.flapping_nodes || [];
    $("c-flapping-sub").textContent = fl.length ? fl.slice(0, 3).join(", ") + (fl.length > 3 ? " +" + (fl.length - 3) : "") : "over the last 10 checks";
    $("c-inv").textContent = fmtInt(m.total_invocations);
    $("c-rate").textContent = (m.rate_per_second_1m || 0).toFixed(1) + " per second (1m)";
    $("c-success").textContent = (m.total_invocations ? m.success_rate : 100).toFixed(2) + "%";
    $("c-errors").textContent = fmtInt(m.errors) + " errors" + (m.top_errors && m.top_errors.length ? " · top: " + m.top_errors[0].kind : "");
    $("c-p99").textContent = fmtMs(m.p99_ms || 0);
    $("c-p50").textContent = "p50 " + fmtMs(m.p50_ms || 0) + " · p90 " + fmtMs(m.p90_ms || 0);
  }

  function renderRegions(nodes) {
    const regions = {};
    for (const n of nodes) {
      const r = regions[n.region || "(none)"] ||= { total: 0, healthy: 0 };
      r.total++;
      if (n.healthy) r.healthy++;
    }
    $("regions").innerHTML = Object.keys(regions).sort().map((name) => {
      const r = regions[name], ok = 100 * r.healthy / r.total;
      const alarm = (r.total >= 3 && ok <= 50) || (state.badRegions || new Set()).has(name);
      return `<div class="region${alarm ? " alarm" : ""}"><div class="row"><span>${esc(name)}${alarm ? " — <b>region unhealthy</b>" : ""}</span>` +
        `<span class="muted">${r.healthy}/${r.total} healthy</span></div>` +
        `<div class="bar"><span class="ok" style="width:${ok}%"></span><span class="bad" style="width:${100 - ok}%"></span></div></div>`;
    }).join("") || `<div class="muted">no nodes yet</div>`;
  }

  function renderFunctions(m) {
    const fns = m.functions || [];
    $("functions").innerHTML = fns.map((f) => `<tr><td>${esc(f.function)}</td><td>${fmtInt(f.total_invocations)}</td>` +
      `<td>${(100 - f.success_rate).toFixed(2)}</td><td>${fmtMs(f.p50_ms)}</td><td>${fmtMs(f.p90_ms)}</td><td>${fmtMs(f.p99_ms)}</td>` +
      `<td>${(f.rate_per_second_1m || 0).toFixed(1)}</td></tr>`).join("") || `<tr><td colspan="7" class="muted">no invocations yet</td></tr>`;
    const now = Date.now();
    for (const f of fns) {
      const s = state.series[f.function] ||= { p99: [], err: [] };
      s.p99.push([now, f.p99_ms_1m || 0]);
      s.err.push([now, f.error_rate_1m || 0]);
      while (s.p99.length && s.p99[0][0] < now - WINDOW_MS) { s.p99.shift(); s.err.shift(); }
    }
    drawChart($("chart-latency"), $("legend-latency"), "p99");
    drawChart($("chart-errors"), $("legend-errors"), "err");
  }

  function drawChart(canvas, legend, key) {
    const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight || 180;
    canvas.width = w * dpr; canvas.height = h * dpr;
    const g = canvas.getContext("2d");
    g.scale(dpr, dpr);
    const names = Object.keys(state.series).sort();
    // The x axis ends now and spans the data kept: one to three minutes.
    const maxT = Date.now();
    let maxY = 0, oldest = maxT;
    for (const n of names) for (const [t, v] of state.series[n][key]) { maxY = Math.max(maxY, v); oldest = Math.min(oldest, t); }
    const span = Math.min(Math.max(maxT - oldest, 60000), WINDOW_MS), minT = maxT - span;
    const styles = getComputedStyle(document.documentElement);
    const line = styles.getPropertyValue("--line"), muted = styles.getPropertyValue("--muted");
    const padL = 46, padB = 18, plotW = w - padL - 6, plotH = h - padB - 6;
    const step = niceStep(maxY > 0 ? maxY / 4 : 0.25);
    maxY = step * 4;
    g.font = "11px system-ui"; g.fillStyle = muted; g.strokeStyle = line; g.lineWidth = 1;
    g.textAlign = "right";
    for (let i = 0; i <= 4; i++) {
      const y = 6 + plotH - plotH * i / 4;
      g.beginPath(); g.moveTo(padL, y); g.lineTo(w - 6, y); g.stroke();
      g.fillText(formatTick(step * i), padL - 6, y + 4);
    }
    g.textAlign = "center";
    const tick = span > 90000 ? 60000 : 30000;
    for (let ago = 0; ago <= span; ago += tick) {
      const x = padL + plotW * (1 - ago / span);
      const label = ago === 0 ? "now" : "−" + (ago % 60000 ? ago / 1000 + "s" : ago / 60000 + "m");
      g.fillText(label, Math.min(Math.max(x, padL + 12), w - 18), h - 3);
    }
    names.forEach((n, i) => {
      const pts = state.series[n][key];
      if (!pts.length) return;
      g.strokeStyle = COLORS[i % COLORS.length]; g.lineWidth = 2; g.beginPath();
      pts.forEach(([t, v], j) => {
        const x = padL + plotW * (t - minT) / span, y = 6 + plotH - plotH * v / maxY;
        j ? g.lineTo(x, y) : g.moveTo(x, y);
      });
      g.stroke();
      const [t, v] = pts[pts.length - 1];
      g.fillStyle = COLORS[i % COLORS.length]; g.beginPath();
      g.arc(padL + plotW * (t - minT) / span, 6 + plotH - plotH * v / maxY, 3, 0, 2 * Math.PI); g.fill();
    });
    legend.innerHTML = names.map((n, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(n)}</span>`).join("");
  }

  // niceStep rounds v up to 1, 2, 2.5 or 5 times a power of ten.
  const niceStep = (v) => {
    const p = Math.pow(10, Math.floor(Math.log10(v))), f = v / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
  };
  const formatTick = (v) => v >= 1000 ? (v / 1000).toFixed(v % 1000 ? 1 : 0) + "k" : v >= 10 || v === 0 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();

  function sortValue(n, key) {
    if (key === "lag") return n.sync.local_version - n.sync.remote_version;
    if (key === "pending") return n.sync.pending;
    if (key === "status") return SEVERITY[n.status] ?? -1;
    if (key === "liveness") return LIVENESS[n.liveness] ?? 2;
    return n[key];
  }

  function renderNodes() {
    const f = state.filter.toLowerCase();
    const rows = state.nodes.filter((n) => !f || n.id.toLowerCase().includes(f) || (n.region || "").toLowerCase().includes(f) || n.status.includes(f));
    rows.sort((a, b) => {
      const x = sortValue(a, state.sort), y = sortValue(b, state.sort);
      return (x < y ? -1 : x > y ? 1 : 0) * (state.asc ? 1 : -1);
    });
    $("nodes-more").textContent = rows.length > MAX_ROWS ?
      `showing ${fmtInt(MAX_ROWS)} of ${fmtInt(rows.length)} nodes: sort or filter to see the others` : "";
    $("nodes").innerHTML = rows.slice(0, MAX_ROWS).map((n) => `<tr data-id="${esc(n.id)}" class="node-row${n.id === state.selected ? " selected" : ""}" tabindex="0">` +
      `<td>${esc(n.id)}</td><td>${esc(n.region || "")}</td>` +
      `<td><span class="pill s-${esc(n.status)}" title="${esc(n.reason || "healthy")}">${esc(n.status)}</span></td>` +
      `<td>${livenessPill(n.liveness)}</td>` +
      `<td>${fmtAge(n.heartbeat_age_seconds, n.last_heartbeat)}</td>` +
      `<td>${n.flapping ? '<span class="flap">flapping</span>' : "–"}</td>` +
      `<td>${n.sync.local_version - n.sync.remote_version}</td><td>${n.sync.pending}</td></tr>`).join("") ||
      `<tr><td colspan="8" class="muted">${state.nodes.length ? "no node matches the filter" : "waiting for the first heartbeat…"}</td></tr>`;
    document.querySelectorAll("th[data-sort]").forEach((th) => {
      th.classList.toggle("sorted", th.dataset.sort === state.sort);
      th.classList.toggle("asc", th.dataset.sort === state.sort && state.asc);
    });
  }

  const livenessPill = (l) => l ? `<span class="pill l-${esc(l)}">${esc(l)}</span>` : "–";

  async function renderDetail(id) {
    try {
      const [n, st] = await Promise.all([get("api/v1/nodes/" + encodeURIComponent(id)), get("api/v1/nodes/" + encodeURIComponent(id) + "/state")]);
      $("detail").classList.remove("hidden");
      $("detail-title").textContent = "Node " + n.id;
      const hist = (n.history || []).map((c) => `<span class="${c.healthy ? "h" : "u"}" title="${esc(c.checked_at)} ${esc(c.reason || "healthy")}"></span>`).join("");
      $("detail-body").innerHTML = `<dl><dt>status</dt><dd><span class="pill s-${esc(n.status)}">${esc(n.status)}</span> ${esc(n.reason || "")}</dd>` +
        `<dt>liveness</dt><dd>${livenessPill(n.liveness)}</dd><dt>region</dt><dd>${esc(n.region || "")}</dd><dt>agent</dt><dd>${esc(n.address || "")}</dd>` +
        `<dt>last heartbeat</dt><dd>${fmtAge(n.heartbeat_age_seconds, n.last_heartbeat)}</dd>` +
        `<dt>sync</dt><dd>local v${n.sync.local_version}, applied hub v${n.sync.remote_version}, ${n.sync.pending} pending; hub holds v${n.state_version}</dd></dl>` +
        `<h2 style="margin-top:14px">Health history <span class="muted">(oldest left)</span></h2><div class="history">${hist}</div>` +
        `<h2>State</h2><pre>${esc(JSON.stringify(st.data, null, 2))}</pre>`;
    } catch (e) {
      $("detail-body").textContent = "could not load " + id + ": " + e.message;
    }
  }

  document.querySelectorAll("th[data-sort]").forEach((th) => th.addEventListener("click", () => {
    state.asc = state.sort === th.dataset.sort ? !state.asc : true;
    state.sort = th.dataset.sort;
    renderNodes();
  }));
  $("filter").addEventListener("input", (e) => { state.filter = e.target.value; renderNodes(); });
  const select = (tr) => {
    if (!tr) return;
    state.selected = tr.dataset.id;
    renderNodes();
    renderDetail(state.selected).then(() => $("detail").scrollIntoView({ behavior: "smooth", block: "nearest" }));
  };
  $("nodes").addEventListener("click", (e) => select(e.target.closest("tr[data-id]")));
  $("nodes").addEventListener("keydown", (e) => { if (e.key === "Enter") select(e.target.closest("tr[data-id]")); });
  $("detail-close").addEventListener("click", () => { state.selected = null; $("detail").classList.add("hidden"); renderNodes(); });
  window.addEventListener("resize", () => { drawChart($("chart-latency"), $("legend-latency"), "p99"); drawChart($("chart-errors"), $("legend-errors"), "err"); });

  poll();
})();
