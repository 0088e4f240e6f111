// Inline SVG charts (no library): sparklines for the service tiles and simple bar charts.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  function svg(w, h) {
    const s = document.createElementNS(NS, "svg");
    s.setAttribute("viewBox", "0 0 " + w + " " + h);
    s.setAttribute("preserveAspectRatio", "none");
    return s;
  }
  function el(name, attrs) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function sparkline(values) {
    const w = 100, h = 28, s = svg(w, h);
    if (!values || values.length < 2) return s;
    const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
    const pts = values.map((v, i) => (i * w / (values.length - 1)).toFixed(1) + "," + (h - 2 - (v - lo) / span * (h - 4)).toFixed(1));
    s.appendChild(el("polyline", { points: pts.join(" "), class: "spark" }));
    return s;
  }
  // The widest a bar gets (viewBox units of the 300-wide chart): one or two bars stay bars.
  const kMaxBarWidth = 24;
  // bars: [{label, value, title?}], oldest first. Each item gets an equal slot; the bar is centred
  // in it, at most kMaxBarWidth wide. At most about 8 labels are drawn.
  function bars(items, cls) {
    const w = 300, h = 110, pad = 16, s = svg(w, h);
    if (!items.length) {
      const t = el("text", { x: 8, y: 20, class: "axis" }); t.textContent = "no data yet"; s.appendChild(t); return s;
    }
    const max = Math.max(...items.map((d) => d.value), 1);
    const slot = (w - pad) / items.length;
    const bw = Math.max(1, Math.min(slot - 2, kMaxBarWidth));
    const every = Math.ceil(items.length / 8);
    items.forEach((d, i) => {
      const bh = (h - pad - 10) * d.value / max;
      const x = pad + i * slot + (slot - bw) / 2;
      const r = el("rect", { x: x.toFixed(2), y: h - pad - bh, width: bw.toFixed(2), height: bh, class: "bar " + (cls || "") });
      const title = document.createElementNS(NS, "title"); title.textContent = (d.title || d.label) + ": " + d.value.toFixed(0);
      r.appendChild(title); s.appendChild(r);
      if (i % every === 0) {
        const t = el("text", { x: (pad + i * slot + slot / 2).toFixed(2), y: h - 4, class: "axis", "text-anchor": "middle" });
        t.textContent = d.label; s.appendChild(t);
      }
    });
    const t = el("text", { x: 2, y: 10, class: "axis" }); t.textContent = max.toFixed(0); s.appendChild(t);
    return s;
  }
  window.Charts = { sparkline, bars };
})();
