// The pipeline page of `nbkf serve`: pick a notebook under the root, see its pipeline as
// nbkf draws it (POST /api/v1/graph, the drawing code of `nbkf graph` and the batch report),
// click a step for its cells, inputs, outputs, packages and diagnostics, and compile, tag,
// run or check the notebook, following runs live through their event stream.
// Plain JS, no framework, nothing loaded from elsewhere; the token travels as the cookie
// the server set when the page was opened with `?token=`.
"use strict";

const $ = (id) => document.getElementById(id);

/** The page's state. */
const page = {
  path: "",          // the notebook shown
  analysis: null,    // its analysis (POST /api/v1/analyze)
  selected: null,    // the task shown in the details panel
  zoom: 1,
  size: { width: 0, height: 0 }, // the drawing's own size
  run: null,         // { id, kind, source, states: {task: state}, logs: {task: [lines]}, state }
};

/** An element with attributes and children (strings become text, never markup). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** An API error: the server's `{error: {code, message, hint, cell, cell_id}, diagnostics}`. */
class ApiFailure extends Error {
  constructor(status, body) {
    const detail = (body && body.error) || {};
    super(detail.message || `the server answered ${status}`);
    this.status = status;
    this.detail = detail;
    this.diagnostics = (body && body.diagnostics) || null;
  }
}

/** Calls the API: GET without a body, POST with one. */
async function api(path, body) {
  const init = body === undefined
    ? { credentials: "same-origin" }
    : { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiFailure(0, { error: { message: `the server cannot be reached (${e.message}); is nbkf serve still running?` } });
  }
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401) {
      throw new ApiFailure(401, { error: { message: "not signed in to this server", hint: "open the address nbkf serve printed (with ?token=…) again" } });
    }
    throw new ApiFailure(response.status, data);
  }
  return data;
}

// ---- messages -------------------------------------------------------------------------

/** Shows an error (message, hint, cell) or a notice above the page. */
function showMessage(kind, text, extra) {
  const box = $("message");
  box.replaceChildren();
  box.className = `message ${kind}`;
  box.append(el("strong", { text: kind === "error" ? "error: " : "" }), text);
  if (extra && extra.cell) {
    box.append(el("span", { class: "cell-ref", text: ` cell ${extra.cell}${extra.cell_id ? ` (id ${extra.cell_id})` : ""}` }));
  }
  if (extra && extra.hint) box.append(el("div", { class: "hint", text: `hint: ${extra.hint}` }));
  const close = el("button", { type: "button", class: "close", "aria-label": "Dismiss", text: "×" });
  close.addEventListener("click", () => { box.hidden = true; });
  box.append(close);
  box.hidden = false;
}

function showError(e) {
  if (e instanceof ApiFailure) {
    showMessage("error", e.message, e.detail);
    if (e.diagnostics) renderDiagnostics(e.diagnostics);
  } else {
    showMessage("error", String((e && e.message) || e));
  }
}

function clearMessage() {
  $("message").hidden = true;
}

// ---- notebooks ------------------------------------------------------------------------

