/**
 * The dashboard's page, script and style, as strings (served from memory: no file paths). The
 * script polls `/api/state` and redraws with `Plotly.react` only when the database changed; it
 * keeps what it drew in `window.dashboard` so a browser test can read the curves' data.
 *
 * @module
 */

/** The HTML of a page ("overview": panels, progress and runs table; "run": one run). */
export function pageHtml(kind: "overview" | "run"): string {
  const body = kind === "overview"
    ? `<h1>Results dashboard</h1>
<section id="progress" aria-live="polite">loading…</section>
<label><input type="checkbox" id="seeds"> per-seed lines</label>
<section id="panels"></section>
<h2>Runs</h2>
<input id="filter" type="search" placeholder="filter runs (any column)" size="40">
<table id="runs"><thead><tr></tr></thead><tbody></tbody></table>`
    : `<p><a href="/">← overview</a></p>
<h1 id="title">Run</h1>
<section id="summary"></section>
<section id="plots"></section>
<h2>Configuration</h2>
<p id="preset"></p>
<table id="config"><thead><tr><th>key</th><th>value</th><th>preset</th></tr></thead><tbody></tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ADQN results dashboard</title>
<link rel="stylesheet" href="/assets/style.css">
<script src="/assets/plotly.min.js"></script></head>
<body data-page="${kind}">
${body}
<p id="updated" class="muted"></p>
<script src="/assets/app.js"></script>
</body></html>
`;
}

/** The page style. */
export const STYLE_CSS =
  `body { font-family: "Liberation Sans", Arial, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
#progress { font-size: 1.05em; margin: .5em 0 1em; }
#progress .bar { display: inline-block; width: 240px; height: 10px; background: #eee; vertical-align: middle; }
#progress .bar span { display: block; height: 100%; background: #0072B2; }
#panels, #plots { display: flex; flex-wrap: wrap; gap: 8px; }
table { border-collapse: collapse; font-size: .9em; margin-top: .5em; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { cursor: pointer; background: #f5f5f5; user-select: none; }
tr.diff td { background: #fff3c4; font-weight: bold; }
.status-failed { color: #b00020; } .status-running { color: #0072B2; } .status-finished { color: #2e7d32; }
.muted { color: #777; font-size: .85em; }
`;

