// gantry playground: the page side of a 2-D GAN trained on the server (src/playground/). The page
// opens a session, receives frames as server-sent events and draws them; every button is a
// command to the session. Nothing here trains: the numbers all come from gantry's Trainer.
'use strict';

const $ = (id) => document.getElementById(id);
const FIELDS = ['dataset', 'layers', 'neurons', 'loss', 'regulariser', 'weight', 'optimizer', 'lr_d', 'lr_g', 'd_steps', 'batch_size', 'z_dim', 'noise', 'seed'];
const NUMBER_FIELDS = new Set(['layers', 'neurons', 'weight', 'lr_d', 'lr_g', 'd_steps', 'batch_size', 'z_dim', 'seed']);
const REAL = '#16a34a', FAKE = '#7c3aed';

// What the tests (and a curious learner in the console) can read.
const state = window.playground = { session: null, frame: null, frames: 0, settings: null, drawn: [], drawing: false, about: null };
let events = null;

async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = {};
  try { data = await r.json(); } catch (_) { /* 204: no body */ }
  if (!r.ok) throw new Error(data.error || `${method} ${path}: HTTP ${r.status}`);
  return data;
}

function message(text) { $('message').textContent = text || ''; }

// ---- settings <-> form <-> link ----
function readForm() {
  const s = {};
  for (const f of FIELDS) {
    const v = $('f-' + f).value;
    s[f] = NUMBER_FIELDS.has(f) ? Number(v) : v;
  }
  if (s.dataset === 'drawn') s.points = state.drawn;
  return s;
}

function writeForm(s) {
  for (const f of FIELDS) if (s[f] !== undefined) $('f-' + f).value = s[f];
}

function linkOf(s) {
  const q = new URLSearchParams();
  for (const f of FIELDS) q.set(f, s[f]);
  if (s.dataset === 'drawn') q.set('points', s.points.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join(';'));
  return `${location.origin}/playground#${q}`;
}

function settingsFromLink() {
  if (location.hash.length < 2) return null;
  const q = new URLSearchParams(location.hash.slice(1));
  const s = {};
  for (const f of FIELDS) if (q.has(f)) s[f] = NUMBER_FIELDS.has(f) ? Number(q.get(f)) : q.get(f);
  if (q.has('points')) s.points = q.get('points').split(';').filter(Boolean).map((p) => p.split(',').map(Number));
  return s;
}

// ---- the session ----
let opening = false;
async function openSession(settings) {
  if (opening) return; // one session per page, even when a stream error and a command both ask
  opening = true;
  if (events) events.close();
  state.session = null;
  try {
    const { id } = await api('POST', '/api/playground/sessions', settings);
    state.session = id;
  } catch (e) { message(e.message); return; } finally { opening = false; }
  events = new EventSource(`/api/playground/sessions/${state.session}/frames`);
  events.onmessage = (e) => onFrame(JSON.parse(e.data));
  events.onerror = () => {
    // The session ended (idle, or the server restarted): open a fresh one with the same settings.
    if (events && events.readyState === EventSource.CLOSED) setTimeout(() => openSession(readForm()), 1000);
  };
}

async function command(action, extra) {
  if (state.session === null) return;
  try { await api('POST', `/api/playground/sessions/${state.session}/command`, Object.assign({ action }, extra || {})); message(''); }
  catch (e) {
    message(e.message);
    if (/no playground session/.test(e.message)) openSession(readForm());
  }
}

function onFrame(f) {
  if (f.fake === undefined) { message(f.message || ''); return; }
  state.frame = f;
  state.frames += 1;
  state.settings = f.settings;
  message(f.message);
  $('play').textContent = f.playing ? 'Pause' : 'Play';
  drawPlane();
  drawReadout(f);
  drawLosses(f.curves);
  drawModes(f.modes);
}

// ---- drawing the plane ----
const plane = $('plane');
const ctx = plane.getContext('2d');
const toPx = (v, range) => (v + range) / (2 * range) * plane.width;
const toPy = (v, range) => (range - v) / (2 * range) * plane.height;
const fromPx = (px, range) => px / plane.width * 2 * range - range;
const fromPy = (py, range) => range - py / plane.height * 2 * range;

// D(x) from "fake" (purple) through white to "real" (green), as GAN Lab colours it.
function heatColour(t) {
  const lerp = (a, b, u) => Math.round(a + (b - a) * u);
  const [lo, mid, hi] = [[124, 58, 237], [245, 245, 245], [22, 163, 74]];
  return t < 0.5 ? lo.map((c, i) => lerp(c, mid[i], t * 2)) : mid.map((c, i) => lerp(c, hi[i], (t - 0.5) * 2));
}

