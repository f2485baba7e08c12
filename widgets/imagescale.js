// Steps an image-scale view (cnnkit/widgets/imagescale.py) in the browser.
// Every number and picture was computed in Python and sits in the view's hidden
// .cnk-data block; this only picks out the numbers of a step, writes them into
// the sum, and moves the outlines and the masks (CSS variables), so it needs
// no kernel. State lives on the view's root element, so views never mix.
window.cnkImg = (function () {

  function state(el) {
    var root = el.closest(".cnk-img");
    if (!root._cnk) {
      root._cnk = JSON.parse(root.querySelector(".cnk-data").textContent);
      root._cnk.cache = {};
    }
    return [root, root._cnk];
  }
  function nums(s, layer, key) {            // the formatted numbers of one array
    var id = layer.name + "/" + key;
    return s.cache[id] || (s.cache[id] = layer[key].split(" "));
  }
  function term(v) { return v.charAt(0) === "-" ? "(" + v + ")" : v; }
  function cellSize(px, h, w) { return Math.max(2, Math.min(16, Math.floor(px / Math.max(h, w)))); }
  function map(s, key, h, w, pad, cell, extra, attrs, cls) {
    var hp = h + 2 * pad, wp = w + 2 * pad;
    return "<div class='cnk-map " + (cls || "") + "' " + (attrs || "") + " style='--cell:" + cell + "px;--pad:" +
      pad + ";--h:" + h + ";--w:" + w + ";width:" + wp * cell + "px;height:" + hp * cell +
      "px'><img alt='' src='" + s.images[key] + "'>" + (extra || "") + "</div>";
  }

  // Build the panel for one layer; `chs` are the channels stepped through.
  function open(root, s, name, chs, step) {
    var L = s.layers[name], panel = root.querySelector(".cnk-panel");
    var n = chs.length * L.H * L.W, h = L.hp - 2 * L.pad, w = L.wp - 2 * L.pad;
    var inCell = cellSize(L.C <= 3 ? 200 : 80, L.hp, L.wp);
    var ins = L.inputs.map(function (key, c) {
      return "<div><div class='cnk-title'>" + L.labels[0] + "[" + c + "]" +
        (L.pad ? " padded" : "") + "</div>" + map(s, key, h, w, L.pad, inCell,
        "<div class='cnk-win'></div>", "data-arr='x' data-ch='" + c + "' data-rows='" + L.hp +
        "' data-cols='" + L.wp + "'") + "</div>";
    }).join("");
    var outCell = cellSize(200, L.H, L.W);
    var flt = "";
    if (L.kind === "conv") {
      var fw = L.C * (L.k[1] + 1) - 1, fCell = cellSize(600, 1, fw);
      fCell = Math.min(fCell, 24);
      flt = "<div><div class='cnk-title cnk-ftitle'></div>" +
        map(s, L.filters[chs[0]], L.k[0], fw, 0, fCell, "",
            "data-arr='w' data-rows='" + L.k[0] + "' data-cols='" + fw + "'") + "</div>";
    }
    panel.innerHTML =
      "<div class='cnk-title cnk-where' style='font-size:13px'></div>" +
      "<div class='cnk-ctl'><button data-d='-1' title='previous step'>&#9664;</button>" +
      "<button data-d='1' title='next step'>&#9654;</button>" +
      "<button class='cnk-play' title='play / pause'>play</button>" +
      "<input type='range' class='cnk-range' min='0' max='" + (n - 1) + "' value='0'> " +
      "<span class='cnk-stepno'></span></div>" +
      "<div class='cnk-maps'>" + ins + "</div><div class='cnk-maps'>" + flt +
      "<div><div class='cnk-title cnk-otitle'></div>" +
      map(s, L.outputs[chs[0]], L.H, L.W, 0, outCell,
          "<div class='cnk-mask cnk-m1'></div><div class='cnk-mask cnk-m2'></div>" +
          "<div class='cnk-cur'></div>",
          "data-arr='out' data-rows='" + L.H + "' data-cols='" + L.W + "'", "cnk-outmap") +
      "</div></div><div class='cnk-sum'></div>";
    panel.style.cssText = "--kh:" + L.k[0] + ";--kw:" + L.k[1] + ";--H:" + L.H + ";--W:" + L.W;
    s.view = {name: name, chs: chs, n: n, f: -1};
    root.dataset.layer = name;
    root.querySelectorAll("[data-open].cnk-active").forEach(function (m) {
      m.classList.remove("cnk-active"); });
    stop(root, s);
    show(root, s, step);
  }

  function sumText(s, L, f, i, j, r0, c0) {
    var out = nums(s, L, "out"), x = nums(s, L, "x"), q = (f * L.H + i) * L.W + j;
    var at = "[" + f + "," + i + "," + j + "]", parts = [], c, u, v;
    if (L.kind === "pool") {
      for (u = 0; u < L.k[0]; u++) for (v = 0; v < L.k[1]; v++)
        parts.push(term(x[(f * L.hp + r0 + u) * L.wp + c0 + v]));
      return L.labels[1] + at + " = max(" + parts.join(", ") + ") = " + out[q];
    }
    var wt = nums(s, L, "w"), b = nums(s, L, "b")[f];
    for (c = 0; c < L.C; c++) for (u = 0; u < L.k[0]; u++) for (v = 0; v < L.k[1]; v++)
      parts.push(term(x[(c * L.hp + r0 + u) * L.wp + c0 + v]) + "*" +
                 term(wt[((f * L.C + c) * L.k[0] + u) * L.k[1] + v]));
    var text = L.labels[1] + at + " = " + parts.join(" + ") + " + b = " + out[q] +
      "  (b = " + b + ")", prev = L.labels[1] + at, value = out[q];
    L.then.forEach(function (T) {
      var y = nums(s, T, "out")[q], name = T.name + at;
      if (T.kind === "bn") {
        var g = function (k) { return T[k].split(" ")[f]; };
        text += "\n" + name + " = (" + prev + " - mean) / sqrt(var + eps) * gamma + beta = (" +
          value + " - " + term(g("mean")) + ") / sqrt(" + g("var") + " + " + T.eps + ") * " +
          term(g("gamma")) + " + " + term(g("beta")) + " = " + y;
      } else {
        text += "\n" + name + " = max(0, " + prev + ") = max(0, " + value + ") = " + y;
      }
      prev = name; value = y;
    });
    return text;
  }

  function show(root, s, step) {
    var V = s.view, L = s.layers[V.name], per = L.H * L.W;
    step = Math.max(0, Math.min(V.n - 1, step));
    var k = Math.floor(step / per), f = V.chs[k], q = step % per;
    var i = Math.floor(q / L.W), j = q % L.W;
    var r0 = L.origins[2 * q], c0 = L.origins[2 * q + 1];
    var panel = root.querySelector(".cnk-panel");
    if (f !== V.f) {                        // a new filter or channel: swap its pictures
      V.f = f;
      panel.querySelector(".cnk-outmap img").src = s.images[L.outputs[f]];
      panel.querySelector(".cnk-otitle").textContent = L.labels[1] + "[" + f + "]";
      if (L.kind === "conv") {
        panel.querySelector(".cnk-maps [data-arr='w'] img").src = s.images[L.filters[f]];
        panel.querySelector(".cnk-ftitle").textContent = "w[" + f + "] (" + L.C +
          " channels), b[" + f + "] = " + nums(s, L, "b")[f];
      } else {                              // pooling reads one channel only
        panel.querySelectorAll("[data-arr='x']").forEach(function (m) {
          m.parentNode.style.display = +m.dataset.ch === f ? "" : "none";
        });
      }
    }
    V.step = step;
    panel.style.setProperty("--r0", r0);
    panel.style.setProperty("--c0", c0);
    panel.style.setProperty("--i", i);
    panel.style.setProperty("--j", j);
    panel.querySelector(".cnk-sum").textContent = sumText(s, L, f, i, j, r0, c0);
    panel.querySelector(".cnk-range").value = step;
    panel.querySelector(".cnk-stepno").textContent = "step " + step + " of " + V.n;
    panel.querySelector(".cnk-where").textContent = L.title + ": " + L.labels[1] + "[" + f +
      "," + i + "," + j + "]";
    root.dataset.step = step;
    root.dataset.cell = f + "," + i + "," + j;
    root.dataset.window = r0 + "," + c0;
  }

  function stop(root, s) {
    if (s.timer) { clearInterval(s.timer); s.timer = null; }
    var b = root.querySelector(".cnk-play");
    if (b) b.textContent = "play";
  }

  function cellAt(ev, el) {                 // (row, col) of the map under the mouse
    var r = el.getBoundingClientRect(), cell = parseFloat(el.style.getPropertyValue("--cell"));
    var row = Math.floor((ev.clientY - r.top) / cell), col = Math.floor((ev.clientX - r.left) / cell);
    return [Math.max(0, Math.min(+el.dataset.rows - 1, row)),
            Math.max(0, Math.min(+el.dataset.cols - 1, col))];
  }

  return {
    boot: function (img) {
      var rs = state(img), root = rs[0], s = rs[1];
      if (s.view) return;
      open(root, s, s.start.layer, s.start.chs, s.start.step);
    },
    open: function (root, name, chs, step) { var s = state(root)[1]; open(root, s, name, chs, step); },
    show: function (root, step) { var s = state(root)[1]; stop(root, s); show(root, s, step); },
    click: function (ev) {
      var rs = state(ev.target), root = rs[0], s = rs[1], t = ev.target, at;
      var thumb = t.closest("[data-open]");
      if (thumb) {                          // a map of the network: open its stepper there
        at = cellAt(ev, thumb);
        var L = s.layers[thumb.dataset.open];
        open(root, s, thumb.dataset.open, [+thumb.dataset.ch], at[0] * L.W + at[1]);
        thumb.classList.add("cnk-active");
        return;
      }
      var outmap = t.closest(".cnk-outmap");
      if (outmap) {
        at = cellAt(ev, outmap);
        var V = s.view, Lo = s.layers[V.name];
        stop(root, s);
        show(root, s, V.chs.indexOf(V.f) * Lo.H * Lo.W + at[0] * Lo.W + at[1]);
        return;
      }
      var d = t.closest("[data-d]");
      if (d) { stop(root, s); show(root, s, s.view.step + (+d.dataset.d)); return; }
      if (t.closest(".cnk-play")) {
        if (s.timer) { stop(root, s); return; }
        t.closest(".cnk-play").textContent = "pause";
        s.timer = setInterval(function () {
          if (s.view.step >= s.view.n - 1) stop(root, s); else show(root, s, s.view.step + 1);
        }, s.interval);
      }
    },
    input: function (ev) {
      if (!ev.target.classList.contains("cnk-range")) return;
      var rs = state(ev.target);
      stop(rs[0], rs[1]);
      show(rs[0], rs[1], +ev.target.value);
    },
    hover: function (ev) {
      var rs = state(ev.target), root = rs[0], s = rs[1], tip = root.querySelector(".cnk-tip");
      var m = ev.type === "mousemove" && ev.target.closest("[data-arr]");
      if (!m || !s.view) { tip.style.display = "none"; return; }
      var at = cellAt(ev, m), L = s.layers[m.dataset.open || s.view.name], text;
      var ch = m.dataset.ch !== undefined ? +m.dataset.ch : s.view.f;
      if (m.dataset.open) {                 // a thumbnail of the network
        var src = m.dataset.arr === "out" ? L : L.then.filter(function (T) {
          return T.name === m.dataset.arr; })[0];
        text = m.dataset.arr + "[" + ch + "," + at[0] + "," + at[1] + "] = " +
          nums(s, src, "out")[(ch * L.H + at[0]) * L.W + at[1]];
        if (m.dataset.arr === "out") text = L.name + text.slice(3);
      } else if (m.dataset.arr === "x") {
        text = L.labels[0] + "[" + ch + "," + (at[0] - L.pad) + "," + (at[1] - L.pad) + "] = " +
          nums(s, L, "x")[(ch * L.hp + at[0]) * L.wp + at[1]] +
          (at[0] < L.pad || at[1] < L.pad || at[0] >= L.hp - L.pad || at[1] >= L.wp - L.pad ?
           " (padding)" : "");
      } else if (m.dataset.arr === "w") {
        var c = Math.floor(at[1] / (L.k[1] + 1)), v = at[1] % (L.k[1] + 1);
        if (v === L.k[1]) { tip.style.display = "none"; return; }
        text = "w[" + s.view.f + "," + c + "," + at[0] + "," + v + "] = " +
          nums(s, L, "w")[((s.view.f * L.C + c) * L.k[0] + at[0]) * L.k[1] + v];
      } else {
        text = L.labels[1] + "[" + ch + "," + at[0] + "," + at[1] + "] = " +
          nums(s, L, "out")[(ch * L.H + at[0]) * L.W + at[1]];
      }
      var r = root.getBoundingClientRect();
      tip.textContent = text;
      tip.style.display = "block";
      tip.style.left = (ev.clientX - r.left + 12) + "px";
      tip.style.top = (ev.clientY - r.top + 12) + "px";
    }
  };
})();
