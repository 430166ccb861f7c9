// gantry's dashboard: three views over /api (runs, one run, compare), redrawn from polled data.
// No libraries: charts are SVG drawn here. Views: #/  #/run/NAME[?grid=K]  #/compare?runs=A,B
"use strict";

const POLL_MS = 2000;
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f", "#7c3aed", "#b45309"];
const view = document.getElementById("view");
let timer = null;
let viewToken = 0; // bumped on every navigation: a poll that finishes for an older view draws nothing
let dragging = false; // no redraw while a zoom selection is being dragged
const zoom = {}; // chart id -> [x0, x1]

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmt = (v) => (typeof v === "number" && isFinite(v) ? (Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(4)))) : "–");
const minOf = (xs) => xs.reduce((a, b) => (b < a ? b : a), Infinity);
const maxOf = (xs) => xs.reduce((a, b) => (b > a ? b : a), -Infinity);
const append = (into, items) => { for (const x of items) into.push(x); };
const fileUrl = (run, path) => `/files/${encodeURIComponent(run)}/${path.split("/").map(encodeURIComponent).join("/")}`;

async function getJson(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

function setLive(ok) {
  const el = document.getElementById("live");
  el.textContent = ok ? "live" : "server unreachable";
  el.className = ok ? "" : "stale";
}

// Runs f(isCurrent) now and again `ms` after each run ends (never two at once), until the view changes.
function every(ms, f) {
  clearTimeout(timer);
  const token = ++viewToken;
  const isCurrent = () => token === viewToken;
  const tick = async () => {
    if (!isCurrent()) return;
    if (!dragging) {
      try { await f(isCurrent); if (isCurrent()) setLive(true); } catch (e) { if (isCurrent()) setLive(false); console.error(e); }
    }
    if (isCurrent()) timer = setTimeout(tick, ms);
  };
  tick();
}

// Fetches a JSON-lines endpoint from where `log` stands until it has caught up.
async function follow(url, log) {
  for (;;) {
    const last = log.records.length ? log.records[log.records.length - 1].step : null;
    const chunk = await getJson(`${url}?from=${log.next}${last === null || last === undefined ? "" : "&step=" + last}`);
    if (chunk.reset) log.records = [];
    append(log.records, chunk.records);
    log.next = chunk.next;
    if (!chunk.more) return;
  }
}

function parseHash() {
  const h = location.hash.replace(/^#/, "") || "/";
  const [path, query] = h.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || "") };
}

function route() {
  const { parts, params } = parseHash();
  if (parts[0] === "run" && parts[1]) return runPage(parts[1], params);
  if (parts[0] === "compare") return comparePage(params);
  return runsPage();
}
window.addEventListener("hashchange", route);

// ---------- charts ----------

let chartCount = 0;

function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) { hi = lo + 1; }
  const span = hi - lo, step0 = span / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

