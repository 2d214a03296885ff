
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
    if (state.checks === "off") { box.hidden = true; return; }
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
    $("#draft-badge").hidden = !issue.draft;
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

    $("#clients").hidden = !state.clients;
    $("#clients-table").textContent = state.clients || "";

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
