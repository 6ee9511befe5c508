// VerAI dashboard: draws the charts (vendored uPlot) and keeps the page live. The server sends
// one `block` event per newly ingested block on /events; the page then fetches its own
// <main> again, at most once per block, and redraws. No inline script anywhere (see the CSP).
(function () {
  "use strict";

  var AXIS_COLOR = "#8a97b2";
  var GRID = { stroke: "rgba(138,151,178,0.12)", width: 1 };
  var TICKS = { stroke: "rgba(138,151,178,0.25)", width: 1 };

  function thresholdsHook(spec) {
    return function (u) {
      var ctx = u.ctx;
      Object.keys(spec.thresholds || {}).forEach(function (scale) {
        if (!u.scales[scale]) return;
        var y = u.valToPos(spec.thresholds[scale], scale, true);
        ctx.save();
        ctx.strokeStyle = "#e5484d";
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
        ctx.restore();
      });
    };
  }

  function drawChart(el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var scales = [];
    spec.series.forEach(function (s) { if (scales.indexOf(s.scale) < 0) scales.push(s.scale); });
    var scaleOpts = { x: { time: true } };
    if (spec.x.length === 1) {
      var only = spec.x[0];
      scaleOpts.x.range = function () { return [only - 300, only + 300]; };
    }
    scales.forEach(function (scale) {
      var limit = (spec.thresholds || {})[scale];
      scaleOpts[scale] = {
        range: function (u, min, max) {
          var lo = Math.min(0, min === null ? 0 : min);
          var hi = Math.max(max === null ? 1 : max, limit ? limit * 1.15 : 0, lo + 1);
          if (scale === "%") hi = Math.max(hi, 100);
          return [lo, hi * 1.05];
        }
      };
    });
    var axes = [{ stroke: AXIS_COLOR, grid: GRID, ticks: TICKS }];
    scales.forEach(function (scale, i) {
      axes.push({
        scale: scale, side: i === 0 ? 3 : 1, stroke: AXIS_COLOR, size: 72,
        grid: i === 0 ? GRID : { show: false }, ticks: TICKS,
        values: function (u, vals) { return vals.map(function (v) { return v + " " + scale; }); }
      });
    });
    var series = [{}];
    spec.series.forEach(function (s) {
      var opt = {
        label: s.label, scale: s.scale, stroke: s.color, width: 2, spanGaps: true,
        points: { show: true, size: 6, fill: s.color, stroke: s.color }
      };
      if (s.bars) {
        opt.paths = uPlot.paths.bars({ size: [0.6, 14] });
        opt.fill = s.color + "66";
        opt.points = { show: false };
      } else if (s.stepped) {
        opt.paths = uPlot.paths.stepped({ align: 1 });
      }
      series.push(opt);
    });
    var width = Math.max(320, Math.floor(el.getBoundingClientRect().width));
    var height = Number(el.getAttribute("data-height") || 220);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    el.replaceChildren();
    var plot = new uPlot({
      width: width, height: height, scales: scaleOpts, axes: axes, series: series,
      legend: { live: true }, cursor: { points: { size: 8 } },
      hooks: { draw: [thresholdsHook(spec)] }
    }, data, el);
    el.setAttribute("data-drawn", String(spec.points));
    el.uplot = plot;
  }

  function drawCharts(root) {
    if (typeof uPlot === "undefined") return;
    root.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      try { drawChart(el); } catch (err) { el.setAttribute("data-error", String(err)); }
    });
  }

  // ------------------------------------------------------------------ live updates
  var main = document.getElementById("live");
  var state = document.getElementById("live-state");
  var shown = Number(main.getAttribute("data-block"));
  var newest = shown;
  var busy = false;
  window.verai = { refreshes: 0, block: function () { return shown; } };

  function setState(name, text) {
    state.setAttribute("data-state", name);
    state.textContent = text;
  }

  function refresh() {
    if (busy || newest === shown) return;
    busy = true;
    var before = shown;
    fetch(location.pathname + location.search, {
      headers: { "X-Verai-Fragment": "1" }, cache: "no-store", credentials: "same-origin"
    }).then(function (response) {
      var block = Number(response.headers.get("X-Verai-Block"));
      return response.text().then(function (html) {
        if (!block) return;
        var tpl = document.createElement("template");
        tpl.innerHTML = html;
        var open = {};
        main.querySelectorAll("details[data-key]").forEach(function (d) { open[d.getAttribute("data-key")] = d.open; });
        main.replaceChildren(tpl.content);
        main.querySelectorAll("details[data-key]").forEach(function (d) {
          var key = d.getAttribute("data-key");
          if (key in open) d.open = open[key];
        });
        shown = block;
        main.setAttribute("data-block", String(block));
        window.verai.refreshes += 1;
        drawCharts(main);
      });
    }).catch(function () {
      newest = shown; // the next block event tries again
    }).then(function () {
      busy = false;
      if (shown === before) newest = shown; // no progress (a reorg rewound): wait for an event
      if (newest !== shown) refresh();
    });
  }

  function follow() {
    if (!window.EventSource) { setState("off", "static"); return; }
    var source = new EventSource("/events");
    source.onopen = function () { setState("live", "live"); };
    source.onerror = function () { setState("reconnecting", "reconnecting"); };
    source.addEventListener("block", function (event) {
      var block = JSON.parse(event.data).block;
      setState("live", "live · block " + block);
      if (block !== shown) { newest = block; refresh(); }
    });
  }

  drawCharts(document);
  follow();
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () { drawCharts(document); }, 200);
  });
})();