// series: [{name, color, points: [[x, y], ...]}]. Drag to zoom into steps, double-click to reset.
function lineChart(id, title, series, xLabel = "step") {
  const W = 460, H = 220, L = 48, R = 10, T = 8, B = 30;
  const all = [];
  for (const s of series) append(all, s.points);
  const clipId = `clip-${++chartCount}`;
  const card = document.createElement("div");
  card.className = "chart";
  card.dataset.chart = id;
  if (!all.length) { card.innerHTML = `<h3>${esc(title)}</h3><p class="muted">no points yet</p>`; return card; }
  let [x0, x1] = zoom[id] || [minOf(all.map((p) => p[0])), maxOf(all.map((p) => p[0]))];
  if (x1 <= x0) x1 = x0 + 1;
  const visible = all.filter((p) => p[0] >= x0 && p[0] <= x1 && isFinite(p[1]));
  let y0 = minOf(visible.map((p) => p[1])), y1 = maxOf(visible.map((p) => p[1]));
  if (!isFinite(y0)) { y0 = 0; y1 = 1; }
  if (y1 <= y0) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  let svg = `<svg viewBox="0 0 ${W} ${H}" data-x0="${x0}" data-x1="${x1}"><defs><clipPath id="${clipId}"><rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}"/></clipPath></defs><g class="axis">`;
  for (const t of niceTicks(y0, y1)) svg += `<line x1="${L}" x2="${W - R}" y1="${sy(t)}" y2="${sy(t)}" stroke-dasharray="2,3"/><text x="${L - 4}" y="${sy(t) + 3}" text-anchor="end">${fmt(t)}</text>`;
  for (const t of niceTicks(x0, x1, 6)) svg += `<text x="${sx(t)}" y="${H - B + 14}" text-anchor="middle">${fmt(t)}</text>`;
  svg += `<text x="${(L + W - R) / 2}" y="${H - 3}" text-anchor="middle">${esc(xLabel)}</text></g><g clip-path="url(#${clipId})">`;
  for (const s of series) {
    // Long runs are thinned for drawing only (every k-th visible point, and one either side of the
    // view so lines reach its edges); data-count keeps the true count.
    const lo = s.points.findIndex((p) => p[0] >= x0), hiAt = s.points.findIndex((p) => p[0] > x1);
    const inView = lo < 0 ? [] : s.points.slice(Math.max(0, lo - 1), hiAt < 0 ? s.points.length : hiAt + 1);
    const k = Math.max(1, Math.ceil(inView.length / 3000));
    const pts = inView.filter((p, i) => isFinite(p[1]) && (i % k === 0 || i === inView.length - 1));
    const d = pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
    svg += `<polyline fill="none" stroke="${s.color}" stroke-width="1.4" points="${d}" data-series="${esc(s.name)}" data-count="${s.points.length}"/>`;
    if (s.points.length < 40) for (const p of pts) svg += `<circle cx="${sx(p[0])}" cy="${sy(p[1])}" r="2.2" fill="${s.color}"/>`;
  }
  svg += `</g><rect class="sel" x="0" y="${T}" width="0" height="${H - T - B}" fill="rgba(37,99,235,.12)"/><rect class="hit" x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="transparent"/></svg>`;
  const legend = series.map((s) => `<i style="background:${s.color}"></i>${esc(s.name)} ${fmt(s.points.length ? s.points[s.points.length - 1][1] : NaN)}`).join("");
  card.innerHTML = `<h3>${esc(title)}</h3>${svg}<div class="legend">${legend}${zoom[id] ? ' · <span class="muted">double-click: all steps</span>' : ""}</div>`;
  const el = card.querySelector("svg"), sel = card.querySelector(".sel");
  const toX = (ev) => { const r = el.getBoundingClientRect(); return ((ev.clientX - r.left) / r.width) * W; };
  let start = null;
  el.addEventListener("mousedown", (ev) => { start = toX(ev); dragging = true; });
  el.addEventListener("mousemove", (ev) => {
    if (start === null) return;
    const x = toX(ev);
    sel.setAttribute("x", Math.min(start, x)); sel.setAttribute("width", Math.abs(x - start));
  });
  el.addEventListener("mouseleave", () => { start = null; dragging = false; sel.setAttribute("width", 0); });
  el.addEventListener("mouseup", (ev) => {
    dragging = false;
    if (start === null) return;
    const x = toX(ev), a = Math.min(start, x), b = Math.max(start, x);
    start = null;
    if (b - a > 6) {
      const inv = (px) => x0 + ((px - L) / (W - L - R)) * (x1 - x0);
      zoom[id] = [inv(Math.max(a, L)), inv(Math.min(b, W - R))];
      card.replaceWith(lineChart(id, title, series, xLabel));
    } else { sel.setAttribute("width", 0); }
  });
  el.addEventListener("dblclick", () => { delete zoom[id]; card.replaceWith(lineChart(id, title, series, xLabel)); });
  return card;
}

