// The SIP OAuth inspector page: loads the checks (sipoauth.wasm), runs
// them on what is pasted, and shows the findings and the decoded input.
// Everything happens in this page: after sipoauth.wasm is loaded, nothing
// is fetched or sent.
"use strict";

(() => {
  const WASM = "sipoauth.wasm";
  const MAX_INPUT = 32 << 20; // the program's bound (wasm.MaxInput)
  const $ = (id) => document.getElementById(id);
  let seq = 0;
  let nextSample = null; // the sample the next check is of

  // ---------------------------------------------------------------- DOM

  // el builds an element; text is set with textContent, never as HTML.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.setAttribute(k, String(v));
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // dl builds a definition list from [label, value, field] rows, skipping
  // empty values.
  function dl(rows, cls) {
    const list = el("dl", { class: cls || "fields" });
    for (const [label, value, field, valueClass] of rows) {
      if (value === undefined || value === null || value === "") continue;
      list.append(el("dt", {}, label), el("dd", { "data-field": field, class: valueClass }, value));
    }
    return list;
  }

  function table(id, caption, heads, rows) {
    const t = el("table", { id, class: "data" });
    if (caption) t.append(el("caption", {}, caption));
    const tr = el("tr");
    for (const h of heads) tr.append(el("th", { scope: "col" }, h));
    t.append(el("thead", {}, tr));
    const body = el("tbody");
    for (const r of rows) body.append(r);
    t.append(body);
    return t;
  }

  function fmtTime(s) {
    if (!s) return "";
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:\d\d)?$/.exec(s);
    if (!m) return s;
    return `${m[1]} ${m[2]}${m[3] === "Z" ? " UTC" : m[3] ? " " + m[3] : ""}`;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  // checkTime is the time the checks run at: the "Check at" field, or now.
  function checkTime() {
    const v = $("check-time").value;
    if (!v) return new Date();
    const d = new Date(v);
    return isNaN(d.getTime()) ? new Date() : d;
  }

  // ------------------------------------------------------------ loading

  function setStatus(state, text) {
    const s = $("status");
    s.dataset.state = state;
    s.textContent = text;
  }

  async function load() {
    for (const b of document.querySelectorAll("button.check")) b.disabled = true;
    if (typeof Go !== "function") {
      setStatus("error", "wasm_exec.js did not load: the checks cannot run.");
      return;
    }
    if (typeof WebAssembly !== "object") {
      setStatus("error", "This browser does not run WebAssembly: the checks cannot run.");
      return;
    }
    const go = new Go();
    const ready = new Promise((resolve) => {
      window.sipoauthReady = resolve;
    });
    try {
      const resp = await fetch(WASM);
      if (!resp.ok) throw new Error(`${WASM}: HTTP ${resp.status}`);
      let result;
      const type = resp.headers.get("Content-Type") || "";
      if (WebAssembly.instantiateStreaming && type.startsWith("application/wasm")) {
        result = await WebAssembly.instantiateStreaming(resp, go.importObject);
      } else {
        result = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
      }
      go.run(result.instance).then(
        () => stopped("The checks stopped; reload the page."),
        (err) => stopped(`The checks stopped (${err}); reload the page.`),
      );
      await ready;
    } catch (err) {
      setStatus("error", `Could not load the checks: ${err.message || err}`);
      return;
    }
    for (const b of document.querySelectorAll("button.check")) b.disabled = false;
    setupSamples();
    setStatus("ready", `Ready: sipoauth ${window.sipoauth.version}.`);
    document.body.dataset.ready = "true";
  }

  function stopped(text) {
    for (const b of document.querySelectorAll("button.check")) b.disabled = true;
    document.body.dataset.ready = "false";
    setStatus("error", text);
  }

  // --------------------------------------------------------------- tabs

  function selectTab(tab, focus) {
    for (const t of document.querySelectorAll('[role="tab"]')) {
      const on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
  }

  function setupTabs() {
    const tabs = [...document.querySelectorAll('[role="tab"]')];
    for (const t of tabs) t.addEventListener("click", () => selectTab(t, false));
    $("tabs").addEventListener("keydown", (e) => {
      const i = tabs.indexOf(document.activeElement);
      if (i < 0) return;
      let j = -1;
      if (e.key === "ArrowRight" || e.key === "ArrowDown") j = (i + 1) % tabs.length;
      else if (e.key === "ArrowLeft" || e.key === "ArrowUp") j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = tabs.length - 1;
      if (j < 0) return;
      e.preventDefault();
      selectTab(tabs[j], true);
    });
  }

  // ------------------------------------------------------------- checks

  function setupForms() {
    for (const form of document.querySelectorAll("form.panel")) {
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        runCheck(form);
      });
      form.querySelector("textarea").addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          form.requestSubmit();
        }
      });
    }
    for (const input of document.querySelectorAll('input[type="file"]')) {
      input.addEventListener("change", async () => {
        const file = input.files && input.files[0];
        if (!file) return;
        if (file.size > MAX_INPUT) {
          showError(`${file.name} is larger than ${MAX_INPUT} bytes.`);
          return;
        }
        $(input.dataset.for).value = await file.text(); // read here, not uploaded
        input.value = "";
      });
    }
    $("copy-json").addEventListener("click", () => {
      if (navigator.clipboard) navigator.clipboard.writeText($("result-json").textContent);
    });
  }

  // ------------------------------------------------------------ samples

  // setupSamples offers, in each input area, the samples the program
  // carries: a button fills the area and its options, and checks.
  function setupSamples() {
    let samples = [];
    try {
      samples = JSON.parse(window.sipoauth.samples || "[]");
    } catch (err) {
      samples = [];
    }
    for (const s of samples) {
      const row = $("samples-" + s.area);
      if (!row) continue;
      const b = el("button", { type: "button", class: "sample", "data-sample": s.id, title: s.title }, s.label);
      b.addEventListener("click", () => loadSample(s));
      row.append(b);
      row.hidden = false;
    }
  }

  function loadSample(s) {
    const form = $("panel-" + s.area);
    const o = s.options || {};
    $("input-" + s.area).value = s.text;
    if (s.area === "cert") {
      $("role-" + (o.role || "node")).checked = true;
      $("cert-host").value = o.host || "";
    }
    if (s.area === "header") {
      // Detected, as what is pasted next will be: the choice would stay.
      $("header-kind").value = "";
      $("tls-side").value = o.side || "edge";
    }
    nextSample = s;
    form.requestSubmit();
  }

  // options gathers what the form and the page say about the input.
  function options(form) {
    const o = {};
    const at = $("check-time").value;
    if (at) {
      const d = new Date(at);
      if (!isNaN(d.getTime())) o.now = d.toISOString();
    }
    const role = form.querySelector('input[name="role"]:checked');
    if (role) o.role = role.value;
    const host = form.querySelector('input[name="host"]');
    if (host && host.value.trim()) o.host = host.value.trim();
    const side = form.querySelector('select[name="side"]');
    if (side) o.side = side.value;
    return o;
  }

  async function runCheck(form) {
    if (!window.sipoauth) return;
    const kindSelect = form.querySelector('select[name="kind"]');
    const kind = kindSelect ? kindSelect.value : form.dataset.kind;
    const text = form.querySelector("textarea").value;
    const opts = JSON.stringify(options(form));
    const sample = nextSample;
    nextSample = null;
    const button = form.querySelector("button.check");
    button.disabled = true;
    setStatus("busy", "Checking…");
    await new Promise((r) => setTimeout(r, 0)); // let the status paint
    let json;
    try {
      json = window.sipoauth.check(kind, text, opts);
    } catch (err) {
      json = JSON.stringify({ error: `the check failed: ${err.message || err}` });
    }
    button.disabled = false;
    setStatus("ready", `Ready: sipoauth ${window.sipoauth.version}.`);
    const note = $("sample-note");
    note.textContent = sample ? `Sample: ${sample.title}.` : "";
    note.hidden = !sample;
    $("output").dataset.sample = sample ? sample.id : "";
    render(json);
  }

  // ------------------------------------------------------------- output

  function showError(text) {
    const e = $("error");
    e.textContent = text;
    e.hidden = !text;
  }

  const kindNames = {
    cnf: "configuration file",
    cert: "certificate chain",
    token: "token",
    header: "Bearer header",
    response: "SIP response",
    tls: "TLS error",
    log: "client log",
  };

  // render shows a result: json is what sipoauth.check returned.
  function render(json) {
    seq++;
    window.sipoauthLast = json;
    const out = $("output");
    let res;
    try {
      res = JSON.parse(json);
    } catch (err) {
      res = { error: `unreadable result: ${err.message}` };
    }
    try {
      $("result-json").textContent = JSON.stringify(res, null, 2);
    } catch (err) {
      $("result-json").textContent = json;
    }
    const tbody = $("findings").querySelector("tbody");
    tbody.replaceChildren();
    for (const v of document.querySelectorAll("#decoded .view")) {
      v.replaceChildren();
      v.hidden = true;
    }
    $("decoded").hidden = true;
    $("no-findings").hidden = true;
    $("findings").hidden = true;

    if (res.error) {
      showError(res.error);
      $("summary").textContent = "The check could not run.";
      out.dataset.kind = "";
      out.dataset.state = "error";
      out.dataset.seq = String(seq);
      return;
    }
    showError("");
    const findings = res.findings || [];
    const count = { error: 0, warning: 0, info: 0 };
    for (const f of findings) {
      count[f.severity] = (count[f.severity] || 0) + 1;
      tbody.append(findingRow(f));
    }
    $("findings").hidden = findings.length === 0;
    $("no-findings").hidden = findings.length !== 0;
    const summary = $("summary");
    summary.replaceChildren(
      el("strong", {}, kindNames[res.kind] || res.kind || "input"),
      ": ",
      el("span", { class: "count sev-error", "data-count": count.error }, plural(count.error, "error", "errors")),
      ", ",
      el("span", { class: "count sev-warning", "data-count": count.warning }, plural(count.warning, "warning", "warnings")),
      ", ",
      el("span", { class: "count sev-info", "data-count": count.info }, plural(count.info, "note", "notes")),
      ".",
    );

    let shown = false;
    if (res.cnf) shown = show("view-cnf", cnfView(res.cnf)) || shown;
    if (res.certs && res.certs.length) shown = show("view-certs", certsView(res.certs)) || shown;
    if (res.token) shown = show("view-token", tokenView(res.token)) || shown;
    if (res.header) shown = show("view-header", headerView(res.header)) || shown;
    if (res.response) shown = show("view-response", responseView(res.response)) || shown;
    if (res.tls) shown = show("view-tls", tlsView(res.tls)) || shown;
    if (res.log) shown = show("view-log", logView(res.log)) || shown;
    $("decoded").hidden = !shown;

    out.dataset.kind = res.kind || "";
    out.dataset.state = "result";
    out.dataset.seq = String(seq); // last: tests wait for it
  }

  function show(id, content) {
    const v = $(id);
    v.replaceChildren(content);
    v.hidden = false;
    return true;
  }

  function findingRow(f) {
    const sev = f.severity || "info";
    return el(
      "tr",
      { class: `finding sev-${sev}`, "data-code": f.code, "data-severity": sev, "data-path": f.path || "" },
      el("td", { class: "severity" }, el("span", { class: `badge sev-${sev}` }, sev)),
      el("td", { class: "code" }, el("code", {}, f.code)),
      el("td", { class: "path" }, f.path || ""),
      el("td", { class: "message" }, f.message || ""),
      el("td", { class: "fix" }, f.fix || ""),
    );
  }

  // --------------------------------------------------------------- views

  const oauthModes = { 0: "0 (disabled)", 1: "1 (enabled)" };
  const securityModes = { 1: "1 (non-secure)", 2: "2 (authenticated)", 3: "3 (encrypted)" };

  function cnfView(c) {
    const frag = document.createDocumentFragment();
    frag.append(el("h3", {}, "Configuration file"));
    frag.append(
      dl([
        ["Device", c.deviceName, "deviceName"],
        ["SIP OAuth mode", oauthModes[c.sipOAuthMode] || String(c.sipOAuthMode), "sipOAuthMode"],
        ["Device security mode", securityModes[c.securityMode] || String(c.securityMode), "securityMode"],
        ["User", c.userId, "userId"],
      ]),
    );
    frag.append(targetsTable("targets-onprem", "on-premises", "Targets on premises (the client connects to the node)", c.onPremises));
    frag.append(targetsTable("targets-mra", "mra", "Targets over MRA (the edge proxy connects to the node)", c.mra));
    return frag;
  }

  function targetsTable(id, deployment, caption, targets) {
    const rows = (targets || []).map((t) =>
      el(
        "tr",
        {
          class: "target",
          "data-deployment": deployment,
          "data-host": t.host,
          "data-port": t.port,
          "data-transport": t.transport,
          "data-oauth": t.oauth ? "true" : "false",
        },
        el("td", {}, String(t.priority)),
        el("td", {}, t.host),
        el("td", {}, String(t.port), t.defaultPort ? el("span", { class: "note" }, " (default)") : null),
        el("td", {}, t.transport),
        el("td", {}, t.oauth ? "bearer token" : "none"),
        el("td", {}, t.processNodeName || ""),
      ),
    );
    if (rows.length === 0) {
      rows.push(el("tr", { class: "empty" }, el("td", { colspan: 6 }, "none: the client has nowhere to register")));
    }
    return table(id, caption, ["Priority", "Host", "Port", "Transport", "Authentication", "Process node"], rows);
  }

  function certsView(certs) {
    const frag = document.createDocumentFragment();
    const now = checkTime();
    certs.forEach((c, i) => {
      const notBefore = new Date(c.notBefore);
      const notAfter = new Date(c.notAfter);
      let validity = "valid";
      if (now < notBefore) validity = "not-yet-valid";
      else if (now > notAfter) validity = "expired";
      const key = c.keyBits ? `${c.keyAlgorithm} ${c.keyBits} bits` : c.keyAlgorithm;
      frag.append(
        el(
          "article",
          { class: "cert", "data-index": i, "data-validity": validity },
          el("h3", {}, `Certificate ${i + 1}${i === 0 ? " (leaf)" : ""}`, validity !== "valid" ? el("span", { class: "badge sev-error" }, validity.replace(/-/g, " ")) : null),
          dl([
            ["Subject", c.subject, "subject"],
            ["Issuer", c.issuer, "issuer"],
            ["Serial", c.serial, "serial"],
            ["Valid from", fmtTime(c.notBefore), "notBefore", validity === "not-yet-valid" ? "bad" : ""],
            ["Valid until", fmtTime(c.notAfter), "notAfter", validity === "expired" ? "bad" : ""],
            ["DNS names", (c.dnsNames || []).join(", "), "dnsNames"],
            ["IP addresses", (c.ipAddresses || []).join(", "), "ipAddresses"],
            ["Key", key, "key"],
            ["Signature", c.signatureAlgorithm, "signatureAlgorithm"],
            ["CA", c.isCA ? "yes" : "no", "isCA"],
            ["Extended key usage", (c.extKeyUsage || []).join(", "), "extKeyUsage"],
          ]),
        ),
      );
    });
    return frag;
  }

  function tokenView(t) {
    const frag = document.createDocumentFragment();
    frag.append(el("h3", {}, "Token (decoded, not verified)"));
    frag.append(
      dl([
        ["Shape", t.shape, "shape"],
        ["Use", t.use, "use"],
        ["Issuer", t.issuer, "issuer"],
        ["Subject", t.subject, "subject"],
        ["Device", t.device, "device"],
        ["Scope", t.scope, "scope"],
        ["Issued at", fmtTime(t.issuedAt), "issuedAt"],
        ["Expires at", fmtTime(t.expiresAt), "expiresAt", t.expired ? "bad" : ""],
        ["Expired", t.expired ? "yes" : "no", "expired", t.expired ? "bad" : "good"],
        ["Expires in", t.expiresIn, "expiresIn"],
      ]),
    );
    frag.append(el("h4", {}, "Header"), el("pre", { class: "json", "data-field": "header" }, JSON.stringify(t.header || {}, null, 2)));
    if (t.claims) {
      frag.append(el("h4", {}, "Claims"), el("pre", { class: "json", "data-field": "claims" }, JSON.stringify(t.claims, null, 2)));
    }
    return frag;
  }

  function paramsTable(id, caption, obj) {
    const rows = Object.entries(obj || {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => el("tr", { class: "param", "data-name": k }, el("th", { scope: "row" }, k), el("td", {}, v)));
    return rows.length ? table(id, caption, ["Name", "Value"], rows) : null;
  }

  function headerView(h) {
    const frag = document.createDocumentFragment();
    frag.append(el("h3", {}, h.type === "challenge" ? "Bearer challenge" : "Bearer credentials"));
    frag.append(
      dl([
        ["Header", h.name, "name"],
        ["Type", h.type, "type"],
        ["Form", h.form, "form"],
        ["Realm", h.realm, "realm"],
        ["Token", h.token, "token"],
        ["Error", h.error, "error", "bad"],
      ]),
    );
    const p = paramsTable("header-params", "Parameters", h.params);
    if (p) frag.append(p);
    return frag;
  }

  function responseView(r) {
    const frag = document.createDocumentFragment();
    frag.append(el("h3", {}, "SIP response"));
    frag.append(
      dl([
        ["Status", `${r.status} ${r.reason || ""}`.trim(), "status"],
        ["Troubleshooting scenario", r.scenario ? String(r.scenario) : "", "scenario"],
      ]),
    );
    const p = paramsTable("response-headers", "Headers", r.headers);
    if (p) frag.append(p);
    return frag;
  }

  // TLS alerts by number (RFC 8446 section 6).
  const alerts = {
    40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
    44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
    48: "unknown_ca", 70: "protocol_version", 80: "internal_error", 112: "unrecognized_name",
    116: "certificate_required",
  };

  function tlsView(v) {
    const frag = document.createDocumentFragment();
    frag.append(el("h3", {}, "TLS error"));
    frag.append(
      dl([
        ["Seen by", v.side === "node" ? "the node (port 5091)" : v.side === "client" ? "a soft client (connecting to port 5090)" : "the edge proxy (connecting to the node)", "side"],
        ["Alert", v.alert ? `${v.alert} ${alerts[v.alert] || ""}`.trim() : "", "alert"],
        ["Alert sent by", v.alert ? (v.remote ? "the peer" : "this side") : "", "remote"],
        ["Troubleshooting scenario", v.scenario ? String(v.scenario) : "", "scenario"],
      ]),
    );
    return frag;
  }

  function logView(l) {
    const frag = document.createDocumentFragment();
    const events = l.timeline || [];
    frag.append(el("h3", {}, "Client log timeline"));
    frag.append(
      el(
        "p",
        { class: "log-summary", "data-lines": l.lines, "data-bytes": l.bytes, "data-events": events.length },
        `${plural(l.lines, "line", "lines")}, ${plural(l.bytes, "byte", "bytes")}, `,
        l.messages !== undefined ? `${plural(l.messages, "SIP message", "SIP messages")}, ` : "",
        plural(events.length, "event", "events"),
        l.dropped ? ` (${l.dropped} more not shown)` : "",
        ".",
      ),
    );
    const list = el("ol", { id: "timeline", class: "timeline" });
    for (const e of events) list.append(eventItem(e));
    frag.append(list);
    return frag;
  }

  function eventItem(e) {
    const attrs = { class: `event kind-${e.kind}`, "data-kind": e.kind, "data-line": e.line };
    if (e.status) {
      attrs["data-status"] = e.status;
      if (e.status < 300) attrs.class += " success";
      else if (e.status === 401 || e.status === 407) attrs.class += " challenge";
      else attrs.class += " failure";
    }
    if (e.expectedPort === false) attrs.class += " failure";
    const head = el(
      "div",
      { class: "event-head" },
      el("span", { class: "line" }, `line ${e.line}`),
      e.time ? el("time", { datetime: e.time }, fmtTime(e.time)) : null,
      el("span", { class: "kind" }, e.kind),
      el("span", { class: "text" }, e.text),
    );
    const item = el("li", attrs, head);
    const details = [];
    if (e.local || e.remote) {
      details.push(["Connection", `${e.local || "?"} → ${e.remote || "?"}`, "connection"]);
    }
    if (e.expectedPort !== undefined && e.expectedPort !== null) {
      details.push(["OAuth port announced", e.expectedPort ? "yes" : "no", "expectedPort", e.expectedPort ? "good" : "bad"]);
    }
    if (e.kind === "sent" && e.method) details.push(["Bearer token", e.token ? "sent" : "none", "token"]);
    if (details.length) item.append(dl(details, "fields compact"));
    if (e.nodes && e.nodes.length) {
      const nodes = el("ul", { class: "nodes" });
      for (const n of e.nodes) {
        nodes.append(
          el(
            "li",
            { class: "node", "data-index": n.index, "data-host": n.host },
            `ccm${n.index}=${n.host || "(empty)"}`,
            n.oauthPort ? ` OAuth port ${n.oauthPort}` : "",
            n.mraPort ? `, MRA OAuth port ${n.mraPort}` : "",
          ),
        );
      }
      item.append(nodes);
    }
    if (e.headers) {
      const h = dl(
        Object.entries(e.headers)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => [k, v, k]),
        "fields compact headers",
      );
      item.append(h);
    }
    return item;
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupTabs();
    setupForms();
    load();
  });
})();
