// treemill tree viewer: renders the JSON embedded in each page (no network, no libraries).
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(x) {
    if (x === null || x === undefined) return "\u2013";
    return Number.isInteger(x) ? String(x) : x.toFixed(3);
  }

  // ------------------------------------------------------------------ index of problems
  const COLUMNS = [
    ["problem_id", "problem", "text"], ["solved", "solved?", "bool"], ["nodes", "nodes", "num"],
    ["leaves", "leaves", "num"], ["correct", "correct leaves", "num"], ["tokens", "tokens", "num"],
    ["best_q", "best Q", "num"], ["question", "question", "text"],
  ];

  function renderIndex(d) {
    const main = document.getElementById("index");
    const solved = d.problems.filter((p) => p.solved).length;
    const nodes = d.problems.reduce((sum, p) => sum + p.nodes, 0);
    main.appendChild(el("p", "meta", `${d.problems.length} problems, ${solved} solved by some leaf, ` +
      `${nodes} nodes. Shards: ${d.shards}${d.labels ? "; labels: " + d.labels : ""}. Click a column to sort.`));
    const table = el("table", "problems");
    const head = el("tr");
    COLUMNS.forEach(([key, label, type]) => {
      const th = el("th", null, label);
      th.dataset.key = key;
      th.dataset.type = type;
      th.tabIndex = 0;
      th.addEventListener("click", () => sortBy(table, key, type, th));
      th.addEventListener("keydown", (e) => { if (e.key === "Enter") sortBy(table, key, type, th); });
      head.appendChild(th);
    });
    table.appendChild(el("thead")).appendChild(head);
    const body = table.appendChild(el("tbody"));
    d.problems.forEach((p) => {
      const tr = el("tr", p.solved ? "solved" : "unsolved");
      tr._row = p;
      COLUMNS.forEach(([key]) => {
        const td = el("td", "col-" + key);
        if (key === "problem_id") {
          const a = el("a", null, p.problem_id);
          a.href = p.page;
          td.appendChild(a);
        } else if (key === "solved") {
          td.textContent = p.solved ? "\u2713 yes" : "\u2717 no";
        } else if (key === "question") {
          td.textContent = p.question.length > 140 ? p.question.slice(0, 140) + "\u2026" : p.question;
          td.title = p.question;
        } else {
          td.textContent = fmt(p[key]);
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    main.appendChild(table);
  }

  function sortBy(table, key, type, th) {
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const value = (row) => {
      const v = row._row[key];
      if (type === "text") return String(v || "").toLowerCase();
      if (v === null || v === undefined) return -Infinity;
      return type === "bool" ? (v ? 1 : 0) : v;
    };
    rows.sort((a, b) => {
      const x = value(a), y = value(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach((row) => body.appendChild(row));
  }

  // ------------------------------------------------------------------------- one tree
  function renderTree(d) {
    document.getElementById("title").textContent = d.problem_id;
    const main = document.getElementById("tree");
    const nodes = d.nodes;
    const children = nodes.map(() => []);
    const roots = [];
    nodes.forEach((n, i) => (n.p === null || n.p === undefined ? roots.push(i) : children[n.p].push(i)));
    const leaves = nodes.filter((n) => n.term);
    const correct = leaves.filter((n) => n.verdict === true).length;

    const question = main.appendChild(el("section", "question"));
    question.appendChild(el("h2", null, "Question"));
    question.appendChild(el("p", null, d.question || "(no problems row)"));
    question.appendChild(el("p", "gold", "Gold answer: " + (d.gold === null ? "\u2013" : d.gold)));

    const bar = main.appendChild(el("section", "toolbar"));
    const count = el("span", null, String(nodes.length));
    count.id = "node-count";
    const stats = bar.appendChild(el("span", "stats"));
    stats.append(count, ` nodes, ${leaves.length} leaves, ${correct} correct`);
    const button = (label, id, action) => {
      const b = bar.appendChild(el("button", null, label));
      b.id = id;
      b.addEventListener("click", action);
    };
    button("Expand all", "expand-all", () => nodes.forEach((_, i) => expand(i)));
    button("Collapse all", "collapse-all", () => roots.forEach((r) => children[r].forEach((i) => collapse(i))));
    button("Show correct paths", "show-correct", () => nodes.forEach((n, i) => n.ok && expand(i)));
    const legend = main.appendChild(el("p", "legend"));
    legend.innerHTML = '<span class="swatch correct"></span> correct answer <span class="swatch wrong"></span> wrong ' +
      '<span class="swatch undecided"></span> undecided <span class="swatch ok-path"></span> on the path to a correct answer' +
      (d.labels ? ' <span class="pair chosen">chosen</span> <span class="pair rejected">rejected</span> pair side' : "");

    const items = new Array(nodes.length);
    const list = main.appendChild(el("ul", "tree-root"));
    roots.forEach((i) => list.appendChild(item(i)));

    function badge(label, value, cls) {
      return el("span", "badge " + (cls || ""), label + " " + fmt(value));
    }

    function item(i) {
      const n = nodes[i];
      const li = el("li", "node");
      li.dataset.index = i;
      li.dataset.path = n.path;
      if (n.ok) li.classList.add("ok-path");
      if (n.orphan) li.classList.add("orphan");
      if (n.term) li.classList.add(n.verdict === true ? "correct" : n.verdict === false ? "wrong" : "undecided");
      const head = li.appendChild(el("div", "head"));
      const toggle = head.appendChild(el("button", "toggle", children[i].length ? "\u25b8" : "\u00b7"));
      toggle.disabled = !children[i].length;
      toggle.setAttribute("aria-expanded", "false");
      const kids = children[i].length === 1 ? "1 child" : `${children[i].length} children`;
      toggle.title = children[i].length ? kids : "leaf";
      toggle.addEventListener("click", () => (li.classList.contains("open") ? collapse(i) : expand(i)));
      head.appendChild(el("span", "path", n.path === "" ? "root" : n.path));
      if (n.term) head.appendChild(el("span", "badge verdict", n.verdict === true ? "\u2713 correct" :
        n.verdict === false ? "\u2717 wrong" : "? " + (n.method || "undecided")));
      if (n.q !== undefined) head.appendChild(badge("Q", n.q));
      if (n.lq !== undefined) head.appendChild(badge("label Q", n.lq));
      if (n.n !== undefined) head.appendChild(badge("N", n.n));
      if (n.prior !== undefined) head.appendChild(badge("prior", n.prior));
      if (n.v !== undefined) head.appendChild(badge("V", n.v));
      if (n.tok !== undefined) head.appendChild(badge("tokens", n.tok, "dim"));
      if (children[i].length) head.appendChild(el("span", "badge dim", kids));
      (n.pairs || []).forEach(([kind, side, margin]) =>
        head.appendChild(el("span", "pair " + side, `${kind} ${side} (margin ${fmt(margin)})`)));
      if (n.orphan) head.appendChild(el("span", "badge wrong-text", "parent missing"));
      if (n.text) li.appendChild(el("pre", "step", n.text));
      const finish = n.finish && n.finish !== "split" ? n.finish : undefined;  // "split": a step cut from a whole sample
      if (n.answer !== undefined || finish) {
        li.appendChild(el("div", "answer", [n.answer !== undefined ? "answer: " + n.answer : "",
          finish ? "finish: " + finish : ""].filter(Boolean).join(" \u00b7 ")));
      }
      if (n.code) {
        const details = li.appendChild(el("details", "code"));
        details.appendChild(el("summary", null, "code \u00b7 " + (n.exec || "not run")));
        details.appendChild(el("pre", "source", n.code));
        details.appendChild(el("pre", "output", n.out === undefined ? "(no output)" : n.out));
      }
      items[i] = li;
      return li;
    }

    function expand(i) {
      const li = items[i] || materialize(i);
      if (!children[i].length || li.classList.contains("open")) return;
      let ul = li.querySelector(":scope > ul");
      if (!ul) {  // children are built on first opening: big trees load fast
        ul = li.appendChild(el("ul", "children"));
        children[i].forEach((c) => ul.appendChild(item(c)));
      }
      li.classList.add("open");
      const toggle = li.querySelector(":scope > .head > .toggle");
      toggle.textContent = "\u25be";
      toggle.setAttribute("aria-expanded", "true");
    }

    function materialize(i) {  // make sure every ancestor's list exists so node i has an element
      const chain = [];
      for (let j = nodes[i].p; j !== null && j !== undefined; j = nodes[j].p) chain.unshift(j);
      chain.forEach((j) => expand(j));
      return items[i];
    }

    function collapse(i) {
      const li = items[i];
      if (!li) return;
      li.classList.remove("open");
      const toggle = li.querySelector(":scope > .head > .toggle");
      if (children[i].length) toggle.textContent = "\u25b8";
      toggle.setAttribute("aria-expanded", "false");
      children[i].forEach((c) => collapse(c));
    }

    roots.forEach((i) => expand(i));
    nodes.forEach((n, i) => n.ok && expand(i));
  }

  if (data.kind === "index") renderIndex(data); else renderTree(data);
})();
