// The on-call dashboard. Every value from the API is written with textContent (never innerHTML),
// so text from incidents, logs or an LLM cannot become markup.
//
// Two clocks appear on this page and every time says which it is (data-clock, a tag or the
// section heading, and a tooltip): event time, the timestamps the telemetry carries (detection,
// resolution, the timeline, the live events; simulated time under the simulator), and the wall
// clock of sre-pipeline (when a row was recorded, when an email was sent). All times are UTC.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { token: localStorage.getItem("sre-api-token") || "", selected: null, known: new Set(), firstLoad: true,
                  nextBefore: null, timer: null, decisions: {} };
  const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const CLOCKS = {
    event: { tag: "event time",
             title: "Event time: the timestamp the telemetry carries (simulated time under the simulator). " +
                    "It can run ahead of or behind the wall clock. UTC." },
    wall: { tag: "wall clock", title: "Wall clock: when sre-pipeline recorded it (the database's clock). UTC." },
  };

  function node(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function fmtTime(ms) { return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "—"; }
  function fmtNum(v, digits) { return typeof v === "number" ? v.toFixed(digits === undefined ? 1 : digits) : "—"; }
  // A time that says which clock it is on: <time data-clock="event|wall" title="…">, and with
  // `tagged` a visible "event time" / "wall clock" tag after it.
  function timeNode(ms, clock, tagged) {
    const wrap = node("span", null, "when");
    const t = node("time", fmtTime(ms), "clock-" + clock);
    t.dataset.clock = clock;
    t.title = CLOCKS[clock].title;
    if (ms) t.dateTime = new Date(ms).toISOString();
    wrap.appendChild(t);
    if (tagged) {
      const tag = node("span", CLOCKS[clock].tag, "clock-tag clock-" + clock);
      tag.title = CLOCKS[clock].title;
      wrap.appendChild(tag);
    }
    return wrap;
  }
  // A link to an incident of this dashboard ("#incident=<id>", the form emails use).
  function incidentLink(id, number) {
    const a = node("a", number || id, "inc-link");
    a.href = "#incident=" + id;
    a.dataset.id = id;
    a.addEventListener("click", (e) => e.stopPropagation());
    return a;
  }
  // The incident a link opens: "#incident=<uuid>" (sre::IncidentLink, shared/links.h) or the
  // older "#/incidents/<uuid>" of emails sent before; null for anything else.
  function incidentFromHash(hash) {
    const m = /^#?(?:incident=|\/incidents\/)([0-9A-Fa-f-]{36})(?:[/?&#].*)?$/.exec(hash || "");
    if (!m) return null;
    const id = m[1].toLowerCase();
    return UUID_RE.test(id) ? id : null;
  }

  async function api(path, asText) {
    const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
    const r = await fetch(path, { headers, cache: "no-store" });
    if (r.status === 401) { $("token-form").hidden = false; throw new Error("unauthorized"); }
    if (!r.ok) { const e = new Error(path + ": " + r.status); e.status = r.status; throw e; }
    return asText ? r.text() : r.json();
  }

  // ---- incident feed ----
  function filters() {
    const p = new URLSearchParams({ limit: "30", group: "cascade" });
    if ($("filter-status").value) p.set("status", $("filter-status").value);
    if ($("filter-severity").value) p.set("severity", $("filter-severity").value);
    return p;
  }
  function incidentItem(inc, linkedCount) {
    const li = node("li", null, "incident");
    li.dataset.id = inc.id;
    li.dataset.status = inc.status;
    const depth = Math.min(inc.cascade_depth || 0, 3);
    li.dataset.depth = String(depth);
    if (depth > 0) li.classList.add("linked", "depth-" + depth);
    if (inc.id === state.selected) li.classList.add("selected");
    if (!state.firstLoad && !state.known.has(inc.id)) li.classList.add("fresh");
    const top = node("div", null, "top");
    top.appendChild(node("span", inc.incident_number, "num"));
    top.appendChild(node("span", inc.severity, "sev sev-" + inc.severity));
    top.appendChild(node("span", inc.service));
    top.appendChild(node("span", inc.status, "status"));
    li.appendChild(top);
    if (inc.related_incident_id) {
      const part = node("div", "↳ part of ", "cascade");
      part.appendChild(incidentLink(inc.related_incident_id, inc.related_incident_number));
      li.appendChild(part);
    }
    if (linkedCount) li.appendChild(node("div", "origin of " + linkedCount + " linked incident" + (linkedCount === 1 ? "" : "s") + " below", "cascade"));
    const line = node("div", inc.anomaly_type + " · detected ", "muted");
    line.appendChild(timeNode(inc.detection_time_ms, "event", true));
    li.appendChild(line);
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
    // How many incidents of this page sit under each origin (the API grouped them: group=cascade).
    const linked = {};
    page.incidents.forEach((inc) => {
      if (inc.cascade_depth > 0 && inc.related_incident_id) linked[inc.related_incident_id] = (linked[inc.related_incident_id] || 0) + 1;
    });
    page.incidents.forEach((inc) => list.appendChild(incidentItem(inc, linked[inc.id] || 0)));
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
    // The canonical link; an older "#/incidents/<id>" is rewritten (hashchange then sees the same
    // incident and does nothing).
    if (incidentFromHash(location.hash) !== id || !location.hash.startsWith("#incident=")) location.hash = "incident=" + id;
    document.querySelectorAll(".incident").forEach((e) => e.classList.toggle("selected", e.dataset.id === id));
    loadDetail(id).catch((e) => {
      if (state.selected !== id) return;
      $("detail-body").hidden = true;
      $("detail-empty").hidden = false;
      $("detail-empty").textContent = e && e.status === 404
        ? "No incident " + id + " (it may have been removed)."
        : "Could not load incident " + id + ": " + (e && e.message);
    });
  }
  function kv(dl, k, v) {
    dl.appendChild(node("dt", k));
    const dd = node("dd");
    (Array.isArray(v) ? v : [v]).forEach((x) => dd.appendChild(typeof x === "string" ? document.createTextNode(x) : x));
    dl.appendChild(dd);
    return dd;
  }
  function cascadeRow(c) {
    const li = node("li", null, "linked-incident");
    li.dataset.id = c.id;
    li.appendChild(incidentLink(c.id, c.incident_number));
    li.appendChild(document.createTextNode(" " + c.service + " "));
    li.appendChild(node("span", c.status, "pill"));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(node("span", c.severity, "sev sev-" + c.severity));
    return li;
  }
  // ---- remediation actions: a person approves or rejects (POST, with the API token) ----
  const OPERATOR_KEY = "sre-operator";
  // What each status means to the person reading it (shared/enums.h ActionStatus).
  const ACTION_STATUS = {
    AWAITING_APPROVAL: "waits for a person to approve or reject it",
    APPROVED: "approved: runs next", EXECUTING: "handed to the executor",
    EXECUTED: "ran; verification watches the trigger metric", VERIFIED: "ran, and the metric recovered",
    FAILED: "failed or did not help (undone where reversible) and escalated", DRY_RUN: "dry run: nothing changed",
    BLOCKED: "a guard refused it; escalated", REJECTED: "a person rejected it", ESCALATED: "a person must act",
  };
  function actionWords(a) { return String(a || "action").replace(/_/g, " "); }
  // The operator's name, asked once and remembered in this browser; null when they cancel.
  function operatorName(askAgain) {
    let name = localStorage.getItem(OPERATOR_KEY) || "";
    if (!name || askAgain) {
      const given = window.prompt("Your name or e-mail address, recorded as who decided (remembered in this browser):", name);
      if (given === null) return null;
      name = given.trim().slice(0, 100);
      if (!name) return null;
      localStorage.setItem(OPERATOR_KEY, name);
    }
    return name;
  }
  function showOperator() {
    const who = clear($("d-actions-who"));
    const name = localStorage.getItem(OPERATOR_KEY);
    who.appendChild(document.createTextNode(name ? "deciding as " + name + " · " : ""));
    const change = node("button", name ? "change" : "set your name", "link-button");
    change.type = "button";
    change.addEventListener("click", () => { operatorName(true); showOperator(); });
    who.appendChild(change);
  }
  async function decide(incidentId, a, approve, buttons) {
    const by = operatorName(false);
    showOperator();
    if (!by) return;
    let note = "";
    if (approve) {
      if (!window.confirm("Approve " + a.summary + "?\n\nThe remediation agent runs it next, as " + by + " approved.")) return;
    } else {
      const why = window.prompt("Reject " + a.summary + "?\nWhy (optional):", "");
      if (why === null) return;
      note = why.trim().slice(0, 500);
    }
    buttons.forEach((b) => { b.disabled = true; });
    const headers = { "Content-Type": "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    const body = { by };
    if (note) body.note = note;
    let text;
    try {
      const r = await fetch("/api/incidents/" + incidentId + "/actions/" + a.id + "/" + (approve ? "approve" : "reject"),
                            { method: "POST", headers, body: JSON.stringify(body), cache: "no-store" });
      let data = {};
      try { data = await r.json(); } catch (e) { /* not JSON */ }
      if (r.status === 401) $("token-form").hidden = false;
      if (r.status === 400 && data.field === "by") localStorage.removeItem(OPERATOR_KEY);
      text = r.ok ? "" : "not " + (approve ? "approved" : "rejected") + ": " + (data.error || "HTTP " + r.status);
    } catch (e) {
      text = "not sent: " + (e && e.message);
    }
    // A refusal stays visible under the action; a decision shows in the action itself.
    if (text) state.decisions[a.id] = text; else delete state.decisions[a.id];
    buttons.forEach((b) => { b.disabled = false; });
    await loadDetail(incidentId).catch(console.warn);
  }
  function actionRow(incidentId, a) {
    const li = node("li", null, "action");
    li.dataset.actionId = a.id;
    li.dataset.status = a.status;
    const top = node("div", null, "top");
    top.appendChild(node("strong", actionWords(a.action), "act-name"));
    top.appendChild(document.createTextNode(" on " + a.service + (a.executor && a.executor !== "none" ? " via " + a.executor : "")));
    const badge = node("span", a.status, "badge st-" + a.status);
    badge.title = ACTION_STATUS[a.status] || "";
    top.appendChild(badge);
    li.appendChild(top);
    li.appendChild(node("div", "risk " + a.risk + " · " + (a.reversible ? "reversible" : "not reversible") +
                               (a.executor && a.executor !== "none" ? "" : " · no executor: a person acts") +
                               (a.mode ? " · mode " + a.mode : ""), "muted"));
    if (a.reason) li.appendChild(node("div", a.reason, "reason"));
    if (a.decided_by) {
      const d = node("div", "decided by " + a.decided_by, "muted decided");
      if (a.decided_at_ms) { d.appendChild(document.createTextNode(" · ")); d.appendChild(timeNode(a.decided_at_ms, "wall", true)); }
      li.appendChild(d);
    }
    if (a.status === "AWAITING_APPROVAL") {
      const bar = node("div", null, "decide");
      const yes = node("button", "Approve", "approve"), no = node("button", "Reject", "reject");
      yes.type = no.type = "button";
      yes.addEventListener("click", () => decide(incidentId, a, true, [yes, no]));
      no.addEventListener("click", () => decide(incidentId, a, false, [yes, no]));
      bar.appendChild(yes);
      bar.appendChild(no);
      if (a.expires_at_ms) { bar.appendChild(document.createTextNode(" expires ")); bar.appendChild(timeNode(a.expires_at_ms, "wall", true)); }
      li.appendChild(bar);
    }
    if (state.decisions[a.id]) li.appendChild(node("div", state.decisions[a.id], "decision-result"));
    return li;
  }
  function renderActions(incidentId, actions) {
    const list = clear($("d-actions"));
    (actions || []).forEach((a) => list.appendChild(actionRow(incidentId, a)));
    if (!list.firstChild) list.appendChild(node("li", "none proposed", "muted"));
    showOperator();
  }

  async function loadDetail(id) {
    const [inc, tl] = await Promise.all([api("/api/incidents/" + id), api("/api/incidents/" + id + "/timeline")]);
    if (state.selected !== id) return;
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    $("detail-body").dataset.id = id;
    $("d-title").textContent = inc.incident_number + " — " + inc.service;
    const meta = clear($("d-meta"));
    meta.appendChild(node("span", inc.severity, "sev sev-" + inc.severity));
    meta.appendChild(node("span", inc.status, "pill"));
    meta.appendChild(node("span", inc.anomaly_type, "pill"));
    if (inc.mttr_seconds != null) {
      const m = node("span", "MTTR " + fmtNum(inc.mttr_seconds, 0) + " s (event time)", "pill");
      m.title = "Detection to resolution, both event time.";
      meta.appendChild(m);
    }
    $("d-description").textContent = inc.description || "";
    const det = clear($("d-detection"));
    kv(det, "detected", timeNode(inc.detection_time_ms, "event", true));
    if (inc.created_at_ms) {
      let note = "";
      if (typeof inc.pipeline_delay_seconds === "number") note = " — " + fmtNum(inc.pipeline_delay_seconds, 1) + " s after the triggering sample";
      else if (inc.detection_time_ms) note = " — event time is ahead of the wall clock: no pipeline delay";
      const dd = kv(det, "recorded", [timeNode(inc.created_at_ms, "wall", true), note]);
      dd.title = "Pipeline delay: wall-clock time from the triggering sample's timestamp to the incident row; " +
                 "meaningful only when the telemetry's timestamps are wall-clock times.";
    }
    kv(det, "metric", inc.trigger_metric);
    kv(det, "observed", fmtNum(inc.observed_value, 2));
    kv(det, "baseline", fmtNum(inc.baseline_mean, 2) + " ± " + fmtNum(inc.baseline_std, 2));
    kv(det, "deviation", fmtNum(inc.deviation_sigma, 1) + " σ, score " + fmtNum(inc.anomaly_score, 2));
    kv(det, "affected", (inc.affected_services || []).join(", ") || "—");
    if (inc.related_incident_id) {
      const r = inc.related_incident;
      const dd = kv(det, "part of", [incidentLink(inc.related_incident_id, inc.related_incident_number || inc.related_incident_id),
                                     r ? " (origin: " + r.service + ", " + r.status + ", " + r.severity + ")" : " (origin)"]);
      dd.id = "d-related";
    }
    if (inc.resolution_time_ms) kv(det, "resolved", timeNode(inc.resolution_time_ms, "event", true));

    const linked = inc.linked_incidents || [];
    $("d-linked-box").hidden = linked.length === 0;
    $("d-linked-count").textContent = linked.length ? "(" + linked.length + ")" : "";
    const ll = clear($("d-linked"));
    linked.forEach((c) => ll.appendChild(cascadeRow(c)));

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

    renderActions(id, inc.actions);

    const em = clear($("d-emails"));
    (inc.emails || []).forEach((e) => {
      const to = Array.isArray(e.recipients) ? e.recipients.length : 0;
      const li = node("li", e.notification_type + " · " + e.status + " · " + e.subject + " · to " + to + " recipient" + (to === 1 ? "" : "s"));
      if (e.sent_at_ms) { li.appendChild(document.createTextNode(" · sent ")); li.appendChild(timeNode(e.sent_at_ms, "wall", true)); }
      em.appendChild(li);
    });
    if (!em.firstChild) em.appendChild(node("li", "none yet", "muted"));

    // Slack, Teams, PagerDuty and webhook deliveries (the notifications rows), as text only.
    const nt = clear($("d-notifications"));
    (inc.notifications || []).forEach((n) => {
      let line = n.channel + " · " + n.stage + " · " + n.status + " · " + n.attempts + " attempt" + (n.attempts === 1 ? "" : "s");
      if (n.in_doubt_resends) line += " · " + n.in_doubt_resends + " in-doubt resend" + (n.in_doubt_resends === 1 ? "" : "s");
      if (n.last_error) line += " · " + n.last_error;
      const li = node("li", line, n.status === "FAILED" ? "failed" : "");
      if (n.sent_at_ms) { li.appendChild(document.createTextNode(" · sent ")); li.appendChild(timeNode(n.sent_at_ms, "wall", true)); }
      nt.appendChild(li);
    });
    if (!nt.firstChild) nt.appendChild(node("li", "none (no channel configured, or none routed)", "muted"));

    const t = clear($("timeline"));
    (tl.events || []).forEach((ev) => {
      const li = node("li");
      li.dataset.eventType = ev.event_type;
      li.appendChild(timeNode(ev.event_time_ms, "event"));
      li.appendChild(node("strong", ev.agent));
      li.appendChild(node("span", " " + ev.event_type, "etype"));
      if (ev.summary) li.appendChild(node("span", " — " + ev.summary, "summary"));
      if (ev.created_at_ms) li.title = "recorded " + fmtTime(ev.created_at_ms) + " UTC (wall clock)";
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
  function activityChart(stats) {
    const act = stats.incident_activity;
    if (!act) {  // an sre-api from before incident_activity
      $("chart-count-title").textContent = "Incidents per day";
      return stats.per_day.slice(-10).map((d) => ({ label: new Date(d.day_ms).toISOString().slice(5, 10), value: d.count }));
    }
    const hourly = act.bucket === "hour";
    const n = act.buckets.length;
    $("chart-count-title").textContent = hourly ? "Incidents per hour — last " + n + " h" : "Incidents per day — last " + n + " days";
    $("chart-count-note").textContent = "by detection time (event time), UTC" +
      (act.earlier ? "; " + act.earlier + " earlier incident" + (act.earlier === 1 ? "" : "s") + " not shown" : "");
    return act.buckets.map((b) => {
      const iso = new Date(b.start_ms).toISOString();
      return { label: hourly ? iso.slice(11, 13) : iso.slice(5, 10),
               title: (hourly ? iso.slice(0, 16).replace("T", " ") : iso.slice(0, 10)) + " UTC", value: b.count };
    });
  }
  async function loadStats() {
    const [stats, recent] = await Promise.all([api("/api/stats"), api("/api/incidents?limit=20")]);
    $("open-count").textContent = stats.open + " open / " + stats.total + " total";
    clear($("chart-count")).appendChild(window.Charts.bars(activityChart(stats)));
    const mttr = recent.incidents.filter((i) => typeof i.mttr_seconds === "number").reverse()
      .map((i) => ({ label: i.incident_number.slice(4, 8), title: i.incident_number, value: i.mttr_seconds }));
    clear($("chart-mttr")).appendChild(window.Charts.bars(mttr, "mttr"));
    const summary = clear($("stats-summary"));
    summary.appendChild(node("div", "MTTR mean " + fmtNum(stats.mttr_seconds.mean, 0) + " s, p90 " +
      fmtNum(stats.mttr_seconds.p90, 0) + " s over " + stats.mttr_seconds.count + " resolved (event time)"));
    const d = stats.pipeline_delay_seconds;
    if (d) {
      const skipped = d.skipped_event_time_ahead || 0;
      const line = node("div", d.count
        ? "Pipeline delay mean " + fmtNum(d.mean, 1) + " s, p90 " + fmtNum(d.p90, 1) + " s over " + d.count + " incidents"
        : "Pipeline delay: no incident to measure", "delay");
      if (skipped) line.appendChild(document.createTextNode("; " + skipped + " skipped (event time ahead of the wall clock)"));
      line.id = "pipeline-delay";
      line.title = "Wall-clock time from the triggering sample's timestamp (event time) to the incident being recorded " +
        "(wall clock). Meaningful only when the telemetry's timestamps are wall-clock times; incidents whose event " +
        "time is ahead of the wall clock (accelerated simulator, replays, clock skew) are left out.";
      summary.appendChild(line);
    }
  }

  // ---- live events: the recent agent events on load, then the stream ----
  // One list, newest first, without duplicates: a stream message and the agent event recorded
  // with it share the key "<incident id>|<topic>"; other agent events are keyed by their row id.
  const live = { items: [], keys: new Set() };
  const kMaxLive = 50;
  function renderEvents() {
    const log = clear($("event-log"));
    live.items.forEach((it) => {
      const li = node("li");
      li.dataset.key = it.key;
      li.dataset.eventType = it.event_type || "";
      li.dataset.source = it.source;
      li.appendChild(timeNode(it.ms, "event"));
      li.appendChild(incidentLink(it.incident_id, it.incident_number));
      li.appendChild(node("span", " " + (it.event_type || it.topic), "etype"));
      if (it.text) li.appendChild(node("span", " — " + it.text, "summary"));
      if (it.recorded_ms) li.title = "recorded " + fmtTime(it.recorded_ms) + " UTC (wall clock)";
      log.appendChild(li);
    });
    if (!live.items.length) log.appendChild(node("li", "no events recorded yet", "muted empty"));
  }
  function addEvents(items, atTop) {
    const fresh = items.filter((it) => !live.keys.has(it.key));
    if (!fresh.length) return;
    fresh.forEach((it) => live.keys.add(it.key));
    live.items = atTop ? fresh.concat(live.items) : live.items.concat(fresh);
    live.items = live.items.slice(0, kMaxLive);
    if (live.keys.size > 20 * kMaxLive) live.keys = new Set(live.items.map((it) => it.key));
    renderEvents();
  }
  async function loadRecentEvents() {
    const data = await api("/api/events?limit=20");
    addEvents(data.events.map((e) => ({
      key: e.topic ? e.incident_id + "|" + e.topic : "#" + e.id, source: "recorded", incident_id: e.incident_id,
      incident_number: e.incident_number, event_type: e.event_type, topic: e.topic, text: e.summary,
      ms: e.event_time_ms, recorded_ms: e.created_at_ms })), false);
    if (!live.items.length) renderEvents();
  }
  const TOPICS = ["anomalies.detected", "incidents.opened", "rca.completed", "remediation.plans",
                  "incidents.resolved", "postmortems.generated"];
  function connect() {
    const url = "/api/stream" + (state.token ? "?access_token=" + encodeURIComponent(state.token) : "");
    const es = new EventSource(url);
    es.onopen = () => {
      $("conn-status").textContent = "live"; $("conn-status").className = "conn conn-up";
      // What was recorded before (or while) the stream was down; duplicates are dropped.
      loadRecentEvents().catch(console.warn);
    };
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
      addEvents([{ key: d.incident_id + "|" + topic, source: "stream", incident_id: d.incident_id,
                   incident_number: d.incident_number, event_type: d.event_type, topic, text: d.text, ms: d.timestamp }], true);
      scheduleRefresh();
      if (topic === "incidents.resolved" || topic === "incidents.opened") loadStats().catch(console.warn);
    }));
    es.addEventListener("resync", () => { scheduleRefresh(); loadStats().catch(console.warn); loadRecentEvents().catch(console.warn); });
  }

  function openFromHash() {
    const id = incidentFromHash(location.hash);
    if (id && id !== state.selected) select(id);
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
    window.addEventListener("hashchange", openFromHash);
    connect();
    loadRecentEvents().catch(console.warn);
    loadIncidents(false).catch(console.warn);
    loadServices().catch(console.warn);
    loadStats().catch(console.warn);
    setInterval(() => loadServices().catch(console.warn), 5000);
    setInterval(() => loadStats().catch(console.warn), 15000);
    openFromHash();
  }
  window.SreDashboard = { incidentFromHash };
  document.addEventListener("DOMContentLoaded", start);
})();
