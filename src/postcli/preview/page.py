"""The preview page: its HTML shell, style and script, shipped as Python strings.

The page holds no data of its own: it opens `/events`, and every state the server pushes
redraws the inbox rows, sizes, findings and error banner, and (when the build changed) rewrites
each email frame in place, keeping its scroll position. Everything from the issue reaches the
page's own DOM through textContent, never as markup; only the email frames get HTML.
"""

from __future__ import annotations

from html import escape


def page_html(issue_id: str) -> str:
    return SHELL.replace("{{title}}", escape(f"Preview · {issue_id}"))


SHELL = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/preview.css">
</head>
<body data-view="desktop" data-theme="light" data-mode="html">
<header class="topbar">
  <div class="brand"><span class="logo">p</span><span>postcli <b>preview</b></span></div>
  <div class="issue">
    <div class="issue-title" id="issue-title">Loading…</div>
    <div class="issue-meta" id="issue-meta"></div>
  </div>
  <nav class="controls" aria-label="Preview options">
    <div class="seg" role="group" aria-label="Width">
      <button type="button" data-set="view" data-value="desktop">Desktop</button>
      <button type="button" data-set="view" data-value="mobile">Mobile</button>
    </div>
    <div class="seg" role="group" aria-label="Colour scheme">
      <button type="button" data-set="theme" data-value="light">Light</button>
      <button type="button" data-set="theme" data-value="dark">Dark</button>
    </div>
    <div class="seg" role="group" aria-label="Part">
      <button type="button" data-set="mode" data-value="html">HTML</button>
      <button type="button" data-set="mode" data-value="text">Plain text</button>
    </div>
  </nav>
  <div class="status" id="status" data-state="connecting" role="status">
    <span class="dot"></span><span id="status-text">Connecting…</span>
  </div>
</header>
<div class="error" id="error" role="alert" hidden>
  <div class="error-head"><strong>Build failed</strong><code id="error-location"></code></div>
  <pre id="error-message"></pre>
  <div class="error-hint" id="error-hint"></div>
  <div class="error-note" id="error-note"></div>
</div>
<main class="panes" id="panes"></main>
<template id="pane-template">
  <section class="pane">
    <div class="pane-head">
      <div class="pane-row">
        <span class="badge"></span>
        <span class="variant-note"></span>
        <span class="size" title="HTML size; Gmail clips messages over 102 kB (102,000 bytes)">
          <span class="meter"><i></i></span><span class="size-text"></span>
        </span>
      </div>
      <div class="inbox" title="The inbox row, as a reader sees it">
        <div class="avatar"></div>
        <div class="inbox-lines">
          <div class="inbox-top"><span class="from"></span><span class="when"></span></div>
          <div class="subject"></div>
          <div class="preheader"></div>
        </div>
      </div>
      <details class="findings" hidden>
        <summary></summary>
        <ul></ul>
      </details>
    </div>
    <div class="stage">
      <div class="device">
        <iframe sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"></iframe>
      </div>
      <pre class="plain"></pre>
    </div>
  </section>
</template>
<script src="/preview.js"></script>
</body>
</html>
"""

CSS = """\
:root {
  --bg: #eef1f5; --panel: #ffffff; --line: #e2e8f0; --ink: #0f172a; --muted: #64748b;
  --accent: #4f46e5; --ok: #16a34a; --warn: #d97706; --bad: #dc2626;
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans KR", "Noto Sans CJK KR",
    Roboto, Helvetica, Arial, sans-serif;
  font-size: 14px; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; overflow: hidden; }
button { font: inherit; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Noto Sans Mono CJK KR",
  monospace; }

.topbar { display: flex; align-items: center; gap: 20px; padding: 10px 20px;
  background: var(--panel); border-bottom: 1px solid var(--line); flex: none; }
.brand { display: flex; align-items: center; gap: 8px; font-weight: 500; color: var(--muted);
  white-space: nowrap; }
