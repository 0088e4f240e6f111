// A small, safe Markdown renderer: it builds DOM nodes and sets text only through textContent, so
// nothing in the source can become markup. Supports headings, paragraphs, bullet and numbered
// lists, pipe tables, fenced code, **bold**, *emphasis* and `code`.
"use strict";
(function () {
  function inline(parent, text) {
    const re = /(\*\*[^*]+\*\*|`[^`]+`|\*[^*\s][^*]*\*)/g;
    let last = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      const tok = m[0];
      let el;
      if (tok.startsWith("**")) { el = document.createElement("strong"); el.textContent = tok.slice(2, -2); }
      else if (tok.startsWith("`")) { el = document.createElement("code"); el.textContent = tok.slice(1, -1); }
      else { el = document.createElement("em"); el.textContent = tok.slice(1, -1); }
      parent.appendChild(el);
      last = m.index + tok.length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function cells(line) {
    return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  }
  function render(source) {
    const root = document.createElement("div");
    const lines = String(source || "").replace(/\r\n/g, "\n").split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (/^\s*$/.test(line)) { i++; continue; }
      if (/^```/.test(line)) {
        const pre = document.createElement("pre"), code = document.createElement("code");
        const body = [];
        for (i++; i < lines.length && !/^```/.test(lines[i]); i++) body.push(lines[i]);
        i++;
        code.textContent = body.join("\n");
        pre.appendChild(code); root.appendChild(pre); continue;
      }
      const h = /^(#{1,6})\s+(.*)$/.exec(line);
      if (h) { const el = document.createElement("h" + Math.min(6, h[1].length + 2)); inline(el, h[2]); root.appendChild(el); i++; continue; }
      if (/^\s*\|/.test(line)) {
        const table = document.createElement("table");
        const rows = [];
        while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(lines[i++]);
        rows.forEach((r, k) => {
          if (/^\s*\|?\s*:?-{2,}/.test(r)) return;
          const tr = document.createElement("tr");
          cells(r).forEach((c) => { const td = document.createElement(k === 0 ? "th" : "td"); inline(td, c); tr.appendChild(td); });
          table.appendChild(tr);
        });
        root.appendChild(table); continue;
      }
      const bullet = /^\s*([-*]|\d+\.)\s+/;
      if (bullet.test(line)) {
        const ordered = /^\s*\d+\./.test(line);
        const list = document.createElement(ordered ? "ol" : "ul");
        while (i < lines.length && bullet.test(lines[i])) {
          const li = document.createElement("li"); inline(li, lines[i].replace(bullet, "")); list.appendChild(li); i++;
        }
        root.appendChild(list); continue;
      }
      const para = [];
      while (i < lines.length && !/^\s*$/.test(lines[i]) && !/^(#{1,6}\s|```|\s*\||\s*([-*]|\d+\.)\s)/.test(lines[i])) para.push(lines[i++]);
      if (para.length === 0) { para.push(lines[i++]); }
      const p = document.createElement("p"); inline(p, para.join(" ")); root.appendChild(p);
    }
    return root;
  }
  window.SafeMarkdown = { render };
})();
