// Press health page (/presses/{id}/health): each subsystem's wear level over the period, in % of the way
// to functional failure, against the alert threshold and the failure line. The figures come from the
// page itself (<script type="application/json" id="health-data">, written by routes/health_pages.py).
(function () {
  "use strict";

  // One colour per subsystem, the same as the legend's keys in cadence.css (.health-key.key-<name>).
  const COLORS = {
    pump: "#1f56c7", valves_seals: "#8a1c8f", cooler: "#00838f", accumulator: "#b35c00", tooling: "#5b4636",
  };
  const ALERT = "#b35c00", FAILURE = "#c4161c";

  function draw(el) {
    const d = JSON.parse(document.getElementById("health-data").textContent);
    const formats = JSON.parse(document.getElementById("formats").textContent);
    const locale = document.body.dataset.locale || "fr";
    const zone = formats.timezone || "Europe/Paris";
    // Days on the axis over a long period; the hour too when the history covers only a few days.
    const span = d.t.length ? d.t[d.t.length - 1] - d.t[0] : 0;
    const short = span <= 4 * 86400;
    const axisFormat = new Intl.DateTimeFormat(locale, short
      ? { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone }
      : { day: "2-digit", month: "2-digit", timeZone: zone });
    const stampFormat = new Intl.DateTimeFormat(locale, {
      day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone,
    });
    const pct = (v) => (v == null ? "—" : Math.round(v) + (locale === "fr" ? "\u00a0%" : "%"));
    const flat = (v) => d.t.map(() => v);
    // A subsystem with its own alert threshold (the cooler's) gets its own dotted line, in its colour.
    const own = d.series.filter((s) => s.alert !== d.alert);
    const top = Math.max(d.failure * 1.05, ...d.series.flatMap((s) => s.values.filter((v) => v != null)));
    const note = document.getElementById("health-note");
    const opts = {
      width: Math.max(280, Math.floor(el.getBoundingClientRect().width)),
      height: 280,
      padding: [12, 48, 0, 0], // room for the last time label, which is centred on the right edge
      legend: { show: false },
      scales: { x: { time: true }, y: { range: [0, top] } },
      series: [
        {},
        // Hourly points are too close to mark one by one; a lone point still shows.
        ...d.series.map((s) => ({
          label: s.label, stroke: COLORS[s.name] || "#111418", width: 3, points: { show: d.t.length < 3, size: 10 },
        })),
        { label: "alert", stroke: ALERT, width: 2, dash: [10, 6], points: { show: false } },
        ...own.map((s) => ({
          label: s.label + " alert", stroke: COLORS[s.name] || ALERT, width: 2, dash: [3, 5], points: { show: false },
        })),
        { label: "failure", stroke: FAILURE, width: 3, points: { show: false } },
      ],
      axes: [
        { stroke: "#111418", font: "14px 'DejaVu Sans', sans-serif", size: 44, space: short ? 130 : 70,
          values: (u, splits) => splits.map((s) => axisFormat.format(new Date(s * 1000))) },
        { stroke: "#111418", font: "14px 'DejaVu Sans', sans-serif", size: 64,
          values: (u, splits) => splits.map(pct) },
      ],
      hooks: {
        // Under the chart, what the finger points at: the hour and each subsystem's level then.
        setCursor: [(u) => {
          const i = u.cursor.idx;
          if (!note || i === null || i === undefined) return;
          note.textContent = stampFormat.format(new Date(d.t[i] * 1000)) + " · " +
            d.series.map((s) => s.label + " " + pct(s.values[i])).join(" · ");
        }],
      },
    };
    const data = [d.t, ...d.series.map((s) => s.values), flat(d.alert), ...own.map((s) => flat(s.alert)),
      flat(d.failure)];
    el.innerHTML = "";
    el._plot = new window.uPlot(opts, data, el);
    el.dataset.points = String(d.t.length);
    el.dataset.series = String(d.series.length);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const el = document.getElementById("health-chart");
    if (el && window.uPlot) draw(el);
  });
})();