.brand b { color: var(--ink); font-weight: 650; }
.logo { display: inline-grid; place-items: center; width: 26px; height: 26px; border-radius: 7px;
  background: var(--accent); color: #fff; font-weight: 800; font-size: 15px; }
.issue { min-width: 0; flex: 1; }
.issue-title { font-weight: 650; font-size: 15px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.issue-meta { color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.controls { display: flex; gap: 10px; flex: none; }
.seg { display: inline-flex; background: #f1f5f9; border: 1px solid var(--line); border-radius: 8px;
  padding: 2px; }
.seg button { border: 0; background: transparent; color: var(--muted); padding: 5px 12px;
  border-radius: 6px; cursor: pointer; font-weight: 550; }
.seg button:hover { color: var(--ink); }
.seg button[aria-pressed="true"] { background: var(--panel); color: var(--ink);
  box-shadow: 0 1px 2px rgb(15 23 42 / 0.12), 0 0 0 1px rgb(15 23 42 / 0.04); }
.seg button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
.status { display: flex; align-items: center; gap: 7px; color: var(--muted); font-size: 12px;
  white-space: nowrap; width: 220px; justify-content: flex-end; }
.status .dot { width: 8px; height: 8px; border-radius: 50%; background: #94a3b8; }
.status[data-state="live"] .dot { background: var(--ok);
  box-shadow: 0 0 0 3px rgb(22 163 74 / 0.15); }
.status[data-state="error"] .dot { background: var(--bad);
  box-shadow: 0 0 0 3px rgb(220 38 38 / 0.15); }
.status[data-state="error"] { color: var(--bad); }

.error { margin: 12px 16px 0; padding: 12px 16px; border: 1px solid #fecaca;
  border-left: 4px solid var(--bad); background: #fef2f2; border-radius: 8px; color: #7f1d1d;
  flex: none; }
.error[hidden] { display: none; }
.error-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.error-head code { background: #fee2e2; padding: 1px 6px; border-radius: 4px; font-size: 13px; }
.error pre { margin: 6px 0 0; white-space: pre-wrap; font-size: 13px; color: #450a0a; }
.error-hint { margin-top: 4px; font-size: 13px; }
.error-hint:empty { display: none; }
.error-note { margin-top: 6px; font-size: 12px; color: #991b1b; }

.panes { flex: 1; min-height: 0; display: grid; gap: 16px; padding: 16px;
  grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); overflow: auto; }
.pane { display: flex; flex-direction: column; min-height: 0; min-width: 0;
  background: var(--panel); border: 1px solid var(--line); border-radius: 12px; overflow: hidden;
  box-shadow: 0 1px 2px rgb(15 23 42 / 0.05); }
.pane-head { padding: 12px 14px 10px; border-bottom: 1px solid var(--line); flex: none; }
.pane-row { display: flex; align-items: center; gap: 10px; }
.badge { font-size: 11px; font-weight: 700; letter-spacing: 0.04em; text-transform: uppercase;
  padding: 3px 8px; border-radius: 999px; background: #e2e8f0; color: #334155; }
.pane[data-variant="free"] .badge { background: #ccfbf1; color: #0f766e; }
.pane[data-variant="premium"] .badge { background: #e0e7ff; color: #3730a3; }
.variant-note { color: var(--muted); font-size: 12px; flex: 1; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.size { display: inline-flex; align-items: center; gap: 8px; font-size: 12px; color: var(--muted);
  white-space: nowrap; font-variant-numeric: tabular-nums; }
.meter { position: relative; width: 90px; height: 6px; border-radius: 3px; background: #e2e8f0;
  overflow: hidden; }
.meter i { position: absolute; inset: 0 auto 0 0; background: var(--ok); border-radius: 3px; }
.size[data-level="warn"] .meter i { background: var(--warn); }
.size[data-level="bad"] .meter i { background: var(--bad); }
.size[data-level="bad"] { color: var(--bad); font-weight: 600; }

.inbox { display: flex; gap: 12px; align-items: flex-start; margin-top: 10px; padding: 10px 12px;
  border: 1px solid var(--line); border-radius: 10px; background: #f8fafc; }
.avatar { flex: none; width: 36px; height: 36px; border-radius: 50%; display: grid;
  place-items: center; background: var(--accent); color: #fff; font-weight: 700; font-size: 15px; }
.inbox-lines { min-width: 0; flex: 1; line-height: 1.45; }
.inbox-top { display: flex; justify-content: space-between; gap: 8px; }
.from { font-weight: 650; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.when { color: var(--muted); font-size: 12px; white-space: nowrap; }
.subject { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.preheader { color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.preheader.missing { font-style: italic; color: var(--warn); }

.findings { margin-top: 8px; font-size: 13px; }
.findings[hidden] { display: none; }
.findings summary { cursor: pointer; color: var(--muted); font-weight: 550; }
.findings[data-level="ok"] summary { color: var(--ok); cursor: default; list-style: none; }
.findings[data-level="warning"] summary { color: var(--warn); }
.findings[data-level="error"] summary { color: var(--bad); }
.findings ul { margin: 6px 0 0; padding: 0; list-style: none; max-height: 120px; overflow: auto; }
.findings li { display: flex; gap: 8px; align-items: baseline; padding: 3px 0; }
.findings .lvl { flex: none; font-size: 10px; font-weight: 700; text-transform: uppercase;
  padding: 1px 6px; border-radius: 4px; background: #fef3c7; color: #92400e; }
.findings li[data-level="error"] .lvl { background: #fee2e2; color: #991b1b; }
.findings .where { color: var(--muted); font-size: 12px; }

.stage { flex: 1; min-height: 0; position: relative; display: flex; justify-content: center;
  overflow: hidden; background: #e9edf2; }
.device { width: 100%; height: 100%; display: flex; }
.device iframe { flex: 1; width: 100%; height: 100%; border: 0; background: #fff; display: block; }
body[data-view="mobile"] .stage { padding: 18px 0; background: #e2e6ec; }
body[data-view="mobile"] .device { flex: none; width: 395px; padding: 10px; border-radius: 34px;
  background: #0f172a; box-shadow: 0 10px 30px rgb(15 23 42 / 0.25); }
body[data-view="mobile"] .device iframe { width: 375px; flex: none; border-radius: 24px; }
body[data-theme="dark"] .stage { background: #0b1120; }
body[data-theme="dark"] .device iframe { background: #111827; color-scheme: dark; }
body[data-theme="dark"][data-view="mobile"] .device { background: #334155; }
.plain { display: none; margin: 0; width: 100%; max-width: 640px; overflow: auto;
  padding: 22px 24px; background: #fff; font-size: 13px; line-height: 1.6; white-space: pre-wrap;
  word-break: keep-all; overflow-wrap: anywhere; border-left: 1px solid var(--line);
  border-right: 1px solid var(--line); }
body[data-view="mobile"] .plain { max-width: 375px; border-radius: 16px;
  border: 1px solid var(--line); }
body[data-theme="dark"] .plain { background: #111827; color: #e5e7eb; border-color: #1f2937; }
body[data-mode="text"] .device { display: none; }
body[data-mode="text"] .plain { display: block; }
.empty { grid-column: 1 / -1; align-self: center; justify-self: center; color: var(--muted);
  font-size: 15px; }

@media (max-width: 1180px) {
  .controls { flex-wrap: wrap; }
  .panes { grid-template-columns: 1fr; }
  .pane { min-height: 85vh; }
}
@media (max-width: 760px) {
  .topbar { flex-wrap: wrap; gap: 10px; }
  .controls { flex: 1 1 100%; flex-wrap: wrap; order: 3; }
  .seg button { padding: 5px 9px; }
  .status { min-width: 0; }
  .panes { padding: 10px; }
  .pane { min-height: 90vh; }
  body[data-view="desktop"] .device iframe { min-width: 0; }
}
"""

JS = r"""
"use strict";
(() => {
  const $ = (selector, root = document) => root.querySelector(selector);
  const settings = { view: "desktop", theme: "light", mode: "html" };
  const panes = new Map(); // variant name -> {root, frame, plain, darkCss}
  let appliedBuild = -1;
  let shownLayout = "";

  try {
    Object.assign(settings, JSON.parse(localStorage.getItem("postcli-preview") || "{}"));
  } catch (_) { /* private mode: defaults */ }

  function applySettings() {
    for (const [key, value] of Object.entries(settings)) {
      document.body.dataset[key] = value;
      for (const button of document.querySelectorAll(`button[data-set="${key}"]`)) {
        button.setAttribute("aria-pressed", String(button.dataset.value === value));
      }
    }
    for (const pane of panes.values()) decorate(pane);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-set]");
    if (!button) return;
    settings[button.dataset.set] = button.dataset.value;
    try { localStorage.setItem("postcli-preview", JSON.stringify(settings)); } catch (_) {}
    applySettings();
  });

  // --- the frames -----------------------------------------------------------------------------

  // The email's own dark-mode rules, taken out of their @media (prefers-color-scheme: dark)
  // blocks: what a client that honours them (Apple Mail, iOS) shows in dark mode.
  function darkRules(doc) {
    let css = "";
    for (const sheet of doc.styleSheets) {
      let rules;
      try { rules = sheet.cssRules; } catch (_) { continue; }
      for (const rule of rules) {
        const media = rule.media ? rule.media.mediaText : "";
        if (/prefers-color-scheme\s*:\s*dark/i.test(media)) {
          for (const inner of rule.cssRules) css += inner.cssText + "\n";
        }
      }
    }
    return css;
  }

  function decorate(pane) {
    const doc = pane.frame.contentDocument;
    if (!doc || !doc.head) return;
    let style = doc.getElementById("postcli-preview-style");
    if (!style) {
      const base = doc.createElement("base");
      base.target = "_blank";
      doc.head.prepend(base);
      style = doc.createElement("style");
      style.id = "postcli-preview-style";
      doc.head.append(style);
    }
    let css = "";
    // Phones draw scrollbars over the page: give the email the full 375 px.
    if (settings.view === "mobile") css += "html { scrollbar-width: none; }\n";
    if (settings.theme === "dark") css += ":root { color-scheme: dark; }\n" + pane.darkCss;
    style.textContent = css;
  }

  function writeFrame(pane, html) {
    const win = pane.frame.contentWindow;
    const doc = pane.frame.contentDocument;
    const x = win.scrollX, y = win.scrollY;
    doc.open();
    doc.write(html);
    doc.close();
    pane.darkCss = darkRules(doc);
    decorate(pane);
    keepScroll(win, doc, x, y);
  }

  // Put the reader back where they were; images load after the text, so try again as each
  // one arrives, until the reader scrolls by themselves.
  function keepScroll(win, doc, x, y) {
    if (!x && !y) return;
    let keep = true;
    const restore = () => { if (keep) win.scrollTo(x, y); };
    const stop = () => { keep = false; };
    restore();
    for (const type of ["wheel", "touchstart", "keydown", "mousedown"]) {
      doc.addEventListener(type, stop, { once: true, passive: true });
    }
    for (const img of doc.images) if (!img.complete) img.addEventListener("load", restore);
    win.addEventListener("load", restore, { once: true });
    setTimeout(stop, 4000);
  }

  function writeText(pane, text) {
    const top = pane.plain.scrollTop;
    pane.plain.textContent = text;
    pane.plain.scrollTop = top;
  }

  // --- the panes ------------------------------------------------------------------------------

  function ensurePanes(variants) {
    const names = variants.map((v) => v.name);
    const layout = names.join() || "(empty)";
    if (layout === shownLayout) return;
    shownLayout = layout;
    const host = $("#panes");
    host.replaceChildren();
    panes.clear();
    if (!names.length) {
      const empty = document.createElement("div");
      empty.className = "empty";
      empty.textContent = "Nothing built yet: fix the error above and save.";
      host.append(empty);
      return;
    }
    for (const name of names) {
      const root = $("#pane-template").content.firstElementChild.cloneNode(true);
      root.dataset.variant = name;
      const frame = $("iframe", root);
      frame.title = `${name} email`;
      frame.name = `email-${name}`;
      host.append(root);
      panes.set(name, { root, frame, plain: $(".plain", root), darkCss: "" });
    }
    appliedBuild = -1;
  }

  const kB = (bytes) => (bytes % 1000 ? (bytes / 1000).toFixed(1) : bytes / 1000) + " kB";

  function fillPane(pane, variant, state) {
    const root = pane.root;
    $(".badge", root).textContent = variant.label;
    $(".variant-note", root).textContent = variant.cut
      ? "premium parts cut; ends with the upgrade block"
      : variant.name === "free" ? "nothing premium to cut" : "the whole issue";

    const size = $(".size", root);
    const share = variant.html_bytes / state.clip_bytes;
    size.dataset.level = share >= 1 ? "bad" : share >= 0.75 ? "warn" : "ok";
    $(".meter i", root).style.width = Math.min(share, 1) * 100 + "%";
    $(".size-text", root).textContent =
      `${kB(variant.html_bytes)} of ${kB(state.clip_bytes)}` + (share >= 1 ? " · clipped" : "");

    const from = state.from.name || state.from.address || state.newsletter || "";
    $(".avatar", root).textContent = (from.trim()[0] || "?").toUpperCase();
    $(".from", root).textContent = from;
    $(".from", root).title = state.from.address || "";
    $(".when", root).textContent = formatWhen(state.issue.send_at);
    $(".subject", root).textContent = variant.subject;
    const pre = $(".preheader", root);
    pre.textContent = variant.preheader || "No preheader: inboxes show the start of the email";
    pre.classList.toggle("missing", !variant.preheader);

    fillFindings(root, variant.findings, state);
  }

  function fillFindings(root, findings, state) {
    const box = $(".findings", root);
    const list = $("ul", box);
    if (state.checks === "unavailable" || state.checks === "off") { box.hidden = true; return; }
    box.hidden = false;
    list.replaceChildren();
    const summary = $("summary", box);
    if (state.checks === "pending" || findings === null) {
      box.dataset.level = "pending";
      summary.textContent = "Checking…";
      return;
    }
    if (state.checks === "failed") {
      box.dataset.level = "error";
      summary.textContent = "Checks could not run: " + (state.checks_error || "unknown error");
      return;
    }
    const errors = findings.filter((f) => f.level === "error").length;
    const warnings = findings.length - errors;
    if (!findings.length) {
      box.dataset.level = "ok";
      box.open = false;
      summary.textContent = "✓ postcli check: no findings";
      return;
    }
    box.dataset.level = errors ? "error" : "warning";
    const parts = [];
    if (errors) parts.push(`${errors} error${errors > 1 ? "s" : ""}`);
    if (warnings) parts.push(`${warnings} warning${warnings > 1 ? "s" : ""}`);
    summary.textContent = "postcli check: " + parts.join(" · ");
    for (const finding of findings) {
      const item = document.createElement("li");
      item.dataset.level = finding.level;
      const level = document.createElement("span");
      level.className = "lvl";
      level.textContent = finding.level;
      const text = document.createElement("span");
      text.textContent = finding.message;
      item.append(level, text);
      if (finding.path) {
        const where = document.createElement("span");
        where.className = "where";
        where.textContent = finding.line ? `${finding.path}:${finding.line}` : finding.path;
        item.append(where);
      }
      list.append(item);
    }
  }

  function formatWhen(sendAt) {
    if (!sendAt) return "not scheduled";
    const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}:\d{2})/.exec(sendAt);
    if (!match) return sendAt;
    const months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");
    return `${months[Number(match[2]) - 1]} ${Number(match[3])}, ${match[4]}`;
  }

  // --- the state ------------------------------------------------------------------------------

  function setStatus(kind, text) {
    const status = $("#status");
    status.dataset.state = kind;
    $("#status-text").textContent = text;
  }

  function apply(state) {
    const issue = state.issue;
    $("#issue-title").textContent = issue.title || issue.id;
    const meta = [issue.path];
    if (issue.audience && issue.audience !== "all") meta.push(`audience: ${issue.audience}`);
    if (state.newsletter) meta.push(state.newsletter);
    $("#issue-meta").textContent = meta.filter(Boolean).join(" · ");
    document.title = `Preview · ${issue.title || issue.id}`;

    const error = state.error;
    $("#error").hidden = !error;
    if (error) {
      $("#error-location").textContent = error.location || "";
      $("#error-location").hidden = !error.location;
      $("#error-message").textContent = error.message;
      $("#error-hint").textContent = error.hint ? "Hint: " + error.hint : "";
      $("#error-note").textContent = state.variants.length
        ? "The panes below show the last good build. Fix the file and save: " +
          "the preview recovers by itself."
        : "Nothing could be built yet. Fix the file and save: the preview recovers by itself.";
      setStatus("error", "Build failed");
    } else {
      const time = new Date(state.built_at).toLocaleTimeString([], { hour12: false });
      setStatus("live", `Live · built ${time} in ${Math.round(state.build_ms)} ms`);
    }

    ensurePanes(state.variants);
    const build = `${state.session}:${state.build}`;
    const rewrite = state.ok && build !== appliedBuild;
    for (const variant of state.variants) {
      const pane = panes.get(variant.name);
      fillPane(pane, variant, state);
      if (rewrite || appliedBuild === -1) {
        writeFrame(pane, variant.html);
        writeText(pane, variant.text);
      }
    }
    if (rewrite || appliedBuild === -1) appliedBuild = build;
    const seen = { build: state.build, seq: state.seq, ok: state.ok };
    const painted = rewrite;
    // Two frames later the change is on screen: what tests and the latency benchmark read.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const at = Date.now();
      window.postcliApplied = { ...seen, at };
      if (painted) (window.postcliPainted = window.postcliPainted || {})[seen.build] = at;
      document.documentElement.dataset.build = String(seen.build);
    }));
  }

  function connect() {
    const events = new EventSource("/events");
    events.addEventListener("state", (event) => apply(JSON.parse(event.data)));
    events.addEventListener("error", () => {
      setStatus("connecting", "Reconnecting…");
    });
  }

  applySettings();
  connect();
})();
"""