function barChart(title, labels, values) {
  values = values.map((v) => Number(v) || 0);
  const W = 460, H = 200, L = 36, B = 34, T = 8, n = values.length, total = values.reduce((a, b) => a + b, 0) || 1;
  const shares = values.map((v) => v / total), top = Math.max(maxOf(shares), 1 / n) * 1.1;
  const bw = (W - L - 8) / n, sy = (s) => T + (1 - s / top) * (H - T - B);
  let svg = `<svg viewBox="0 0 ${W} ${H}" data-bars="${n}"><g class="axis">`;
  for (const t of niceTicks(0, top, 4)) svg += `<line x1="${L}" x2="${W - 8}" y1="${sy(t)}" y2="${sy(t)}" stroke-dasharray="2,3"/><text x="${L - 4}" y="${sy(t) + 3}" text-anchor="end">${(100 * t).toFixed(0)}%</text>`;
  svg += "</g>";
  shares.forEach((s, i) => {
    svg += `<rect x="${L + i * bw + 2}" y="${sy(s)}" width="${bw - 4}" height="${H - B - sy(s)}" fill="${COLORS[0]}"><title>${esc(labels[i])}: ${values[i]}</title></rect>`;
    svg += `<text x="${L + i * bw + bw / 2}" y="${H - B + 13}" text-anchor="middle" font-size="10" fill="#6b7280">${esc(String(labels[i]).slice(0, 8))}</text>`;
  });
  svg += `<line x1="${L}" x2="${W - 8}" y1="${sy(1 / n)}" y2="${sy(1 / n)}" stroke="#dc2626" stroke-dasharray="4,3"/></svg>`;
  const card = document.createElement("div");
  card.className = "chart";
  card.innerHTML = `<h3>${esc(title)}</h3>${svg}<div class="legend"><i style="background:#dc2626"></i>uniform share</div>`;
  return card;
}

// ---------- shared bits ----------

const state = (s) => `<span class="state ${esc(s)}">${esc(s)}</span>`;
const progress = (r) => {
  const frac = r.total_steps ? Math.min(1, r.step / r.total_steps) : 0;
  return `<span class="bar"><span style="width:${(100 * frac).toFixed(1)}%"></span></span>${r.step}${r.total_steps ? " / " + r.total_steps : ""}`;
};
const ago = (t) => {
  if (!t) return "–";
  const s = Date.now() / 1000 - t;
  return s < 60 ? `${Math.max(0, s).toFixed(0)} s ago` : s < 3600 ? `${(s / 60).toFixed(0)} min ago` : s < 86400 ? `${(s / 3600).toFixed(1)} h ago` : new Date(t * 1000).toLocaleString();
};
const evalText = (e) => {
  if (!e) return "–";
  const bits = [];
  if (e.modes_covered !== undefined) bits.push(`${e.modes_covered}/${e.modes_total} modes`);
  if (e.kl !== undefined) bits.push(`KL ${fmt(e.kl)}`);
  if (e.fid !== undefined) bits.push(`FID ${fmt(e.fid)}`);
  if (e.kid !== undefined) bits.push(`KID ${fmt(e.kid)}`);
  return bits.join(", ") || "–";
};

// Scalars named in a log, in a sensible chart order: losses, D outputs, then the rest.
const SKIP = new Set(["step", "epoch"]);
function chartGroups(keys) {
  const groups = [];
  const take = (title, names) => { const got = names.filter((k) => keys.includes(k)); if (got.length) groups.push([title, got]); got.forEach((k) => keys.splice(keys.indexOf(k), 1)); };
  take("losses", ["loss_d", "loss_g"]);
  take("D(x) and D(G(z))", ["d_real", "d_fake"]);
  const last = keys.includes("images_per_s") ? ["images_per_s"] : [];
  keys.filter((k) => k !== "images_per_s").forEach((k) => groups.push([k, [k]]));
  if (last.length) groups.push(["images/s", last]);
  return groups;
}
// Every scalar key of the records: losses and D's outputs first, images/s last, the rest by name.
const FIRST = ["loss_d", "loss_g", "d_real", "d_fake"];
const scalarKeys = (records) => {
  const keys = [];
  for (const r of records) for (const k of Object.keys(r)) if (!SKIP.has(k) && typeof r[k] === "number" && !keys.includes(k)) keys.push(k);
  const rank = (k) => (FIRST.includes(k) ? FIRST.indexOf(k) : k === "images_per_s" ? 99 : 10);
  return keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
};
const EVAL_KEYS = ["fid", "kid", "modes_covered", "kl", "rarest_share", "high_quality"];

// ---------- runs ----------

