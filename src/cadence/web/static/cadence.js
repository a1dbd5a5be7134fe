// Cadence tablet pages: live updates from one server-sent-event stream per page, and uPlot charts.
// Plain browser JavaScript, no build step; served by Cadence itself (CSP script-src 'self').
(function () {
  "use strict";

  const locale = document.body.dataset.locale === "en" ? "en-GB" : "fr-FR";
  const numberFormats = new Map();
  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    const key = digits === undefined ? "auto" : String(digits);
    if (!numberFormats.has(key)) {
      const options = digits === undefined ? { maximumFractionDigits: 1 } : { minimumFractionDigits: digits, maximumFractionDigits: digits };
      numberFormats.set(key, new Intl.NumberFormat(locale, options));
    }
    return numberFormats.get(key).format(value);
  }
  function pct(ratio) {
    return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 }).format(ratio);
  }
  const formats = JSON.parse((document.getElementById("formats") || { textContent: "{}" }).textContent || "{}");
  const stateLabels = formats.state_labels || {};
  const stateIcons = formats.state_icons || {};

  // --- live updates ------------------------------------------------------------------------------------

  function setField(root, name, text) {
    const el = root.querySelector('[data-field="' + name + '"]');
    if (el && el.textContent !== text) el.textContent = text;
  }

  function applyState(root, state) {
    if (!state) return;
    for (const cls of Array.from(root.classList)) if (cls.startsWith("state-")) root.classList.remove(cls);
    root.classList.add("state-" + state);
    const box = root.querySelector('[data-field="state"]');
    if (box) {
      box.querySelector(".state-icon").textContent = stateIcons[state] || "";
      box.querySelector(".state-word").textContent = stateLabels[state] || state;
    }
  }

  function applySnapshot(root, snap) {
    if (snap.state) applyState(root, snap.state.state || snap.state);
    if (snap.good !== undefined) setField(root, "good", fmt(snap.good, 0));
    if (snap.scrap !== undefined) setField(root, "scrap", fmt(snap.scrap, 0));
    const stroke = snap.last_stroke || snap.stroke;
    if (stroke) applyStroke(root, stroke);
    const values = snap.values || {};
    if (values.oil_temp) setField(root, "oil_temp", fmt(values.oil_temp.value, 1));
  }

  function applyStroke(root, stroke) {
    if (stroke.cycle_time_s !== undefined && stroke.cycle_time_s !== null) {
      setField(root, "cycle", fmt(stroke.cycle_time_s, 1));
      const target = parseFloat(root.dataset.targetCycle || "");
      const cell = root.querySelector('[data-field="cycle"]');
      if (cell && target) cell.classList.toggle("cycle-late", stroke.cycle_time_s > target * 1.1);
    }
    if (stroke.order) setField(root, "order", stroke.order + (stroke.part ? " · " + stroke.part : ""));
  }

  function rootsFor(machine) {
    return document.querySelectorAll('[data-machine="' + machine + '"]');
  }

  function connectLive() {
    const holder = document.querySelector("[data-live]");
    const status = document.getElementById("live-status");
    if (!holder || !window.EventSource) {
      if (status) status.remove();
      return;
    }
    const source = new EventSource(holder.dataset.live);
    const mark = (state, text) => { if (status) { status.dataset.state = state; status.textContent = text; } };
    source.onopen = () => mark("live", formats.live_label || "Live");
    source.onerror = () => mark("lost", formats.lost_label || "…");
    const each = (data, fn) => { for (const root of rootsFor(data.machine)) fn(root, data); };
    source.addEventListener("snapshot", (e) => {
      const data = JSON.parse(e.data);
      for (const snap of data.machines || [data]) each(snap, applySnapshot);
    });
    source.addEventListener("state", (e) => each(JSON.parse(e.data), (root, d) => applyState(root, d.state)));
    source.addEventListener("stroke", (e) => {
      const data = JSON.parse(e.data);
      each(data, (root, d) => {
        applyStroke(root, d.stroke || d);
        if (d.good !== undefined) setField(root, "good", fmt(d.good, 0));
        if (d.scrap !== undefined) setField(root, "scrap", fmt(d.scrap, 0));
      });
      document.dispatchEvent(new CustomEvent("cadence:stroke", { detail: data }));
    });
    source.addEventListener("values", (e) => {
      const data = JSON.parse(e.data);
      each(data, (root, d) => {
        const values = d.values || {};
        if (values.oil_temp) setField(root, "oil_temp", fmt(values.oil_temp.value, 1));
      });
      document.dispatchEvent(new CustomEvent("cadence:values", { detail: data }));
    });
    window.addEventListener("beforeunload", () => source.close());
  }

  // --- charts (press page) -----------------------------------------------------------------------------

  function chartWidth(el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width));
  }

  // Times are shown in the plant's time zone with a 24-hour clock (uPlot's defaults are the browser's
  // zone and English 12-hour labels).
  const plantZone = formats.timezone || "Europe/Paris";
  const clockFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone: plantZone });
  const stampFormat = new Intl.DateTimeFormat(locale, {
    day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: plantZone,
  });
  const timeOpts = {
    scales: { x: { time: true } },
    axes: [
      { stroke: "#111418", values: (u, splits) => splits.map((s) => clockFormat.format(new Date(s * 1000))) },
      { stroke: "#111418", size: 64, values: (u, splits) => splits.map((v) => fmt(v, 1)) },
    ],
  };

  // Markers of what people recorded (stop reasons, notes, scrap, orders): a dashed line and its sign on the
  // chart, and the text under it when the cursor (or a finger) comes within a few pixels.
  const markColors = { stop: "#c4161c", note: "#1f56c7", scrap: "#8a1c8f", order_start: "#0b7a3b", order_end: "#0b7a3b" };
  function markPlugin(marks, note) {
    const near = (u, left) => marks.find((m) => Math.abs(u.valToPos(m.at_us / 1e6, "x") - left) < 12);
    return {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx, dpr = window.devicePixelRatio || 1, box = u.bbox;
          ctx.save();
          ctx.font = Math.round(16 * dpr) + "px 'DejaVu Sans', sans-serif";
          ctx.textAlign = "center";
          for (const m of marks) {
            const x = Math.round(u.valToPos(m.at_us / 1e6, "x", true));
            if (x < box.left || x > box.left + box.width) continue;
            ctx.strokeStyle = ctx.fillStyle = markColors[m.kind] || "#111418";
            ctx.lineWidth = 2 * dpr;
            ctx.setLineDash([5 * dpr, 4 * dpr]);
            ctx.beginPath(); ctx.moveTo(x, box.top + 20 * dpr); ctx.lineTo(x, box.top + box.height); ctx.stroke();
            ctx.fillText(m.icon, x, box.top + 16 * dpr);
          }
          ctx.restore();
        }],
        // The text stays when the finger lifts (or the chart is redrawn) until another spot is touched.
        setCursor: [(u) => {
          if (!note || u.cursor.left < 0) return;
          const m = near(u, u.cursor.left);
          note.textContent = m ? stampFormat.format(new Date(m.at_us / 1000)) + " · " + m.text : "";
        }],
      },
    };
  }

  function trendChart(el, range, marks, current) {
    const machine = document.querySelector(".press-head").dataset.machine;
    const url = "/api/v1/machines/" + machine + "/series/" + el.dataset.signal + "?start=-" + range + "&resolution=auto";
    return fetch(url, { credentials: "same-origin" }).then((r) => r.json()).then((body) => {
      if (current && !current()) return; // a later refresh (another range) owns the chart now
      const xs = (body.ts_us || []).map((t) => t / 1e6);
      const ys = body.values || [];
      el.innerHTML = "";
      const items = (marks && marks.annotations) || [];
      const note = el.nextElementSibling && el.nextElementSibling.classList.contains("chart-note") ? el.nextElementSibling : null;
      const opts = Object.assign({}, timeOpts, {
        width: chartWidth(el), height: 200,
        series: [
          { label: formats.time_label || "Time", value: (u, v) => (v == null ? "—" : stampFormat.format(new Date(v * 1000))) },
          { label: el.dataset.label + " (" + el.dataset.unit + ")", stroke: "#1f56c7", width: 2, value: (u, v) => fmt(v, 1) },
        ],
        plugins: [markPlugin(items, note)],
      });
      // With markers known, the chart spans the whole range asked for (on the server's clock), so a note
      // written after the last sample still shows.
      if (marks && marks.start_us) {
        opts.scales = { x: { time: true, range: () => [marks.start_us / 1e6, marks.end_us / 1e6] } };
      }
      el._plot = new window.uPlot(opts, [xs, ys], el);
      el.dataset.points = String(xs.length);
      el.dataset.marks = String(items.length);
    });
  }

  function strokeChart(el) {
    return fetch(el.dataset.strokes, { credentials: "same-origin" }).then((r) => r.json()).then((body) => {
      const strokes = (body.strokes || []).filter((s) => s.waveform && s.waveform.signals.pressure);
      el.innerHTML = "";
      if (!strokes.length) { el.textContent = formats.no_stroke_label || "—"; return; }
      const last = strokes[0];
      const normal = strokes.filter((s) => s.good);
      const n = last.waveform.signals.pressure.length;
      const dt = last.waveform.dt_us / 1e6;
      const xs = Array.from({ length: n }, (_, i) => i * dt);
      const lo = new Array(n).fill(null), hi = new Array(n).fill(null);
      for (const s of normal) {
        const p = s.waveform.signals.pressure;
        for (let i = 0; i < Math.min(n, p.length); i++) {
          lo[i] = lo[i] === null ? p[i] : Math.min(lo[i], p[i]);
          hi[i] = hi[i] === null ? p[i] : Math.max(hi[i], p[i]);
        }
      }
      const position = last.waveform.signals.position || new Array(n).fill(null);
      const opts = {
        width: chartWidth(el), height: 240,
        scales: { x: { time: false }, bar: {}, mm: {} },
        series: [
          { label: "s", value: (u, v) => fmt(v, 2) },
          { label: "min", stroke: "#9aa3ad", scale: "bar", width: 1 },
          { label: "max", stroke: "#9aa3ad", scale: "bar", width: 1 },
          { label: (formats.pressure_label || "Pressure") + " (bar)", stroke: "#c4161c", scale: "bar", width: 2 },
          { label: (formats.position_label || "Position") + " (mm)", stroke: "#1f56c7", scale: "mm", width: 2 },
        ],
        bands: [{ series: [2, 1], fill: "rgba(11,122,59,0.15)" }],
        axes: [
          { stroke: "#111418", values: (u, splits) => splits.map((v) => fmt(v, 1)) },
          { scale: "bar", stroke: "#111418", size: 56, values: (u, splits) => splits.map((v) => fmt(v, 0)) },
          { scale: "mm", side: 1, stroke: "#1f56c7", size: 56, grid: { show: false }, values: (u, splits) => splits.map((v) => fmt(v, 0)) },
        ],
      };
      el._plot = new window.uPlot(opts, [xs, lo, hi, last.waveform.signals.pressure, position], el);
      el.dataset.stroke = String(last.n);
    });
  }

  function histogram(el, values) {
    el.innerHTML = "";
    if (!values.length) { el.textContent = formats.no_stroke_label || "—"; return; }
    const min = Math.floor(Math.min(...values) * 2) / 2, max = Math.ceil(Math.max(...values) * 2) / 2 + 0.5;
    const width = 0.5;
    const xs = [], ys = [];
    for (let x = min; x < max; x += width) { xs.push(x); ys.push(0); }
    for (const v of values) ys[Math.min(ys.length - 1, Math.floor((v - min) / width))] += 1;
    const opts = {
      width: chartWidth(el), height: 240, scales: { x: { time: false } },
      series: [{ label: "s" }, { label: formats.count_label || "n", fill: "rgba(31,86,199,0.6)", stroke: "#1f56c7",
        paths: window.uPlot.paths.bars({ size: [0.9, 60] }) }],
      axes: [
        { stroke: "#111418", values: (u, splits) => splits.map((v) => fmt(v, 1)) },
        { stroke: "#111418", values: (u, splits) => splits.map((v) => fmt(v, 0)) },
      ],
    };
    el._plot = new window.uPlot(opts, [xs, ys], el);
  }

  function setupPressPage() {
    if (document.body.dataset.page !== "press") return;
    let range = "15m";
    const trends = Array.from(document.querySelectorAll(".chart[data-signal]"));
    for (const el of trends) {
      const note = document.createElement("div");
      note.className = "chart-note";
      el.after(note);
    }
    const holder = document.querySelector("[data-annotations]");
    const marks = () => (holder
      ? fetch(holder.dataset.annotations + "?start=-" + range, { credentials: "same-origin" }).then((r) => r.json()).catch(() => null)
      : Promise.resolve(null));
    // Answers may come back out of order (a range tapped during a refresh): only the latest refresh draws.
    let generation = 0;
    const refresh = () => {
      const mine = ++generation;
      const current = () => mine === generation;
      return marks().then((m) => current() && Promise.all(trends.map((el) => trendChart(el, range, m, current))));
    };
    refresh();
    for (const button of document.querySelectorAll(".ranges button")) {
      button.addEventListener("click", () => {
        range = button.dataset.range;
        for (const b of document.querySelectorAll(".ranges button")) b.classList.toggle("active", b === button);
        refresh();
      });
    }
    // Trend charts are re-read every 10 s, not on every event: uPlot rebuilds its paths on setData
    // (stack notes: 1-5 Hz at most) and a minute of 10 Hz power is 600 points to move anyway.
    setInterval(refresh, 10000);
    const curve = document.getElementById("stroke-curve");
    if (curve) {
      strokeChart(curve);
      document.addEventListener("cadence:stroke", () => strokeChart(curve));
    }
    // Widths are set through the CSSOM: the Content-Security-Policy refuses inline style attributes.
    for (const seg of document.querySelectorAll(".timeline .seg[data-share]")) {
      seg.style.width = (parseFloat(seg.dataset.share) * 100).toFixed(3) + "%";
    }
    for (const mark of document.querySelectorAll(".marks .mark[data-at]")) {
      mark.style.left = (parseFloat(mark.dataset.at) * 100).toFixed(3) + "%";
    }
    const hist = document.getElementById("cycle-histogram");
    const data = document.getElementById("cycle-times");
    if (hist && data) histogram(hist, JSON.parse(data.textContent || "[]"));
  }

  // --- traceability page: one part's stored curve (pressure and position against time in the stroke) ----

  function partCurve(el) {
    const c = JSON.parse(el.dataset.curve);
    const n = c.pressure.length, dt = c.dt_us / 1e6;
    const xs = Array.from({ length: n }, (_, i) => i * dt);
    const opts = {
      width: chartWidth(el), height: 240,
      scales: { x: { time: false }, bar: {}, mm: {} },
      series: [
        { label: "s", value: (u, v) => fmt(v, 2) },
        { label: (formats.pressure_label || "Pressure") + " (bar)", stroke: "#c4161c", scale: "bar", width: 2, value: (u, v) => fmt(v, 0) },
        { label: (formats.position_label || "Position") + " (mm)", stroke: "#1f56c7", scale: "mm", width: 2, value: (u, v) => fmt(v, 1) },
      ],
      axes: [
        { stroke: "#111418", values: (u, splits) => splits.map((v) => fmt(v, 1)) },
        { scale: "bar", stroke: "#111418", size: 56, values: (u, splits) => splits.map((v) => fmt(v, 0)) },
        { scale: "mm", side: 1, stroke: "#1f56c7", size: 56, grid: { show: false }, values: (u, splits) => splits.map((v) => fmt(v, 0)) },
      ],
    };
    el._plot = new window.uPlot(opts, [xs, c.pressure, c.position || new Array(n).fill(null)], el);
    el.dataset.points = String(n);
  }

  // --- operator page: the − / + buttons of the scrap quantity (the number field works without them) ------

  function setupSteppers() {
    for (const button of document.querySelectorAll(".stepper .step")) {
      button.addEventListener("click", () => {
        const input = button.parentElement.querySelector("input");
        const next = (parseInt(input.value, 10) || 0) + parseInt(button.dataset.step, 10);
        input.value = String(Math.max(parseInt(input.min, 10) || 1, Math.min(parseInt(input.max, 10) || 100000, next)));
      });
    }
  }


  // --- SPC page: the control chart with its zones (±1σ, ±2σ, limits at 3σ) and the points out of control -

  function spcChart(el) {
    const d = JSON.parse(document.getElementById("spc-data").textContent);
    const band = (k) => d.c.map((c, i) => (c === null || d.s[i] === null ? null : c + k * d.s[i]));
    const bad = new Set(d.bad);
    const marks = d.v.map((v, i) => (bad.has(i) ? v : null));
    const line = (label, stroke, dash) => ({ label, stroke, width: dash ? 1 : 2, dash, points: { show: false } });
    const zone = (label) => ({ label, stroke: "rgba(0,0,0,0)", points: { show: false } });
    const note = document.getElementById("spc-note");
    const opts = {
      width: chartWidth(el), height: 300, scales: { x: { time: false } }, legend: { show: false },
      series: [
        { label: "#" },
        { label: el.dataset.label, stroke: "#1f56c7", width: 2, points: { show: true, size: 6, fill: "#1f56c7" } },
        line("CL", "#0b7a3b"), line("UCL", "#c4161c", [8, 5]), line("LCL", "#c4161c", [8, 5]),
        zone("+2σ"), zone("+1σ"), zone("-1σ"), zone("-2σ"),
        { label: "!", stroke: "#c4161c", width: 0, points: { show: true, size: 14, fill: "#c4161c", stroke: "#fff" } },
      ],
      // Zone A (2–3σ) amber, zone B (1–2σ) pale: a drift shows as points leaving the white middle band.
      bands: [
        { series: [3, 5], fill: "rgba(196,22,28,0.12)" }, { series: [5, 6], fill: "rgba(230,160,0,0.14)" },
        { series: [7, 8], fill: "rgba(230,160,0,0.14)" }, { series: [8, 4], fill: "rgba(196,22,28,0.12)" },
      ],
      axes: [
        { stroke: "#111418", values: (u, splits) => splits.map((v) => fmt(v, 0)) },
        { stroke: "#111418", size: 72, values: (u, splits) => splits.map((v) => fmt(v, 2)) },
      ],
      hooks: {
        setCursor: [(u) => {
          const i = u.cursor.idx;
          if (!note || i === null || i === undefined) return;
          note.textContent = "#" + d.n[i] + " · " + stampFormat.format(new Date(d.t[i])) + " · " + fmt(d.v[i], 3);
        }],
      },
    };
    const data = [d.n, d.v, d.c, d.ucl, d.lcl, band(2), band(1), band(-1), band(-2), marks];
    el._plot = new window.uPlot(opts, data, el);
    el.dataset.points = String(d.n.length);
    el.dataset.marked = String(bad.size);
  }

  document.addEventListener("DOMContentLoaded", () => {
    connectLive();
    setupPressPage();
    setupSteppers();
    for (const el of document.querySelectorAll(".part-curve[data-curve]")) partCurve(el);
    const spc = document.getElementById("spc-chart");
    if (spc) spcChart(spc);
  });
})();
