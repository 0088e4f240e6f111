// The on-call dashboard. Every value from the API is written with textContent (never innerHTML),
// so text from incidents, logs or an LLM cannot become markup.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { token: localStorage.getItem("sre-api-token") || "", selected: null, known: new Set(), firstLoad: true,
                  nextBefore: null, timer: null };

  function node(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function fmtTime(ms) { return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "—"; }
  function fmtNum(v, digits) { return typeof v === "number" ? v.toFixed(digits === undefined ? 1 : digits) : "—"; }

  async function api(path, asText) {
    const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
    const r = await fetch(path, { headers, cache: "no-store" });
    if (r.status === 401) { $("token-form").hidden = false; throw new Error("unauthorized"); }
    if (!r.ok) throw new Error(path + ": " + r.status);
    return asText ? r.text() : r.json();
  }

  // ---- incident feed ----
  function filters() {
    const p = new URLSearchParams({ limit: "30" });
    if ($("filter-status").value) p.set("status", $("filter-status").value);
    if ($("filter-severity").value) p.set("severity", $("filter-severity").value);
    return p;
  }
  function incidentItem(inc) {
    const li = node("li", null, "incident");
    li.dataset.id = inc.id;
    li.dataset.status = inc.status;
    if (inc.id === state.selected) li.classList.add("selected");
    if (!state.firstLoad && !state.known.has(inc.id)) li.classList.add("fresh");
    const top = node("div", null, "top");
    top.appendChild(node("span", inc.incident_number, "num"));
    top.appendChild(node("span", inc.severity, "sev sev-" + inc.severity));
    top.appendChild(node("span", inc.service));
    top.appendChild(node("span", inc.status, "status"));
    li.appendChild(top);
    li.appendChild(node("div", inc.anomaly_type + " · " + fmtTime(inc.detection_time_ms), "muted"));
    if (inc.top_root_cause) li.appendChild(node("div", "RCA: " + inc.root_cause_category + " — " + inc.top_root_cause, "muted"));
    li.addEventListener("click", () => select(inc.id));
    return li;
  }
  async function loadIncidents(append) {
    const p = filters();
    if (append && state.nextBefore) p.set("before", state.nextBefore);
    const page = await api("/api/incidents?" + p.toString());
    const list = $("incident-list");
    if (!append) clear(list);
    page.incidents.forEach((inc) => list.appendChild(incidentItem(inc)));
    page.incidents.forEach((inc) => state.known.add(inc.id));
    state.firstLoad = false;
    state.nextBefore = page.next_before;
    $("more").hidden = !page.next_before;
  }
  function scheduleRefresh() {
    if (state.timer) return;
    state.timer = setTimeout(() => {
      state.timer = null;
      loadIncidents(false).catch(console.warn);
      if (state.selected) loadDetail(state.selected).catch(console.warn);
    }, 300);
  }

  // ---- detail ----
  function select(id) {
    state.selected = id;
    location.hash = "incident=" + id;
    document.querySelectorAll(".incident").forEach((e) => e.classList.toggle("selected", e.dataset.id === id));
    loadDetail(id).catch(console.warn);
  }
  function kv(dl, k, v) { dl.appendChild(node("dt", k)); dl.appendChild(node("dd", v)); }
  async function loadDetail(id) {
    const [inc, tl] = await Promise.all([api("/api/incidents/" + id), api("/api/incidents/" + id + "/timeline")]);
    if (state.selected !== id) return;
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    $("d-title").textContent = inc.incident_number + " — " + inc.service;
    const meta = clear($("d-meta"));
    meta.appendChild(node("span", inc.severity, "sev sev-" + inc.severity));
    meta.appendChild(node("span", inc.status, "pill"));
    meta.appendChild(node("span", inc.anomaly_type, "pill"));
    if (inc.mttr_seconds != null) meta.appendChild(node("span", "MTTR " + fmtNum(inc.mttr_seconds, 0) + " s", "pill"));
    $("d-description").textContent = inc.description || "";
    const det = clear($("d-detection"));
    kv(det, "detected", fmtTime(inc.detection_time_ms));
    kv(det, "metric", inc.trigger_metric);
    kv(det, "observed", fmtNum(inc.observed_value, 2));
    kv(det, "baseline", fmtNum(inc.baseline_mean, 2) + " ± " + fmtNum(inc.baseline_std, 2));
    kv(det, "deviation", fmtNum(inc.deviation_sigma, 1) + " σ, score " + fmtNum(inc.anomaly_score, 2));
    kv(det, "affected", (inc.affected_services || []).join(", ") || "—");
    if (inc.related_incident_id) kv(det, "related", inc.related_incident_id);
    if (inc.resolution_time_ms) kv(det, "resolved", fmtTime(inc.resolution_time_ms));

    const sig = clear($("d-signals"));
    (inc.correlation_signals || []).forEach((s) => {
      sig.appendChild(node("li", s.signal_type + " (" + fmtNum(s.strength, 2) + "): " + (s.description || "")));
    });
    if (inc.correlation_summary) sig.appendChild(node("li", inc.correlation_summary, "muted"));
    if (!sig.firstChild) sig.appendChild(node("li", "none", "muted"));

    const rca = clear($("rca-candidates"));
    (inc.rca_candidates || []).forEach((c) => {
      const li = node("li", null, "candidate");
      li.appendChild(node("div", c.category + " on " + c.service + " — " + fmtNum((c.confidence || 0) * 100, 0) + " %"));
      li.appendChild(node("div", c.hypothesis, "muted"));
      const bar = node("div", null, "conf"), fill = node("div");
      fill.style.width = Math.max(0, Math.min(100, (c.confidence || 0) * 100)) + "%";
      bar.appendChild(fill); li.appendChild(bar);
      rca.appendChild(li);
    });
    if (!rca.firstChild) rca.appendChild(node("li", "investigation pending", "muted"));

    const plan = clear($("d-plan"));
    const groups = inc.plan_by_priority || {};
    Object.keys(groups).forEach((prio) => {
      if (!groups[prio].length) return;
      const box = node("div", null, "prio");
      box.dataset.priority = prio;
      box.appendChild(node("h4", prio));
      groups[prio].forEach((s) => {
        const st = node("div", null, "step");
        st.appendChild(node("span", "risk " + (s.risk_level || "?") + " · " + (s.owner || ""), "risk"));
        st.appendChild(node("div", s.action));
        st.appendChild(node("div", s.rationale, "muted"));
        if (s.rollback) st.appendChild(node("div", "rollback: " + s.rollback, "muted"));
        box.appendChild(st);
      });
      plan.appendChild(box);
    });
    if (!plan.firstChild) plan.appendChild(node("p", "no plan yet", "muted"));

    const em = clear($("d-emails"));
    (inc.emails || []).forEach((e) => {
      em.appendChild(node("li", e.notification_type + " · " + e.status + " · " + e.subject));
    });
    if (!em.firstChild) em.appendChild(node("li", "none yet", "muted"));

    const t = clear($("timeline"));
    (tl.events || []).forEach((ev) => {
      const li = node("li");
      li.dataset.eventType = ev.event_type;
      li.appendChild(node("span", fmtTime(ev.event_time_ms), "when"));
      li.appendChild(node("strong", ev.agent));
      li.appendChild(document.createTextNode(" " + ev.event_type));
      t.appendChild(li);
    });
    const pm = clear($("d-postmortem"));
    if (inc.postmortem) pm.appendChild(window.SafeMarkdown.render(inc.postmortem));
    else pm.appendChild(node("p", "written once the incident is resolved", "muted"));
  }

  // ---- services and charts ----
  async function loadServices() {
    const data = await api("/api/services");
    const tiles = clear($("service-tiles"));
    data.services.forEach((s) => {
      const tile = node("div", null, "tile h-" + s.health);
      tile.dataset.service = s.name;
      tile.appendChild(node("div", s.name, "name"));
      const l = s.latest || {};
      tile.appendChild(node("div", "p99 " + fmtNum(l.latency_p99_ms, 0) + " ms · err " + fmtNum(l.error_rate, 1) +
                                   " % · cpu " + fmtNum(l.cpu_percent, 0) + " %", "vals"));
      const series = ((s.history || {}).latency_p99_ms || []).map((p) => p[1]);
      tile.appendChild(window.Charts.sparkline(series));
      tile.title = s.health;
      tiles.appendChild(tile);
    });
  }
  async function loadStats() {
    const [stats, recent] = await Promise.all([api("/api/stats"), api("/api/incidents?limit=20")]);
    $("open-count").textContent = stats.open + " open / " + stats.total + " total";
    const days = stats.per_day.slice(-10).map((d) => ({ label: new Date(d.day_ms).toISOString().slice(5, 10), value: d.count }));
    clear($("chart-count")).appendChild(window.Charts.bars(days));
    const mttr = recent.incidents.filter((i) => typeof i.mttr_seconds === "number").reverse()
      .map((i) => ({ label: i.incident_number.slice(4, 8), value: i.mttr_seconds }));
    clear($("chart-mttr")).appendChild(window.Charts.bars(mttr, "mttr"));
    $("stats-summary").textContent = "MTTR mean " + fmtNum(stats.mttr_seconds.mean, 0) + " s, p90 " +
      fmtNum(stats.mttr_seconds.p90, 0) + " s over " + stats.mttr_seconds.count + " resolved";
  }

  // ---- live stream ----
  const TOPICS = ["anomalies.detected", "incidents.opened", "rca.completed", "remediation.plans",
                  "incidents.resolved", "postmortems.generated"];
  function connect() {
    const url = "/api/stream" + (state.token ? "?access_token=" + encodeURIComponent(state.token) : "");
    const es = new EventSource(url);
    es.onopen = () => { $("conn-status").textContent = "live"; $("conn-status").className = "conn conn-up"; };
    es.onerror = () => {
      $("conn-status").textContent = "reconnecting…";
      $("conn-status").className = "conn conn-down";
      // The browser retries a dropped stream by itself but gives up on an error status (503 when
      // the server's stream limit is reached): try again after the server's Retry-After.
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
    TOPICS.forEach((topic) => es.addEventListener(topic, (msg) => {
      let d = {};
      try { d = JSON.parse(msg.data); } catch (e) { return; }
      const log = $("event-log");
      const li = node("li", fmtTime(d.timestamp) + " " + d.incident_number + " " + topic);
      log.insertBefore(li, log.firstChild);
      while (log.childNodes.length > 50) log.removeChild(log.lastChild);
      scheduleRefresh();
      if (topic === "incidents.resolved" || topic === "incidents.opened") loadStats().catch(console.warn);
    }));
    es.addEventListener("resync", () => { scheduleRefresh(); loadStats().catch(console.warn); });
  }

  function start() {
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      state.token = $("token-input").value;
      localStorage.setItem("sre-api-token", state.token);
      location.reload();
    });
    $("filter-status").addEventListener("change", () => loadIncidents(false).catch(console.warn));
    $("filter-severity").addEventListener("change", () => loadIncidents(false).catch(console.warn));
    $("more").addEventListener("click", () => loadIncidents(true).catch(console.warn));
    connect();
    loadIncidents(false).catch(console.warn);
    loadServices().catch(console.warn);
    loadStats().catch(console.warn);
    setInterval(() => loadServices().catch(console.warn), 5000);
    setInterval(() => loadStats().catch(console.warn), 15000);
    const m = /incident=([0-9a-f-]{36})/.exec(location.hash);
    if (m) select(m[1]);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