function runsPage() {
  view.innerHTML = `<h1>Runs</h1><div id="runs"><p class="muted">loading…</p></div>`;
  every(POLL_MS, async (isCurrent) => {
    const runs = await getJson("/api/runs");
    const el = document.getElementById("runs");
    if (!el || !isCurrent()) return;
    const checked = new Set([...el.querySelectorAll("input:checked")].map((i) => i.value));
    if (!runs.length) { el.innerHTML = `<p class="muted">No runs in this folder yet. Start one with <code>gantry train --out FOLDER/NAME</code>.</p>`; return; }
    el.innerHTML = `<table><thead><tr><th></th><th>run</th><th>state</th><th>model</th><th>dataset</th><th>loss</th><th>step</th><th>loss_d</th><th>loss_g</th><th>last evaluation</th><th>updated</th></tr></thead><tbody>${runs
      .map((r) => `<tr data-run="${esc(r.name)}"><td><input type="checkbox" value="${esc(r.name)}" ${checked.has(r.name) ? "checked" : ""}></td><td><a href="#/run/${encodeURIComponent(r.name)}">${esc(r.name)}</a></td><td>${state(r.state)}</td><td>${esc(r.model)}</td><td>${esc(r.dataset)}</td><td>${esc(r.loss)}</td><td>${progress(r)}</td><td class="num">${fmt(r.last.loss_d)}</td><td class="num">${fmt(r.last.loss_g)}</td><td>${esc(evalText(r.last_eval))}</td><td>${ago(r.updated)}</td></tr>`)
      .join("")}</tbody></table><p><button id="compare">compare selected</button> <span class="muted">(none selected: all runs)</span></p>`;
    document.getElementById("compare").onclick = () => {
      const names = [...el.querySelectorAll("input:checked")].map((i) => i.value);
      location.hash = `#/compare?runs=${names.map(encodeURIComponent).join(",")}`;
    };
  });
}

// ---------- one run ----------

function runPage(name, params) {
  const grid = Number.parseInt(params.get("grid"), 10);
  const data = { log: { records: [], next: 0 }, detail: null, gridIndex: Number.isFinite(grid) ? grid : null };
  view.innerHTML = `<h1>${esc(name)} <span id="run-state"></span></h1><div id="run-head" class="muted"></div><h2>Training curves</h2><div class="charts" id="curves"></div><div id="evals-block"></div><div class="row"><div><h2>Fixed-noise grids</h2><div id="grids"></div></div><div><h2>Class histogram</h2><div id="histogram"></div></div></div><h2>Reproduce</h2><div id="config"></div>`;
  every(POLL_MS, async (isCurrent) => {
    await follow(`/api/runs/${encodeURIComponent(name)}/log`, data.log);
    data.records = data.log.records;
    data.detail = await getJson(`/api/runs/${encodeURIComponent(name)}`);
    if (!isCurrent() || !document.getElementById("curves")) return;
    drawRun(name, data);
  });
}

function drawRun(name, data) {
  const d = data.detail, s = d.summary;
  document.getElementById("run-state").innerHTML = state(s.state);
  document.getElementById("run-head").innerHTML = `${esc(s.model)} on ${esc(s.dataset)}, ${esc(s.loss)} loss · step ${progress(s)} · epoch ${s.epoch}${s.epochs ? " / " + s.epochs : ""} · updated ${ago(s.updated)}${s.error ? `<p class="error">${esc(s.error)}</p>` : ""}`;
  const curves = document.getElementById("curves");
  curves.replaceChildren(...chartGroups(scalarKeys(data.records)).map(([title, keys]) =>
    lineChart(`run-${title}`, title, keys.map((k, i) => ({ name: k, color: COLORS[i], points: data.records.filter((r) => typeof r[k] === "number").map((r) => [r.step, r[k]]) })))));
  const evalKeys = EVAL_KEYS.filter((k) => d.evals.some((e) => typeof e[k] === "number"));
  const evalsBlock = document.getElementById("evals-block");
  if (evalKeys.length) {
    evalsBlock.innerHTML = `<h2>Evaluations during training</h2><div class="charts" id="eval-charts"></div>`;
    document.getElementById("eval-charts").replaceChildren(...evalKeys.map((k) => lineChart(`eval-${k}`, k, [{ name: k, color: COLORS[2], points: d.evals.filter((e) => typeof e[k] === "number").map((e) => [e.step, e[k]]) }])));
  } else evalsBlock.innerHTML = "";
  drawGrids(name, d.grids, data);
  drawHistogram(d);
  const config = document.getElementById("config");
  const key = JSON.stringify([d.config, d.pictures, d.command]);
  if (config.dataset.key !== key) {
    config.dataset.key = key;
    config.innerHTML = `<p>Train it again: <code>${esc(d.reproduce)}</code></p>${d.command ? `<p class="muted">Started with: <code>${esc(d.command)}</code></p>` : ""}${d.pictures.map((p) => `<a href="${fileUrl(name, p)}" target="_blank">${esc(p)}</a>`).join(" · ")}<pre>${esc(d.config || "config.toml is missing")}</pre>`;
  }
}