async function loadNotebooks() {
  const select = $("notebook");
  const list = await api("/api/v1/notebooks");
  select.replaceChildren(el("option", { value: "", text: list.length ? "Choose a notebook…" : "No notebooks under the root" }));
  for (const n of list) select.add(new Option(n.path, n.path));
  const wanted = decodeURIComponent(location.hash.replace(/^#/, ""));
  if (wanted && list.some((n) => n.path === wanted)) {
    select.value = wanted;
    await openNotebook(wanted);
  } else if (list.length === 1) {
    select.value = list[0].path;
    await openNotebook(list[0].path);
  }
}

/** Analyses a notebook and draws its pipeline. */
async function openNotebook(path) {
  stopFollowing();
  page.path = path;
  page.analysis = null;
  page.selected = null;
  history.replaceState(null, "", path ? `#${encodeURIComponent(path)}` : location.pathname);
  clearMessage();
  setButtons();
  $("result").hidden = true;
  $("run-state").hidden = true;
  if (!path) return;
  const graph = $("graph");
  graph.replaceChildren(el("p", { class: "empty", text: "Analysing…" }));
  graph.setAttribute("aria-busy", "true");
  try {
    const [analysis, drawing] = await Promise.all([
      api("/api/v1/analyze", { path }),
      api("/api/v1/graph", { path, format: "svg" }),
    ]);
    if (page.path !== path) return; // another notebook was picked meanwhile
    page.analysis = analysis;
    $("pipeline").textContent = analysis.plan.pipeline;
    const steps = analysis.plan.steps.length;
    const errors = analysis.diagnostics.filter((d) => d.severity === "error").length;
    $("summary").textContent = `${steps} step${steps === 1 ? "" : "s"} · ${analysis.plan.parameters.length} parameter${analysis.plan.parameters.length === 1 ? "" : "s"}` +
      (errors ? ` · ${errors} error${errors === 1 ? "" : "s"}` : "");
    drawGraph(drawing.drawing);
    markProblems(analysis);
    renderDiagnostics(analysis.diagnostics);
    renderDetails();
    if (!analysis.ok) showMessage("error", "the notebook has errors: no pipeline can be made until they are fixed (see Diagnostics)");
  } catch (e) {
    graph.replaceChildren(el("p", { class: "empty", text: "No drawing." }));
    showError(e);
  } finally {
    graph.removeAttribute("aria-busy");
    setButtons();
  }
}

// ---- the graph ------------------------------------------------------------------------

/** Puts nbkf's SVG in the page and makes its steps focusable buttons. */
function drawGraph(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  const graph = $("graph");
  if (!svg || svg.nodeName !== "svg") {
    graph.replaceChildren(el("p", { class: "empty", text: "The drawing could not be read." }));
    return;
  }
  const node = document.importNode(svg, true);
  const box = (node.getAttribute("viewBox") || "0 0 0 0").split(/\s+/).map(Number);
  page.size = { width: box[2] || 1, height: box[3] || 1 };
  node.setAttribute("role", "group");
  node.setAttribute("aria-label", `pipeline ${node.getAttribute("data-pipeline") || ""}`);
  for (const g of node.querySelectorAll("g.step")) {
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.setAttribute("aria-label", `step ${g.getAttribute("data-step")}`);
  }
  const parameters = node.querySelector("g.node.parameters");
  if (parameters) {
    parameters.setAttribute("tabindex", "0");
    parameters.setAttribute("role", "button");
    parameters.setAttribute("aria-label", "pipeline parameters");
  }
  graph.replaceChildren(node);
  fit();
  applyStates();
}

/** Marks the steps whose cells have errors (`has-error`) or warnings (`has-warning`). */
function markProblems(analysis) {
  for (const g of stepElements()) {
    const step = analysis.plan.steps.find((s) => s.task === g.getAttribute("data-task"));
    const found = step ? analysis.diagnostics.filter((d) => d.cell && step.cells.includes(d.cell)) : [];
    g.classList.toggle("has-error", found.some((d) => d.severity === "error"));
    g.classList.toggle("has-warning", found.some((d) => d.severity === "warning"));
  }
}

function stepElements() {
  return Array.from($("graph").querySelectorAll("g.step"));
}

function onGraphActivate(event) {
  const target = event.target.closest && event.target.closest("g.step, g.node.parameters");
  if (!target) return;
  if (event.type === "keydown") {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
  }
  select(target.classList.contains("parameters") ? "#parameters" : target.getAttribute("data-task"));
}

/** Shows a step (by task) or the parameters (`#parameters`) in the details panel. */
function select(task) {
  page.selected = task;
  for (const g of $("graph").querySelectorAll("g.step, g.node.parameters")) {
    const on = (g.classList.contains("parameters") ? "#parameters" : g.getAttribute("data-task")) === task;
    g.classList.toggle("selected", on);
    g.setAttribute("aria-pressed", on ? "true" : "false");
  }
  renderDetails();
}

function setZoom(zoom) {
  page.zoom = Math.min(4, Math.max(0.1, zoom));
  const svg = $("graph").querySelector("svg");
  if (svg) {
    svg.setAttribute("width", String(Math.round(page.size.width * page.zoom)));
    svg.setAttribute("height", String(Math.round(page.size.height * page.zoom)));
  }
  $("zoom-level").textContent = `${Math.round(page.zoom * 100)}%`;
}

/** Fits the drawing to the pane's width (never enlarging it, never below a readable size). */
function fit() {
  const pane = $("graph");
  const room = Math.max(200, pane.clientWidth - 32);
  const roomY = Math.max(200, pane.clientHeight - 32);
  const scale = Math.min(1, room / page.size.width, Math.max(roomY / page.size.height, 0.6));
  setZoom(Math.max(0.25, scale));
}

// ---- details --------------------------------------------------------------------------

function section(title, items, empty) {
  const list = items.length ? el("ul", { class: "items" }, items) : el("p", { class: "none", text: empty || "none" });
  return el("div", { class: "section", "data-section": title.toLowerCase() }, el("h3", { text: title }), list);
}

function chip(text, cls) {
  return el("code", { class: `chip ${cls || ""}`, text });
}

function stepOf(task) {
  return page.analysis && page.analysis.plan.steps.find((s) => s.task === task);
}

function renderDetails() {
  const title = $("details-title");
  const body = $("details-body");
  const a = page.analysis;
  if (!a) {
    title.textContent = "Step";
    body.replaceChildren(el("p", { class: "empty", text: "Pick a notebook to see its pipeline." }));
    return;
  }
  if (page.selected === "#parameters") {
    title.textContent = "Pipeline parameters";
    body.replaceChildren(section("Parameters", a.plan.parameters.map((p) =>
      el("li", {}, chip(p.name), ` ${p.type} = `, el("code", { text: JSON.stringify(p.default) }), el("span", { class: "muted", text: ` cell ${p.cell}` })))));
    return;
  }
  const step = stepOf(page.selected);
  if (!step) {
    title.textContent = "Step";
    body.replaceChildren(el("p", { class: "empty", text: "Click a step (or focus it and press Enter) to see its cells, inputs and outputs." }));
    return;
  }
  title.textContent = `Step ${step.name}`;
  const state = page.run && page.run.states[step.task];
  const header = el("div", { class: "step-meta" },
    el("span", { class: "muted", text: `task ${step.task}` }),
    state ? el("span", { class: `pill state-${state.replace("_", "-")}`, id: "details-state", text: state.replace("_", " ") }) : null);
  const cells = step.cells.map((n) => {
    const c = a.cells.find((x) => x.cell === n) || { cell: n };
    return el("li", { class: "cell", "data-cell": n },
      el("div", { class: "cell-head" }, el("strong", { text: `cell ${n}` }), c.cell_id ? el("span", { class: "muted", text: ` id ${c.cell_id}` }) : null),
      c.excerpt ? el("pre", { class: "excerpt", text: c.excerpt }) : null);
  });
  const inputs = step.inputs.map((i) => el("li", { "data-variable": i.variable }, chip(i.variable), el("span", { class: "muted", text: " from " }),
    producerLink(i.from)));
  const outputs = step.outputs.map((o) => {
    const readers = a.plan.steps.filter((s) => s.inputs.some((i) => i.from === step.name && i.variable === o)).map((s) => s.name);
    return el("li", { "data-variable": o }, chip(o), readers.length ? el("span", { class: "muted", text: ` to ${readers.join(", ")}` }) : null);
  });
  const cellSet = new Set(step.cells);
  const diagnostics = a.diagnostics.filter((d) => d.cell && cellSet.has(d.cell)).map(diagnosticItem);
  const parts = [
    header,
    section("Cells", cells),
    section("Inputs", inputs, "none: it reads nothing from other steps"),
    section("Outputs", outputs, "none: no later step reads what it computes"),
  ];
  if (step.parameters.length) parts.push(section("Parameters", step.parameters.map((p) => el("li", {}, chip(p, "parameter")))));
  if (step.metrics.length) parts.push(section("Metrics", step.metrics.map((m) => el("li", {}, chip(m, "metric")))));
  parts.push(section("Packages", step.packages.map((p) => el("li", {}, chip(p)))));
  if (step.definitions.length) parts.push(section("Definitions", step.definitions.map((d) => el("li", {}, chip(d)))));
  // Steps it runs after without reading from them (`prev:`).
  const orderOnly = step.after.filter((s) => !step.inputs.some((i) => i.from === s));
  if (orderOnly.length) parts.push(section("Also runs after", orderOnly.map((s) => el("li", {}, producerLink(s)))));
  parts.push(section("Diagnostics", diagnostics, "none"));
  const logs = page.run && page.run.logs[step.task];
  if (page.run) {
    parts.push(el("div", { class: "section", "data-section": "log" }, el("h3", { text: "Log" }),
      logs && logs.length ? el("pre", { class: "log", id: "details-log", text: logs.join("\n") }) : el("p", { class: "none", text: "no output yet" }),
      state === "failed" && page.run.failures[step.task] ? el("pre", { class: "log failure", text: page.run.failures[step.task] }) : null));
  }
  body.replaceChildren(...parts);
  const log = $("details-log");
  if (log) log.scrollTop = log.scrollHeight;
}

/** A button that shows another step (by name). */
function producerLink(name) {
  const s = page.analysis.plan.steps.find((x) => x.name === name);
  if (!s) return chip(name);
  const b = el("button", { type: "button", class: "link", text: name });
  b.addEventListener("click", () => {
    select(s.task);
    const g = $("graph").querySelector(`g.step[data-task="${CSS.escape(s.task)}"]`);
    if (g) { g.focus(); g.scrollIntoView({ block: "nearest", inline: "nearest" }); }
  });
  return b;
}

// ---- diagnostics ----------------------------------------------------------------------

function diagnosticItem(d) {
  const where = d.cell ? `cell ${d.cell}${d.range ? `, line ${d.range.start_line}` : ""}` : "notebook";
  return el("li", { class: `diagnostic ${d.severity}` },
    el("div", {}, el("span", { class: `severity ${d.severity}`, text: d.severity }), " ", el("span", { class: "muted", text: `${where} · ${d.code}` })),
    el("div", { class: "diagnostic-message", text: d.message }),
    d.hint ? el("div", { class: "hint", text: `hint: ${d.hint}` }) : null);
}

function renderDiagnostics(list) {
  $("diagnostics-count").textContent = String(list.length);
  const ul = $("diagnostics-list");
  ul.replaceChildren(...list.map((d) => {
    const li = diagnosticItem(d);
    const step = d.cell && page.analysis && page.analysis.plan.steps.find((s) => s.cells.includes(d.cell));
    if (step) {
      const b = el("button", { type: "button", class: "link", text: `show step ${step.name}` });
      b.addEventListener("click", () => select(step.task));
      li.append(b);
    }
    return li;
  }));
  if (!list.length) ul.append(el("li", { class: "none", text: "No problems found." }));
}

// ---- actions --------------------------------------------------------------------------

function setButtons() {
  const running = !!(page.run && page.run.state === "running");
  const ready = !!(page.analysis && page.analysis.ok);
  $("compile").disabled = !ready;
  $("tag").disabled = !ready;
  $("run").disabled = !ready || running;
  $("check").disabled = !ready || running;
  $("cancel").hidden = !running;
}

function showResult(title, ...children) {
  $("result-title").textContent = title;
  $("result-body").replaceChildren(...children);
  $("result").hidden = false;
}

async function compile() {
  const output = page.path.replace(/\.ipynb$/i, "") + ".pipeline.yaml";
  try {
    $("compile").disabled = true;
    const r = await api("/api/v1/compile", { path: page.path, output });
    const url = URL.createObjectURL(new Blob([r.yaml], { type: "application/yaml" }));
    showResult("Compiled",
      el("p", { id: "compile-written" }, "Written to ", el("code", { text: r.written || output }), ` (${r.yaml.split("\n").length} lines of KFP IR YAML).`),
      el("p", {}, el("a", { href: url, download: output.split("/").pop(), class: "button", text: "Download the YAML" })),
      r.diagnostics.length ? el("p", { class: "muted", text: `${r.diagnostics.length} warning(s): see Diagnostics.` }) : null);
  } catch (e) {
    showError(e);
  } finally {
    setButtons();
  }
}

async function tag() {
  try {
    $("tag").disabled = true;
    const r = await api("/api/v1/tag", { path: page.path });
    if (!r.changes.length) {
      showResult("Tags", el("p", { text: "The notebook already has the tags nbkf suggests; nothing to write." }));
      return;
    }
    const write = el("button", { type: "button", class: "primary", id: "tag-confirm", text: `Write tags to ${r.changes.length} cell${r.changes.length === 1 ? "" : "s"}` });
    const cancel = el("button", { type: "button", text: "Cancel" });
    showResult("Suggested tags",
      el("ul", { class: "items" }, r.changes.map((c) => el("li", {}, el("strong", { text: `cell ${c.cell}` }), " ", c.tags.map((t) => chip(t))))),
      el("p", { class: "buttons" }, write, " ", cancel));
    write.focus();
    cancel.addEventListener("click", () => { $("result").hidden = true; });
    write.addEventListener("click", async () => {
      write.disabled = true;
      try {
        const w = await api("/api/v1/tag", { path: page.path, write: true });
        showResult("Tags written", el("p", { id: "tag-written" }, "Wrote the tags of ", String(w.changes.length), " cell(s) to ", el("code", { text: w.written }), "."));
        await openNotebook(page.path);
        $("result").hidden = false;
      } catch (e) {
        showError(e);
      }
    });
  } catch (e) {
    showError(e);
  } finally {
    setButtons();
  }
}

/** Starts a local run or check and follows its events. */
async function start(kind) {
  clearMessage();
  $("run").disabled = true;
  $("check").disabled = true;
  try {
    const started = await api(kind === "check" ? "/api/v1/check" : "/api/v1/runs", { path: page.path });
    follow(started, kind);
  } catch (e) {
    showError(e);
    setButtons();
  }
}

function follow(started, kind) {
  stopFollowing();
  const states = {};
  for (const t of started.tasks) states[t] = "pending";
  page.run = { id: started.run_id, kind, states, logs: {}, failures: {}, state: "running", source: null };
  $("result").hidden = true;
  setRunState("running");
  applyStates();
  renderDetails();
  setButtons();
  const source = new EventSource(`/api/v1/runs/${encodeURIComponent(started.run_id)}/events`);
  page.run.source = source;
  const run = page.run;
  source.addEventListener("step", (m) => {
    const d = JSON.parse(m.data);
    run.states[d.task] = d.state;
    if (d.failure) run.failures[d.task] = d.failure;
    applyStates();
    if (page.selected === d.task) renderDetails();
  });
  source.addEventListener("log", (m) => {
    const d = JSON.parse(m.data);
    (run.logs[d.task] = run.logs[d.task] || []).push(d.line);
    if (page.selected === d.task) renderDetails();
  });
  source.addEventListener("end", (m) => {
    const d = JSON.parse(m.data);
    source.close();
    run.state = d.state;
    setRunState(d.state);
    setButtons();
    renderDetails();
    finished(run, d);
  });
  source.onerror = () => {
    // The browser reconnects by itself (resuming after the last event); a closed stream
    // that cannot reconnect is told.
    if (source.readyState === EventSource.CLOSED && run.state === "running") {
      showMessage("error", "lost the run's event stream", { hint: "reload the page to see how it ended" });
    }
  };
}

async function finished(run, end) {
  if (end.error) {
    showMessage("error", end.error);
    return;
  }
  const failed = Object.entries(run.failures);
  const what = run.kind === "check" ? "Check" : "Run";
  const items = [el("p", { id: "run-outcome", text: `${what} ${run.id}: ${end.state.replace("_", " ")}.` })];
  if (run.kind === "check") {
    try {
      const status = await api(`/api/v1/runs/${encodeURIComponent(run.id)}`);
      const r = status.result || {};
      items.push(el("p", { text: r.passed ? "The pipeline computes what the notebook computes: every value compared is equal." : "Some values differ between the pipeline and the notebook." }));
      items.push(el("details", {}, el("summary", { text: "The full report" }), el("pre", { class: "log", text: JSON.stringify(r, null, 2) })));
    } catch (e) {
      showError(e);
    }
  }
  for (const [task, failure] of failed) {
    items.push(el("div", { class: "diagnostic error" }, el("strong", { text: `step ${task} failed` }), el("pre", { class: "log failure", text: failure })));
  }
  showResult(`${what} ${end.state.replace("_", " ")}`, ...items);
}

function stopFollowing() {
  if (page.run && page.run.source) page.run.source.close();
  page.run = null;
}

function setRunState(state) {
  const pill = $("run-state");
  pill.hidden = false;
  pill.className = `pill state-${state.replace("_", "-")}`;
  pill.textContent = `${page.run && page.run.kind === "check" ? "check" : "run"} ${state.replace("_", " ")}`;
}

/** Puts each step's run state on its node as a `state-…` class. */
function applyStates() {
  for (const g of stepElements()) {
    for (const c of Array.from(g.classList)) if (c.startsWith("state-")) g.classList.remove(c);
    const state = page.run && page.run.states[g.getAttribute("data-task")];
    if (state) {
      g.classList.add(`state-${state.replace("_", "-")}`);
      g.setAttribute("aria-description", `state ${state.replace("_", " ")}`);
    } else {
      g.removeAttribute("aria-description");
    }
  }
}

async function cancel() {
  if (!page.run) return;
  try {
    $("cancel").disabled = true;
    await api(`/api/v1/runs/${encodeURIComponent(page.run.id)}/cancel`, {});
  } catch (e) {
    showError(e);
  } finally {
    $("cancel").disabled = false;
  }
}

// ---- wiring ---------------------------------------------------------------------------

$("notebook").addEventListener("change", (e) => openNotebook(e.target.value));
$("compile").addEventListener("click", compile);
$("tag").addEventListener("click", tag);
$("run").addEventListener("click", () => start("run"));
$("check").addEventListener("click", () => start("check"));
$("cancel").addEventListener("click", cancel);
$("zoom-in").addEventListener("click", () => setZoom(page.zoom * 1.25));
$("zoom-out").addEventListener("click", () => setZoom(page.zoom / 1.25));
$("zoom-fit").addEventListener("click", fit);
$("graph").addEventListener("click", onGraphActivate);
$("graph").addEventListener("keydown", onGraphActivate);
$("graph").addEventListener("wheel", (e) => {
  if (!e.ctrlKey) return;
  e.preventDefault();
  setZoom(page.zoom * (e.deltaY < 0 ? 1.1 : 1 / 1.1));
}, { passive: false });

loadNotebooks().catch(showError);
