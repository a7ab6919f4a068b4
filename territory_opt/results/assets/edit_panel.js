/* territory-opt report: edit mode (territory_opt/results/edit_panel.py embeds the data this reads).
 * Vanilla JS, no network. Every number is summed from the per-need data exactly as metrics.py sums it
 * (rep_loads, check); rounding is stated once, in edit_panel.py's ROUNDING (hours: integer seconds to 2 decimals,
 * half up on the seconds; value to whole units; travel visit-km to 1 decimal). */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('edit-data').textContent);
  var N = D.needs, R = D.reps, T = D.teams;
  var nNeeds = N.team.length, nReps = R.ids.length;
  var rep = N.rep.slice();
  var done = [], undone = [];
  var state = {team: D.team || 0, item: -1, on: false, draft: ''};  // draft: the note typed for the next edit
  var map = null, layer = null, drawn = {}, hatched = [];
  var lockOf = {};
  N.locks.forEach(function (p) { lockOf[p[0]] = p[1]; });
  var repIndex = {};
  R.ids.forEach(function (id, i) { repIndex[id] = i; });
  var itemIndex = {};
  D.items.ids.forEach(function (id, i) { itemIndex[id] = i; });
  var sharedNeeds = {};  // customer -> its needs, for customers several teams cover (contact cap)
  var capOf = {};
  D.shared_customers.ids.forEach(function (c, i) { sharedNeeds[c] = []; capOf[c] = D.shared_customers.cap[i]; });
  var teamItems = T.map(function () { return {}; });  // team -> item -> [needs]
  for (var n = 0; n < nNeeds; n++) {
    if (sharedNeeds[N.customer[n]]) sharedNeeds[N.customer[n]].push(n);
    if (N.item[n] >= 0) (teamItems[N.team[n]][N.item[n]] = teamItems[N.team[n]][N.item[n]] || []).push(n);
  }
  var adjacency = T.map(function (team) {
    var adj = {};
    for (var e = 0; e < team.edges.length; e += 2) {
      var a = team.edges[e], b = team.edges[e + 1];
      (adj[a] = adj[a] || []).push(b); (adj[b] = adj[b] || []).push(a);
    }
    return adj;
  });

  function km(n, r) {
    var dx = (N.x[n] - R.x[r]) / 100, dy = (N.y[n] - R.y[r]) / 100;
    return Math.sqrt(dx * dx + dy * dy) / 1000 * D.detour;
  }
  function rintEven(x) {  // numpy's rint: halves to even
    var f = Math.floor(x), d = x - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : (f % 2 === 0 ? f : f + 1);
  }
  function workload(n, r) {
    var w = N.calls_s[n];
    if (N.drive_per_km) w += rintEven(N.drive_per_km[n] * km(n, r) + N.drive_base_s[n]);
    return w;
  }
  function hoursText(s) { var h = Math.floor((s + 18) / 36); return Math.floor(h / 100) + '.' + ('0' + (h % 100)).slice(-2); }
  function group(text) { return text.replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
  function fixed(x, d) { var t = x.toFixed(d), p = t.split('.'); return group(p[0]) + (p.length > 1 ? '.' + p[1] : ''); }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }

  // every rep's totals and every hard rule the panel shows, from scratch (a few ms for 100,000 needs)
  function totals() {
    var t = {work: [], cust: [], value: [], travel: [], far: [], lock: [], zones: [], metric: [], ofTeam: []};
    var r, k, q, n;
    for (r = 0; r < nReps; r++) {
      t.work.push(0); t.cust.push(0); t.value.push(0); t.travel.push(0); t.far.push(0); t.lock.push(0);
      t.ofTeam.push({});
      t.zones.push(D.zone_kinds.map(function () { return {}; }));
    }
    for (q = 0; q < D.metric_names.length; q++) t.metric.push(new Array(nReps).fill(0));
    for (n = 0; n < nNeeds; n++) {
      r = rep[n];
      var d = km(n, r), limit = T[N.team[n]].max_km;
      t.work[r] += workload(n, r); t.cust[r] += 1; t.value[r] += N.value[n]; t.travel[r] += d * N.visits[n];
      if (limit !== null && d > limit) t.far[r] += 1;
      t.ofTeam[r][N.team[n]] = (t.ofTeam[r][N.team[n]] || 0) + 1;
      if (lockOf[n] !== undefined && lockOf[n] !== r) t.lock[r] += 1;
      for (k = 0; k < D.zone_kinds.length; k++) if (N.zones[k][n] >= 0) t.zones[r][k][N.zones[k][n]] = 1;
      for (q = 0; q < D.metric_names.length; q++) t.metric[q][r] += N.metrics[q][n];
    }
    t.cap = new Array(nReps).fill(0);
    Object.keys(sharedNeeds).forEach(function (c) {
      var seen = {};
      sharedNeeds[c].forEach(function (m) { seen[rep[m]] = 1; });
      var reps = Object.keys(seen);
      if (reps.length > capOf[c]) reps.forEach(function (x) { t.cap[+x] += 1; });
    });
    t.pieces = new Array(nReps).fill(0);
    T.forEach(function (team, ti) {
      if (!team.contiguous) return;
      var held = holders(ti), units = {};
      Object.keys(held).forEach(function (u) { (units[held[u]] = units[held[u]] || {})[u] = 1; });
      Object.keys(units).forEach(function (r) {
        var left = units[r], pieces = 0;
        Object.keys(left).forEach(function (start) {
          if (!left[start]) return;
          pieces += 1; left[start] = 0;
          var stack = [+start];
          while (stack.length) {
            (adjacency[ti][stack.pop()] || []).forEach(function (v) { if (left[v]) { left[v] = 0; stack.push(v); } });
          }
        });
        t.pieces[+r] = Math.max(t.pieces[+r], pieces);
      });
    });
    return t;
  }
  // (item -> rep) of one team: the rep holding most of the team's needs in it, the lowest rep on a tie (metrics.py)
  function holders(ti) {
    var out = {};
    Object.keys(teamItems[ti]).forEach(function (u) {
      var count = {};
      teamItems[ti][u].forEach(function (n) { count[rep[n]] = (count[rep[n]] || 0) + 1; });
      var best = -1;
      Object.keys(count).forEach(function (r) {
        r = +r;
        if (best < 0 || count[r] > count[best] || (count[r] === count[best] && r < best)) best = r;
      });
      out[u] = best;
    });
    return out;
  }
  function rules(t, r) {
    var out = [];
    if (t.work[r] < R.min_s[r] || t.work[r] > R.max_s[r]) {
      out.push('band: ' + hoursText(t.work[r]) + ' h outside ' + hoursText(R.min_s[r]) + '-' + hoursText(R.max_s[r]) + ' h');
    }
    D.metric_names.forEach(function (name, q) {
      if (t.metric[q][r] < R.metric_min[q][r] || t.metric[q][r] > R.metric_max[q][r]) {
        out.push('band: ' + name + ' ' + group(String(t.metric[q][r])) + ' outside ' + group(String(R.metric_min[q][r]))
                 + '-' + group(String(R.metric_max[q][r])));
      }
    });
    if (t.cap[r]) out.push('contact cap: ' + t.cap[r] + ' customers over their cap');
    D.zone_kinds.forEach(function (kind, k) {
      var zones = Object.keys(t.zones[r][k]), pin = R.zone[k][r];
      if (zones.length > 1) out.push('boundary: crosses ' + kind + ' ' + zones.map(function (z) { return D.zone_names[k][+z]; }).join(', '));
      else if (pin >= 0 && zones.length === 1 && +zones[0] !== pin) out.push('boundary: pinned to ' + kind + ' ' + D.zone_names[k][pin]);
    });
    if (t.far[r]) out.push('max_km: ' + t.far[r] + ' customers too far');
    Object.keys(t.ofTeam[r]).forEach(function (ti) {
      var most = T[+ti].max_customers;
      if (most > 0 && t.ofTeam[r][ti] > most) out.push('max_customers: ' + t.ofTeam[r][ti] + ' > ' + most);
    });
    if (t.pieces[r] > 1) out.push('contiguity: ' + t.pieces[r] + ' pieces');
    if (t.lock[r]) out.push('lock: ' + t.lock[r] + ' customers locked to another rep');
    return out;
  }

  var current = totals();
  var el = function (id) { return document.getElementById(id); };

  function involved() {
    var last = done[done.length - 1], out = {};
    if (state.item >= 0) {
      var held = holders(state.team);
      if (held[state.item] !== undefined) out[held[state.item]] = 1;
    }
    if (last && last.team === state.team) { out[last.from] = 1; out[last.to] = 1; }
    return out;
  }
  function renderReps() {
    var team = T[state.team], top = 1, mark = involved();
    team.reps.forEach(function (r) { top = Math.max(top, R.max_s[r], current.work[r]); });
    top *= 1.05;
    var pct = function (s) { return (100 * Math.max(0, Math.min(s, top)) / top).toFixed(2) + '%'; };
    el('edit-reps').tBodies[0].innerHTML = team.reps.map(function (r) {
      var broken = rules(current, r), off = current.work[r] < R.min_s[r] || current.work[r] > R.max_s[r];
      return '<tr data-rep="' + esc(R.ids[r]) + '" class="' + (mark[r] ? 'involved' : '') + (broken.length ? ' broken' : '') + '">'
        + '<td>' + esc(R.ids[r]) + '</td><td><div class="edit-track" title="band ' + hoursText(R.min_s[r]) + '-'
        + hoursText(R.max_s[r]) + ' h, target ' + hoursText(Math.round(R.target_s[r])) + ' h">'
        + '<span class="band" style="left:' + pct(R.min_s[r]) + ';width:' + (100 * (Math.min(R.max_s[r], top) - R.min_s[r]) / top).toFixed(2) + '%"></span>'
        + '<span class="edit-bar" style="width:' + pct(current.work[r]) + ';background:' + R.colour[r] + '"></span>'
        + '<span class="target" style="left:' + pct(R.target_s[r]) + '"></span></div></td>'
        + '<td class="num' + (off ? ' off' : '') + '" data-hours="' + hoursText(current.work[r]) + '">' + group(hoursText(current.work[r])) + '</td>'
        + '<td class="num" data-customers="' + current.cust[r] + '">' + group(String(current.cust[r])) + '</td>'
        + '<td class="num" data-value="' + Math.round(current.value[r]) + '">' + group(String(Math.round(current.value[r]))) + '</td>'
        + '<td class="num" data-travel="' + current.travel[r].toFixed(1) + '">' + fixed(current.travel[r], 1) + '</td>'
        + '<td class="rules">' + (broken.length ? broken.map(function (b) { return '<span class="rule-broken">' + esc(b) + '</span>'; }).join(' ')
                                  : '<span class="rule-ok">all kept</span>') + '</td></tr>';
    }).join('');
  }
  function itemName(i) { return D.items.ids[i]; }
  function renderSelected() {
    var box = el('edit-selected'), needs = teamItems[state.team][state.item];
    if (state.item < 0 || !needs) {
      box.innerHTML = 'Nothing selected: ' + (state.on ? 'click a ' + D.items.kind + ' on the map.' : 'press Edit on the map, then click a ' + D.items.kind + '.');
      return;
    }
    var held = holders(state.team)[state.item], work = 0, value = 0, cx = 0, cy = 0;
    needs.forEach(function (n) { work += workload(n, rep[n]); value += N.value[n]; cx += N.x[n]; cy += N.y[n]; });
    cx /= needs.length; cy /= needs.length;
    var options = T[state.team].reps.map(function (r) {
      var dx = (cx - R.x[r]) / 100, dy = (cy - R.y[r]) / 100;
      return [r, Math.sqrt(dx * dx + dy * dy) / 1000 * D.detour];
    }).sort(function (a, b) { return a[1] - b[1] || a[0] - b[0]; });
    var bound = noteEdit();  // the edit just made of this item: the note box is that edit's note
    box.innerHTML = '<b>' + D.items.kind + ' ' + esc(itemName(state.item)) + '</b> (' + esc(T[state.team].name) + '): '
      + needs.length + ' customers, ' + hoursText(work) + ' h, value ' + group(String(Math.round(value)))
      + '; held by <b>' + esc(R.ids[held]) + '</b>. <label>give it to <select id="edit-rep"><option value="">choose a rep</option>'
      + options.map(function (o) {
        return '<option value="' + esc(R.ids[o[0]]) + '"' + (o[0] === held ? ' disabled' : '') + '>' + esc(R.ids[o[0]])
          + ' (' + o[1].toFixed(1) + ' km)</option>';
      }).join('') + '</select></label> <label><span id="edit-note-label">' + (bound ? 'note of edit #' + done.length : 'note')
      + '</span> <input id="edit-note" size="28" autocomplete="off"></label>';
    var note = el('edit-note');
    note.value = bound ? bound.note : state.draft;
    note.addEventListener('input', function () {
      var e = noteEdit();
      if (e) { e.note = note.value; syncNote(done.length - 1); } else state.draft = note.value;
    });
    el('edit-rep').addEventListener('change', function (e) { if (e.target.value) move(e.target.value, noteEdit() ? '' : note.value); });
  }
  // the last edit when it is of the selected item (just made, or redone): the note box then edits its note
  function noteEdit() {
    var last = done[done.length - 1];
    return last && last.team === state.team && last.item === state.item ? last : null;
  }
  function syncNote(i) {  // a note changed in one box: the other box showing it follows
    var cell = el('edit-list').querySelector('input[data-edit="' + i + '"]'), box = el('edit-note');
    if (cell && cell.value !== done[i].note) cell.value = done[i].note;
    if (box && i === done.length - 1 && noteEdit() && box.value !== done[i].note) box.value = done[i].note;
  }
  function renderList() {
    var body = el('edit-list').tBodies[0];
    body.innerHTML = done.map(function (e, i) {
      return '<tr data-edit="' + i + '"><td class="num">' + (i + 1) + '</td><td>' + esc(T[e.team].name) + '</td><td>'
        + esc(D.items.kind + ' ' + itemName(e.item)) + '</td><td>' + esc(e.fromId) + '</td><td>' + esc(e.toId) + '</td><td>'
        + '<input class="edit-note-cell" data-edit="' + i + '" size="24" autocomplete="off" placeholder="add a note"'
        + ' aria-label="note of edit ' + (i + 1) + '" value="' + esc(e.note) + '"></td><td class="rules">'
        + (e.after.length ? e.after.map(function (b) { return '<span class="rule-broken">' + esc(b) + '</span>'; }).join(' ')
                          : '<span class="rule-ok">all kept</span>') + '</td></tr>';
    }).join('');
    Array.prototype.forEach.call(body.querySelectorAll('input.edit-note-cell'), function (input) {
      input.addEventListener('input', function () { var i = +input.dataset.edit; done[i].note = input.value; syncNote(i); });
    });
    el('edit-empty').style.display = done.length ? 'none' : '';
    el('edit-undo').disabled = !done.length; el('edit-redo').disabled = !undone.length;
    el('edit-export').disabled = !done.length;
  }
  function render() { renderReps(); renderSelected(); renderList(); recolour(); }

  function apply(e, forward) {
    e.needs.forEach(function (n, i) { rep[n] = forward ? e.to : e.prev[i]; });
    current = totals();
  }
  function move(repId, note) {
    var r = repIndex[repId], needs = teamItems[state.team][state.item];
    if (r === undefined || !needs || T[state.team].reps.indexOf(r) < 0) throw new Error('no such rep in this team: ' + repId);
    var from = holders(state.team)[state.item];
    var e = {team: state.team, item: state.item, from: from, to: r, fromId: R.ids[from], toId: repId, needs: needs.slice(),
             prev: needs.map(function (n) { return rep[n]; }), note: note || '', author: el('edit-author').value || '',
             timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')};
    apply(e, true);
    // what this edit caused, kept with it: the rules its two reps break right after it (the list shows these)
    e.after = rules(current, from).map(function (b) { return e.fromId + ' ' + b; })
      .concat(rules(current, r).map(function (b) { return e.toId + ' ' + b; }));
    done.push(e); undone = [];
    state.draft = '';
    render();
  }
  function undo() { var e = done.pop(); if (e) { apply(e, false); undone.push(e); render(); } }
  function redo() { var e = undone.pop(); if (e) { apply(e, true); done.push(e); render(); } }

  function csvField(v) { v = String(v); return /[",\n\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
  function csv() {
    var unit = D.items.kind === 'unit';
    return 'team,unit_id,customer_id,rep_id,note,author,timestamp\n' + done.map(function (e) {
      return [T[e.team].name, unit ? itemName(e.item) : '', unit ? '' : itemName(e.item), e.toId, e.note, e.author, e.timestamp]
        .map(csvField).join(',');
    }).join('\n') + (done.length ? '\n' : '');
  }
  function download() {
    var blob = new Blob([csv()], {type: 'text/csv'}), a = document.createElement('a');
    a.href = URL.createObjectURL(blob); a.download = 'edits.csv';
    document.body.appendChild(a); a.click(); document.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }

  // the map: the team's units (or customers) on top of folium's layers, coloured by holder, clickable
  function findMap() {
    if (typeof L === 'undefined') return null;
    for (var k in window) {
      if (/^map_/.test(k) && window[k] instanceof L.Map) return window[k];
    }
    return null;
  }
  // While editing, the map's territory layers (every team's, pale: their fill is 35 % opaque) are hidden, so that
  // no colour on the map is other than the edit layer's: the team's units each in its holder's colour, all alike
  // (a moved unit looks like its new rep's other units), and every other unit hatched grey (HATCH, explained in
  // the panel's legend: a unit without customers of the team, which no rep of the team holds).
  var FILL = 0.8, HATCH = 'url(#edit-hatch)';
  function style(i, held) {
    var r = held[i];
    return {color: i === state.item ? '#000000' : '#ffffff', weight: i === state.item ? 3 : 0.6,
            fillColor: r >= 0 ? R.colour[r] : '#999999', fillOpacity: FILL, opacity: 1};
  }
  function recolour() {
    if (!layer) return;
    var held = holders(state.team);
    Object.keys(drawn).forEach(function (i) { drawn[i].setStyle(style(+i, held)); });
    if (drawn[state.item]) drawn[state.item].bringToFront();
  }
  function showTerritories(show) {
    var pane = map && map.getPane('territories');
    if (pane) pane.style.display = show ? '' : 'none';
  }
  function draw() {
    if (layer) { layer.remove(); layer = null; drawn = {}; }
    showTerritories(!state.on);
    if (!state.on || !map) return;
    if (!map.getPane('edit-units')) map.createPane('edit-units').style.zIndex = 420;  // above folium's territories
    layer = L.layerGroup();
    var held = holders(state.team), items = teamItems[state.team];
    var add = function (i, path) {
      path.on('click', function (ev) { L.DomEvent.stopPropagation(ev); select(state.team, +i); });
      path.bindTooltip(D.items.kind + ' ' + itemName(+i));
      drawn[i] = path; layer.addLayer(path);
    };
    if (D.items.kind === 'unit') {
      D.items.shapes.forEach(function (shape, u) {  // the units without the team's customers: hatched, first (below)
        if (!shape || items[u]) return;
        L.geoJSON({type: 'Feature', geometry: shape, properties: {}},
                  {style: {color: '#bbbbbb', weight: 0.6, opacity: 1, fillColor: HATCH, fillOpacity: FILL}, pane: 'edit-units'})
          .eachLayer(function (p) {
            p.bindTooltip(D.items.kind + ' ' + itemName(u) + ': no ' + T[state.team].name + ' customers');
            p.on('click', function (ev) { L.DomEvent.stopPropagation(ev); });
            layer.addLayer(p);
            hatched.push([p, itemName(u)]);
          });
      });
      Object.keys(items).forEach(function (i) {
        var shape = D.items.shapes[+i];
        if (!shape) {
          if (D.items.points[i]) add(i, L.circleMarker(D.items.points[i], Object.assign({radius: 5, pane: 'edit-units'}, style(+i, held))));
          return;
        }
        var g = L.geoJSON({type: 'Feature', geometry: shape, properties: {}}, {style: style(+i, held), pane: 'edit-units'});
        g.eachLayer(function (p) { add(i, p); });
      });
    } else {
      D.items.drawn.forEach(function (c, k) {
        if (!items[c]) return;
        add(String(c), L.circleMarker(D.items.points[k], Object.assign({radius: 4, pane: 'edit-units'}, style(c, held))));
      });
    }
    layer.addTo(map);
    Object.keys(drawn).forEach(function (i) {
      var node = drawn[i].getElement ? drawn[i].getElement() : drawn[i]._path;
      if (node) { node.setAttribute('data-item', itemName(+i)); node.classList.add('edit-item'); }
    });
    hatched.forEach(function (h) {
      var node = h[0].getElement();
      if (node) { node.setAttribute('data-item', h[1]); node.classList.add('edit-other'); }
    });
    hatched = [];
  }
  function select(team, item) {
    if (team !== state.team) { setTeam(team); }
    state.item = item;
    render();
  }
  // the edit panel's team and the map's "territories: TEAM" buttons go together, both ways
  function teamButton(ti) {
    if (!map) return null;
    var inputs = map.getContainer().querySelectorAll('.leaflet-control-layers input.leaflet-control-layers-selector');
    for (var k = 0; k < inputs.length; k++) {
      if (inputs[k].parentNode.textContent.trim() === 'territories: ' + T[ti].name) return inputs[k];
    }
    return null;
  }
  function setTeam(ti) {  // the panel's team: the select, the map's button, the edit layer
    var changed = ti !== state.team;
    state.team = ti;
    el('edit-team').value = String(ti);
    var button = teamButton(ti);
    if (button && !button.checked) button.click();  // the map's own control: it fires baselayerchange / overlayadd
    if (changed) { state.item = -1; draw(); }
  }
  function teamOfLayer(name) {
    var prefix = 'territories: ';
    if (!name || name.indexOf(prefix) !== 0) return -1;
    return T.map(function (x) { return x.name; }).indexOf(name.slice(prefix.length));
  }

  function init() {
    map = findMap();
    el('edit-team').value = String(state.team);
    el('edit-team').addEventListener('change', function (e) { setTeam(+e.target.value); render(); });
    if (map) {
      map.on('baselayerchange overlayadd', function (e) {  // a team's territories chosen on the map: edit that team
        var ti = teamOfLayer(e.name);
        if (ti >= 0 && ti !== state.team) { setTeam(ti); render(); }
      });
      var shown = teamButton(state.team);
      if (shown && !shown.checked) shown.click();
    }
    el('edit-toggle').addEventListener('click', function () {
      state.on = !state.on;
      el('edit-toggle').setAttribute('aria-pressed', String(state.on));
      el('edit-toggle').textContent = state.on ? 'Stop editing on the map' : 'Edit on the map';
      draw(); render();
    });
    el('edit-undo').addEventListener('click', undo);
    el('edit-redo').addEventListener('click', redo);
    el('edit-export').addEventListener('click', download);
    render();
  }

  window.territoryEdits = {
    csv: csv, download: download, undo: undo, redo: redo,
    select: function (teamName, itemId) {
      var t = T.map(function (x) { return x.name; }).indexOf(teamName);
      if (t < 0 || itemIndex[itemId] === undefined) throw new Error('no such team or item');
      select(t, itemIndex[itemId]);
    },
    move: move,
    edit: function (on) { if (state.on !== !!on) el('edit-toggle').click(); },
    items: function (teamName) {
      var t = T.map(function (x) { return x.name; }).indexOf(teamName);
      return Object.keys(teamItems[t]).map(function (i) { return itemName(+i); });
    }
  };
  if (document.readyState === 'complete') init(); else window.addEventListener('load', init);
})();