function drawGrids(name, grids, data) {
  const el = document.getElementById("grids");
  if (!grids.length) { el.innerHTML = `<p class="muted">no grids yet</p>`; return; }
  const last = grids.length - 1;
  // Follows the newest grid unless the slider was moved back.
  let i = data.gridIndex === null ? last : Math.min(Math.max(0, data.gridIndex), last);
  if (!el.querySelector("input")) {
    el.innerHTML = `<div class="grid-viewer"><input id="grid-slider" type="range" min="0" step="1"><div><b id="grid-label"></b> <span class="muted" id="grid-count"></span></div><img id="grid-image" alt="fixed-noise grid"></div>`;
    el.querySelector("input").addEventListener("input", (ev) => { const v = +ev.target.value; data.gridIndex = v === +ev.target.max ? null : v; drawGrids(name, data.detail.grids, data); });
  }
  const slider = document.getElementById("grid-slider"), img = document.getElementById("grid-image");
  slider.max = last; slider.value = i;
  document.getElementById("grid-label").textContent = grids[i].label;
  document.getElementById("grid-count").textContent = `${i + 1} of ${grids.length}`;
  const src = fileUrl(name, grids[i].file);
  if (img.getAttribute("src") !== src) img.setAttribute("src", src);
  img.dataset.file = grids[i].file;
}

function drawHistogram(d) {
  const el = document.getElementById("histogram");
  const latest = [...d.evals].reverse().find((e) => Array.isArray(e.histogram));
  let labels, counts, title;
  if (latest) { labels = latest.classes || latest.histogram.map((_, i) => i); counts = latest.histogram; title = `step ${latest.step}: ${evalText(latest)}`; }
  else if (d.modes && Array.isArray(d.modes.counts)) { labels = d.modes.class_names || d.modes.counts.map((_, i) => i); counts = d.modes.counts; title = `end of run: ${d.modes.samples} samples, KL ${fmt(d.modes.kl_uniform)}`; }
  if (!counts && d.pictures.includes("eval/modes_scatter.png")) {
    el.innerHTML = `<div class="grid-viewer"><b>end of run: samples over the mixture's modes</b><img src="${fileUrl(d.summary.name, "eval/modes_scatter.png")}" alt="mode scatter"></div>`;
    return;
  }
  if (!counts) { el.innerHTML = `<p class="muted">no mode evaluation yet (set <code>eval_every</code>, or wait for the end-of-run check)</p>`; return; }
  el.replaceChildren(barChart(title, labels, counts));
}

// ---------- compare ----------