const heatCanvas = document.createElement('canvas');

function drawPlane() {
  const f = state.frame;
  const range = f ? f.range : 2.2;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, plane.width, plane.height);
  if (!f) return;
  if ($('show-heat').checked) {
    const n = f.heat.size;
    heatCanvas.width = n; heatCanvas.height = n;
    const hctx = heatCanvas.getContext('2d');
    const img = hctx.createImageData(n, n);
    f.heat.values.forEach((v, i) => {
      const [r, g, b] = heatColour(v / 255);
      img.data.set([r, g, b, 150], i * 4);
    });
    hctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas, 0, 0, plane.width, plane.height);
  }
  if ($('show-manifold').checked) {
    const n = f.lattice.size, p = f.lattice.points;
    ctx.strokeStyle = 'rgba(55, 65, 81, 0.45)';
    ctx.lineWidth = 1;
    const at = (i, j) => [toPx(p[2 * (i * n + j)], range), toPy(p[2 * (i * n + j) + 1], range)];
    for (let i = 0; i < n; i++) {
      ctx.beginPath();
      for (let j = 0; j < n; j++) { const [x, y] = at(i, j); j ? ctx.lineTo(x, y) : ctx.moveTo(x, y); }
      ctx.stroke();
      ctx.beginPath();
      for (let j = 0; j < n; j++) { const [x, y] = at(j, i); j ? ctx.lineTo(x, y) : ctx.moveTo(x, y); }
      ctx.stroke();
    }
  }
  const dots = (v, colour, r) => {
    ctx.fillStyle = colour;
    for (let i = 0; i + 1 < v.length; i += 2) { ctx.beginPath(); ctx.arc(toPx(v[i], range), toPy(v[i + 1], range), r, 0, 2 * Math.PI); ctx.fill(); }
  };
  if ($('show-real').checked) dots(f.real, REAL, 2.5);
  if (state.drawing) dots(state.drawn.flat(), '#f59e0b', 2.5);
  if ($('show-fake').checked) dots(f.fake, FAKE, 2.5);
  if ($('show-pull').checked) {
    // Arrows scaled so that the longest is a tenth of the plane.
    let longest = 1e-12;
    for (let i = 0; i < f.pull.length; i += 2) longest = Math.max(longest, Math.hypot(f.pull[i], f.pull[i + 1]));
    const scale = 0.2 * range / longest;
    ctx.strokeStyle = 'rgba(17, 24, 39, 0.7)';
    for (let i = 0; i < f.fake.length; i += 2) {
      const x = f.fake[i], y = f.fake[i + 1];
      ctx.beginPath();
      ctx.moveTo(toPx(x, range), toPy(y, range));
      ctx.lineTo(toPx(x + scale * f.pull[i], range), toPy(y + scale * f.pull[i + 1], range));
      ctx.stroke();
    }
  }
}

function drawReadout(f) {
  const last = f.last || {};
  const fmt = (v, d = 4) => (typeof v === 'number' && isFinite(v) ? v.toFixed(d) : '–');
  const rows = [
    ['generator steps', f.step], ['D steps by hand', f.d_by_hand],
    ['loss D', fmt(last.loss_d)], ['loss G', fmt(last.loss_g)],
    ['D(real)', fmt(last.d_real)], ['D(fake)', fmt(last.d_fake)],
    ['‖∇x D‖ at fakes, mean', fmt(f.grad_norm.mean)], ['‖∇x D‖ at fakes, max', fmt(f.grad_norm.max)],
  ];
  if (last.grad_norm_mean !== undefined) rows.push(['penalty ‖∇D‖ mean', fmt(last.grad_norm_mean)]);
  if (last.wasserstein !== undefined) rows.push(['Wasserstein estimate', fmt(last.wasserstein)]);
  const m = f.modes && f.modes.series[f.modes.series.length - 1];
  if (m) rows.push(['modes covered', `${m.covered} / ${f.modes.total}`], ['high-quality share', fmt(m.high_quality, 3)], ['reverse KL', fmt(m.kl, 3)]);
  else rows.push(['modes', 'no modes to count in this distribution']);
  $('readout').replaceChildren(...rows.flatMap(([k, v]) => [Object.assign(document.createElement('span'), { textContent: k }), Object.assign(document.createElement('span'), { textContent: String(v), id: 'r-' + k.replace(/\W+/g, '-') })]));
}