/** The page script (plain browser JavaScript). */
export const APP_JS = `"use strict";
const state = { fingerprint: null, overview: null, runs: [], run: null, updates: 0, sort: { key: "id", dir: 1 } };
window.dashboard = state;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
const fmt = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "" : Number(x).toFixed(d));
const count = (n) => n >= 1e6 ? (n / 1e6).toFixed(2) + "M" : n >= 1e4 ? (n / 1e3).toFixed(1) + "k" : String(Math.round(n));
const COLUMNS = [
  ["id", "run"], ["label", "panel"], ["algo", "algorithm"], ["seed", "seed"], ["lr", "lr"],
  ["timeLimit", "time limit"], ["status", "status"],
  ["envSteps", "steps"], ["lastReturn", "avg return"], ["epsilon", "ε"], ["backend", "backend"],
  ["codeVersion", "code"], ["attempts", "attempts"], ["error", "error"],
];
async function getJson(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return await r.json();
}
function duration(s) {
  if (!Number.isFinite(s) || s < 0) return "?";
  s = Math.round(s);
  if (s < 60) return s + "s";
  const m = Math.floor(s / 60);
  return m < 60 ? m + "m" + String(s % 60).padStart(2, "0") + "s" : Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") + "m";
}
function drawProgress(p) {
  const frac = p.stepsTotal > 0 ? p.stepsDone / p.stepsTotal : 0;
  const eta = p.etaMs === null ? "measuring…" : new Date(p.etaMs).toLocaleString() + " (in " + duration((p.etaMs - Date.now()) / 1000) + ")";
  $("progress").innerHTML = "<b>" + p.finished + "</b> finished · <b>" + p.running + "</b> running · <b>" +
    p.waiting + "</b> waiting · <b>" + p.failed + "</b> failed<br>" +
    '<span class="bar"><span style="width:' + (100 * frac).toFixed(1) + '%"></span></span> ' +
    count(p.stepsDone) + " of " + count(p.stepsTotal) + " environment steps (" + (100 * frac).toFixed(1) + "%) · " +
    (p.rate === null ? "rate: measuring…" : count(p.rate) + " steps/s") + " · projected finish: " + eta;
}
function drawPanels(panels) {
  const box = $("panels");
  if (panels.length === 0) box.innerHTML = '<p class="muted">No Figure 1 runs in this database yet.</p>';
  else if (box.querySelector("p")) box.innerHTML = "";
  panels.forEach((p, i) => {
    let div = $("panel-" + i);
    if (!div) { div = document.createElement("div"); div.id = "panel-" + i; div.className = "panel"; box.appendChild(div); }
    div.dataset.key = p.key;
    Plotly.react(div, p.figure.data, p.figure.layout, { displaylogo: false });
  });
  for (let i = panels.length; $("panel-" + i); i++) $("panel-" + i).remove();
}
function drawRuns() {
  const head = document.querySelector("#runs thead tr");
  if (!head.children.length) {
    head.innerHTML = COLUMNS.map(([k, t]) => '<th data-key="' + k + '">' + esc(t) + "</th>").join("");
    head.querySelectorAll("th").forEach((th) => th.addEventListener("click", () => {
      const k = th.dataset.key;
      state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : 1 };
      drawRuns();
    }));
  }
  const q = $("filter").value.trim().toLowerCase();
  const { key, dir } = state.sort;
  const cmp = (a, b) => {
    const x = a[key], y = b[key];
    if (x === y) return a.id - b.id;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === "number" ? x - y : String(x).localeCompare(String(y))) * dir;
  };
  const rows = state.runs.filter((r) => !q || COLUMNS.some(([k]) => String(r[k] ?? "").toLowerCase().includes(q)))
    .sort(cmp);
  document.querySelector("#runs tbody").innerHTML = rows.map((r) => "<tr data-id=\\"" + r.id + "\\">" +
    '<td><a href="/run/' + r.id + '">' + r.id + "</a></td><td>" + esc(r.label) + "</td><td>" + esc(r.algo) +
    "</td><td>" + r.seed + '</td><td class="status-' + esc(r.status) + '">' + esc(r.status) + "</td><td>" +
    r.envSteps + " / " + r.totalSteps + "</td><td>" + fmt(r.lastReturn) + "</td><td>" + fmt(r.epsilon) +
    "</td><td>" + esc(r.backend) + "</td><td>" + esc((r.codeVersion ?? "").slice(0, 10)) + "</td><td>" +
    r.attempts + "</td><td>" + esc(r.error) + "</td></tr>").join("");
}
async function refreshOverview() {
  const seeds = $("seeds").checked ? "1" : "0";
  const [ov, runs] = await Promise.all([getJson("/api/overview?seeds=" + seeds), getJson("/api/runs")]);
  state.overview = ov; state.runs = runs.runs; state.fingerprint = ov.fingerprint;
  drawProgress(ov.progress); drawPanels(ov.panels); drawRuns();
}
function runPlot(id, title, x, y, color) {
  let div = $(id);
  if (!div) { div = document.createElement("div"); div.id = id; $("plots").appendChild(div); }
  Plotly.react(div, [{ type: "scatter", mode: "lines", x, y, line: { color, width: 2 }, name: title }], {
    title: { text: title }, width: 460, height: 300, margin: { l: 60, r: 20, t: 50, b: 50 },
    xaxis: { title: { text: "environment steps" }, rangemode: "tozero" }, yaxis: { title: { text: title } },
  }, { displaylogo: false });
}
async function refreshRun() {
  const id = location.pathname.split("/")[2];
  const v = await getJson("/api/run/" + id);
  state.run = v; state.fingerprint = v.fingerprint ?? state.fingerprint;
  const r = v.run;
  $("title").textContent = "Run " + r.id + ": " + r.algo + " on " + r.env + ", seed " + r.seed;
  $("summary").innerHTML = '<span class="status-' + esc(r.status) + '">' + esc(r.status) + "</span> · " +
    r.envSteps + " of " + r.totalSteps + " steps · avg return " + fmt(r.lastReturn) + " · ε " + fmt(r.epsilon) +
    " · attempts " + r.attempts + (r.error ? " · error: " + esc(r.error) : "");
  const s = v.series;
  runPlot("plot-return", "average return", s.envStep, s.avgReturn, "#D55E00");
  runPlot("plot-lossq", "Q loss", s.envStep, s.lossQ, "#0072B2");
  runPlot("plot-lossu", "U loss", s.envStep, s.lossU, "#56B4E9");
  runPlot("plot-epsilon", "ε", s.envStep, s.epsilon, "#555555");
  const diffs = new Map((v.diff ?? []).map((d) => [d.key, d]));
  $("preset").textContent = v.preset ? "Differences from preset " + v.preset + " are highlighted (" + diffs.size + ")." : "No preset to compare with (label " + JSON.stringify(r.label) + ").";
  const flat = [];
  (function walk(o, p) {
    for (const [k, x] of Object.entries(o)) {
      const key = p ? p + "." + k : k;
      if (x && typeof x === "object" && !Array.isArray(x)) walk(x, key); else flat.push([key, x]);
    }
  })(v.config, "");
  for (const d of diffs.values()) if (!flat.some(([k]) => k === d.key)) flat.push([d.key, undefined]);
  flat.sort((a, b) => a[0].localeCompare(b[0]));
  document.querySelector("#config tbody").innerHTML = flat.map(([k, x]) => {
    const d = diffs.get(k);
    return "<tr" + (d ? ' class="diff"' : "") + "><td>" + esc(k) + "</td><td>" + esc(JSON.stringify(x)) +
      "</td><td>" + (d ? esc(JSON.stringify(d.preset)) : "") + "</td></tr>";
  }).join("");
}
const page = document.body.dataset.page;
const refresh = page === "overview" ? refreshOverview : refreshRun;
async function poll() {
  try {
    const { fingerprint } = await getJson("/api/state");
    if (fingerprint !== state.fingerprint || state.updates === 0) {
      await refresh();
      state.fingerprint = fingerprint;
      state.updates++;
      $("updated").textContent = "updated " + new Date().toLocaleTimeString() + " (polling every 1.5 s)";
    }
  } catch (e) {
    $("updated").textContent = "server not reachable (" + e.message + "); retrying";
  }
  setTimeout(poll, 1500);
}
if (page === "overview") {
  $("filter").addEventListener("input", drawRuns);
  $("seeds").addEventListener("change", () => refresh().catch(() => {}));
}
poll();
`;