function comparePage(params) {
  const chosen = (params.get("runs") || "").split(",").filter(Boolean);
  const logs = {}, evals = {};
  view.innerHTML = `<h1>Compare runs</h1><div class="picker" id="picker"></div><h2>Final numbers</h2><div id="table"></div><h2>Curves</h2><div class="charts" id="overlay"></div><h2>Grids at the same step</h2><div id="same-step"></div>`;
  let stepChoice = null;
  every(POLL_MS, async (isCurrent) => {
    const runs = await getJson("/api/runs");
    if (!isCurrent()) return;
    const names = chosen.length ? chosen.filter((n) => runs.some((r) => r.name === n)) : runs.map((r) => r.name);
    const picker = document.getElementById("picker");
    if (!picker) return;
    picker.innerHTML = runs.map((r) => `<label><input type="checkbox" value="${esc(r.name)}" ${names.includes(r.name) ? "checked" : ""}> ${esc(r.name)}</label>`).join("");
    picker.querySelectorAll("input").forEach((i) => (i.onchange = () => {
      location.hash = `#/compare?runs=${[...picker.querySelectorAll("input:checked")].map((x) => encodeURIComponent(x.value)).join(",")}`;
    }));
    const q = names.map(encodeURIComponent).join(",");
    const rows = await getJson(`/api/compare?runs=${q}`);
    if (!isCurrent()) return;
    document.getElementById("table").innerHTML = `<table><thead><tr><th>run</th><th>state</th><th>model</th><th>dataset</th><th>loss</th><th>steps</th><th>loss_d</th><th>loss_g</th><th>FID</th><th>KID</th><th>modes</th><th>KL</th><th>best</th></tr></thead><tbody>${rows
      .map((r) => `<tr><td><a href="#/run/${encodeURIComponent(r.run)}">${esc(r.run)}</a></td><td>${state(r.state)}</td><td>${esc(r.model)}</td><td>${esc(r.dataset)}</td><td>${esc(r.loss)}</td><td class="num">${r.step}</td><td class="num">${fmt(r.loss_d)}</td><td class="num">${fmt(r.loss_g)}</td><td class="num">${fmt(r.fid)}</td><td class="num">${fmt(r.kid)}</td><td>${esc(r.modes ?? "–")}</td><td class="num">${fmt(r.kl)}</td><td>${esc(r.best ?? "–")}</td></tr>`)
      .join("")}</tbody></table><p><a href="/api/compare.md?runs=${q}" target="_blank">this table as Markdown</a></p>`;
    const details = {};
    for (const n of names) {
      const l = logs[n] || (logs[n] = { records: [], next: 0 });
      await follow(`/api/runs/${encodeURIComponent(n)}/log`, l);
      details[n] = await getJson(`/api/runs/${encodeURIComponent(n)}`);
      evals[n] = details[n].evals;
    }
    if (!isCurrent()) return;
    const keys = [];
    names.forEach((n) => scalarKeys(logs[n].records).forEach((k) => keys.includes(k) || keys.push(k)));
    const charts = keys.map((k) => lineChart(`cmp-${k}`, k, names.map((n, i) => ({ name: n, color: COLORS[i % COLORS.length], points: logs[n].records.filter((r) => typeof r[k] === "number").map((r) => [r.step, r[k]]) }))));
    EVAL_KEYS.filter((k) => names.some((n) => evals[n].some((e) => typeof e[k] === "number"))).forEach((k) =>
      charts.push(lineChart(`cmp-eval-${k}`, `${k} (evaluations)`, names.map((n, i) => ({ name: n, color: COLORS[i % COLORS.length], points: evals[n].filter((e) => typeof e[k] === "number").map((e) => [e.step, e[k]]) })))));
    document.getElementById("overlay").replaceChildren(...charts);
    const setStep = (v) => { stepChoice = v; drawSameStep(names, details, () => stepChoice, setStep); };
    drawSameStep(names, details, () => stepChoice, setStep);
  });
}

function drawSameStep(names, details, getStep, setStep) {
  const el = document.getElementById("same-step");
  const steps = [...new Set(names.flatMap((n) => details[n].grids.filter((g) => g.step !== null && g.step !== undefined).map((g) => g.step)))].sort((a, b) => a - b);
  if (!steps.length) { el.innerHTML = `<p class="muted">no grids yet</p>`; return; }
  const chosen = getStep() ?? steps[steps.length - 1];
  const idx = Math.max(0, steps.findIndex((s) => s >= chosen));
  const step = steps[idx] ?? steps[steps.length - 1];
  const figures = names.map((n) => {
    const gs = details[n].grids.filter((g) => typeof g.step === "number" && g.step <= step);
    const g = gs[gs.length - 1];
    return `<figure>${g ? `<img src="${fileUrl(n, g.file)}" alt="${esc(n)}">` : `<p class="muted">no grid by step ${step}</p>`}<figcaption>${esc(n)}${g ? ` · ${esc(g.label)}` : ""}</figcaption></figure>`;
  });
  el.innerHTML = `<p>step <input type="range" id="same-step-slider" min="0" max="${steps.length - 1}" value="${idx}"> <b>${step}</b></p><div class="side-by-side">${figures.join("")}</div>`;
  el.querySelector("input").addEventListener("change", (ev) => setStep(steps[+ev.target.value]));
}

route();