// A small line chart on a canvas: series of [x, y] with their own colour (and y scale when asked).
function chart(canvas, series, shared) {
  const c = canvas.getContext('2d');
  const W = canvas.width, H = canvas.height, pad = 28;
  c.fillStyle = '#fff'; c.fillRect(0, 0, W, H);
  const all = series.flatMap((s) => s.points).filter((p) => isFinite(p[1]));
  if (all.length < 2) { c.fillStyle = '#6b7280'; c.font = '12px sans-serif'; c.fillText('waiting for steps…', pad, H / 2); return; }
  const xs = all.map((p) => p[0]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const span = (pts) => { const ys = pts.map((p) => p[1]).filter(isFinite); const lo = Math.min(...ys), hi = Math.max(...ys); return hi > lo ? [lo, hi] : [lo - 1, hi + 1]; };
  const sharedSpan = span(all);
  c.strokeStyle = '#e5e7eb'; c.strokeRect(pad, 4, W - pad - 4, H - pad);
  c.fillStyle = '#6b7280'; c.font = '11px sans-serif';
  c.fillText(String(x0), pad, H - 8); c.fillText(String(x1), W - 40, H - 8);
  if (shared) { c.fillText(sharedSpan[1].toPrecision(3), 2, 14); c.fillText(sharedSpan[0].toPrecision(3), 2, H - pad); }
  for (const s of series) {
    const [y0, y1] = s.range || (shared ? sharedSpan : span(s.points));
    c.strokeStyle = s.colour; c.lineWidth = 1.5; c.beginPath();
    s.points.forEach(([x, y], i) => {
      const px = pad + (x - x0) / (x1 - x0) * (W - pad - 4), py = 4 + (1 - (y - y0) / (y1 - y0)) * (H - pad - 4);
      i ? c.lineTo(px, py) : c.moveTo(px, py);
    });
    c.stroke();
  }
}

function drawLosses(curves) {
  const pts = (ys) => curves.step.map((x, i) => [x, ys[i]]);
  chart($('losses'), [{ points: pts(curves.loss_d), colour: '#2563eb' }, { points: pts(curves.loss_g), colour: '#ea580c' }], true);
}

function drawModes(modes) {
  $('modes-legend').hidden = !modes;
  if (!modes) {
    const c = $('modes').getContext('2d');
    c.fillStyle = '#fff'; c.fillRect(0, 0, 600, 170); c.fillStyle = '#6b7280'; c.font = '12px sans-serif';
    c.fillText('Mode coverage is measured on the mixtures (ring8, grid25).', 28, 85);
    return;
  }
  const s = modes.series;
  chart($('modes'), [
    { points: s.map((m) => [m.step, m.covered]), colour: '#16a34a', range: [0, modes.total] },
    { points: s.map((m) => [m.step, m.high_quality]), colour: '#7c3aed', range: [0, 1] },
    { points: s.map((m) => [m.step, m.kl]), colour: '#dc2626' },
  ], false);
}

// ---- drawing a distribution by dragging ----
let dragging = false;
function addDrawnPoint(e) {
  const rect = plane.getBoundingClientRect();
  const range = state.frame ? state.frame.range : 2.2;
  const x = fromPx((e.clientX - rect.left) * plane.width / rect.width, range);
  const y = fromPy((e.clientY - rect.top) * plane.height / rect.height, range);
  const max = state.about ? state.about.max.points : 2000;
  const last = state.drawn[state.drawn.length - 1];
  if (state.drawn.length < max && (!last || Math.hypot(last[0] - x, last[1] - y) > 0.02)) state.drawn.push([x, y]);
  drawPlane();
}
plane.addEventListener('pointerdown', (e) => { if (state.drawing) { dragging = true; addDrawnPoint(e); } });
plane.addEventListener('pointermove', (e) => { if (dragging) addDrawnPoint(e); });
window.addEventListener('pointerup', () => {
  if (!dragging) return;
  dragging = false;
  // The drawing becomes the real distribution at once.
  $('f-dataset').value = 'drawn';
  command('reset', { settings: readForm() });
});
$('draw').onclick = () => {
  state.drawing = !state.drawing;
  plane.classList.toggle('drawing', state.drawing);
  $('draw').textContent = state.drawing ? 'Done drawing' : 'Draw';
  drawPlane();
};
$('clear-drawing').onclick = () => { state.drawn = []; drawPlane(); };

// ---- controls ----
$('play').onclick = () => command(state.frame && state.frame.playing ? 'pause' : 'play');
$('d-step').onclick = () => command('d_step');
$('g-step').onclick = () => command('g_step');
$('step').onclick = () => command('step');
$('slow').onchange = () => command('slow', { slow: $('slow').checked });
$('reset').onclick = () => {
  const s = readForm();
  if (s.dataset === 'drawn' && !s.points.length) { message('Draw some points first: press Draw and drag on the plane.'); return; }
  command('reset', { settings: s });
};
$('share').onclick = () => {
  const link = linkOf(readForm());
  $('share-link').value = link;
  history.replaceState(null, '', link);
  if (navigator.clipboard) navigator.clipboard.writeText(link).catch(() => {});
};
$('save').onclick = async () => {
  if (state.session === null) return;
  $('saved').textContent = 'saving…';
  try {
    const { run } = await api('POST', `/api/playground/sessions/${state.session}/save`);
    $('saved').replaceChildren('saved as ', Object.assign(document.createElement('a'), { href: `/#/run/${encodeURIComponent(run)}`, textContent: run, id: 'saved-run' }));
  } catch (e) { $('saved').textContent = e.message; }
};
// Weight clipping's bound is a small number, the penalties' weights are around 10.
$('f-regulariser').onchange = () => {
  const w = $('f-weight');
  if ($('f-regulariser').value === 'clip') w.value = 0.01;
  else if (Number(w.value) < 0.1) w.value = 10;
};
for (const id of ['show-real', 'show-fake', 'show-heat', 'show-manifold', 'show-pull']) $(id).onchange = drawPlane;
window.addEventListener('pagehide', () => { if (state.session !== null) navigator.sendBeacon(`/api/playground/sessions/${state.session}/close`); });

// ---- the minimax scene ----
$('tab-gan').onclick = () => { $('scene-gan').hidden = false; $('scene-minimax').hidden = true; $('tab-gan').classList.add('active'); $('tab-minimax').classList.remove('active'); };
$('tab-minimax').onclick = () => { $('scene-gan').hidden = true; $('scene-minimax').hidden = false; $('tab-minimax').classList.add('active'); $('tab-gan').classList.remove('active'); runMinimax(); };
let minimaxTimer = null;
async function runMinimax() {
  const q = new URLSearchParams({ lr: $('m-lr').value, steps: $('m-steps').value, x0: $('m-x0').value, y0: $('m-y0').value });
  let t;
  try { t = await api('GET', `/api/playground/minimax?${q}`); $('m-message').textContent = ''; } catch (e) { $('m-message').textContent = e.message; return; }
  const c = $('minimax').getContext('2d');
  const all = t.alternating.concat(t.simultaneous);
  const range = Math.max(1, ...all.map(([x, y]) => Math.max(Math.abs(x), Math.abs(y)))) * 1.1;
  const px = (x) => (x + range) / (2 * range) * 512, py = (y) => (range - y) / (2 * range) * 512;
  clearInterval(minimaxTimer);
  let shown = 1;
  minimaxTimer = setInterval(() => {
    shown = Math.min(shown + 3, t.alternating.length);
    c.fillStyle = '#fff'; c.fillRect(0, 0, 512, 512);
    c.strokeStyle = '#e5e7eb'; c.beginPath(); c.moveTo(0, 256); c.lineTo(512, 256); c.moveTo(256, 0); c.lineTo(256, 512); c.stroke();
    c.fillStyle = '#6b7280'; c.font = '12px sans-serif'; c.fillText(`x (axis ±${range.toFixed(2)})`, 440, 250); c.fillText('y', 262, 14);
    for (const [pts, colour] of [[t.alternating, '#2563eb'], [t.simultaneous, '#ea580c']]) {
      c.strokeStyle = colour; c.lineWidth = 1.5; c.beginPath();
      pts.slice(0, shown).forEach(([x, y], i) => (i ? c.lineTo(px(x), py(y)) : c.moveTo(px(x), py(y))));
      c.stroke();
      const [x, y] = pts[shown - 1];
      c.fillStyle = colour; c.beginPath(); c.arc(px(x), py(y), 4, 0, 2 * Math.PI); c.fill();
    }
    c.fillStyle = '#111827'; c.beginPath(); c.arc(256, 256, 3, 0, 2 * Math.PI); c.fill();
    if (shown >= t.alternating.length) clearInterval(minimaxTimer);
  }, 30);
}
$('m-run').onclick = runMinimax;

// ---- start ----
(async function start() {
  try { state.about = await api('GET', '/api/playground'); } catch (e) { message(e.message); return; }
  const select = $('f-dataset');
  for (const d of state.about.datasets) select.append(Object.assign(document.createElement('option'), { value: d, textContent: d }));
  for (const [f, max] of Object.entries(state.about.max)) if ($('f-' + f)) $('f-' + f).max = max;
  const settings = Object.assign({}, state.about.defaults, settingsFromLink() || {});
  if (settings.points) state.drawn = settings.points;
  if (settings.dataset === 'drawn' && !state.drawn.length) {
    settings.dataset = state.about.defaults.dataset;
    message('The link names a drawing without points; showing the default distribution.');
  }
  writeForm(settings);
  drawPlane();
  await openSession(readForm());
})();
