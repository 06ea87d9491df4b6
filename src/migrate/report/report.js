// The notebooks table of the batch report: open a row's details (click, Enter or Space),
// sort by a column (click its heading: ascending, then descending), filter by text and by
// outcome. The rows are written by nbkf; this only moves and hides them.
(function () {
  'use strict';
  var table = document.getElementById('notebooks');
  var filter = document.getElementById('filter');
  var shown = document.getElementById('shown');
  var empty = document.getElementById('empty');
  var chips = Array.prototype.slice.call(document.querySelectorAll('.chips input'));
  var recs = Array.prototype.slice.call(table.tBodies);
  var RANKS = {
    outcome: ['converted', 'converted_with_warnings', 'refused', 'unreadable', 'invalid', 'failed', 'timed_out'],
    check: ['passed', 'differs', 'failed', 'timed_out', 'error']
  };

  var counts = {};
  recs.forEach(function (b) { counts[b.dataset.outcome] = (counts[b.dataset.outcome] || 0) + 1; });
  document.querySelectorAll('[data-chip-count]').forEach(function (span) {
    var n = counts[span.dataset.chipCount] || 0;
    span.textContent = n;
    if (!n) span.closest('label').classList.add('zero');
  });

  function toggle(row) {
    var detail = row.nextElementSibling;
    var open = detail.hidden;
    detail.hidden = !open;
    row.setAttribute('aria-expanded', String(open));
  }
  table.addEventListener('click', function (e) {
    var row = e.target.closest('tr.row');
    if (row && !(window.getSelection && String(window.getSelection()).length)) toggle(row);
  });
  table.addEventListener('keydown', function (e) {
    var row = e.target;
    if (row.classList && row.classList.contains('row') && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      toggle(row);
    }
  });

  // The text a filter looks in: the row, the message and the diagnostics (not the drawing).
  var texts = new Map();
  function text(b) {
    var t = texts.get(b);
    if (t === undefined) {
      t = b.rows[0].textContent;
      b.querySelectorAll('.q').forEach(function (e) { t += ' ' + e.textContent; });
      t = t.toLowerCase();
      texts.set(b, t);
    }
    return t;
  }
  function apply() {
    var q = filter.value.trim().toLowerCase();
    var off = {};
    chips.forEach(function (c) { if (!c.checked) off[c.value] = true; });
    var n = 0;
    recs.forEach(function (b) {
      var ok = !off[b.dataset.outcome] && (!q || text(b).indexOf(q) >= 0);
      b.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = (n === recs.length ? n : n + ' of ' + recs.length) + ' notebook' + (recs.length === 1 ? '' : 's');
    empty.hidden = n > 0;
  }
  var timer = 0;
  filter.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
  filter.addEventListener('keydown', function (e) { if (e.key === 'Enter') { clearTimeout(timer); apply(); } });
  chips.forEach(function (c) { c.addEventListener('change', apply); });

  var sortKey = null;
  var sortDir = 1;
  function key(b, k, numeric) {
    var v = b.dataset[k] || '';
    if (v === '') return null;
    if (numeric) return parseFloat(v);
    if (RANKS[k]) { var r = RANKS[k].indexOf(v); return r < 0 ? RANKS[k].length : r; }
    return v;
  }
  function sort(th) {
    var k = th.dataset.sort;
    sortDir = sortKey === k ? -sortDir : 1;
    sortKey = k;
    var numeric = th.dataset.type === 'num';
    var keyed = recs.map(function (b, i) { return { b: b, v: key(b, k, numeric), i: i }; });
    keyed.sort(function (a, c) {
      if (a.v === null || c.v === null) return a.v === c.v ? a.i - c.i : (a.v === null ? 1 : -1);
      var d = typeof a.v === 'string' ? (a.v < c.v ? -1 : a.v > c.v ? 1 : 0) : a.v - c.v;
      return d ? d * sortDir : a.i - c.i;
    });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (o) { frag.appendChild(o.b); });
    table.appendChild(frag);
    table.tHead.querySelectorAll('th').forEach(function (h) {
      h.setAttribute('aria-sort', h === th ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
    });
  }
  table.tHead.addEventListener('click', function (e) {
    var th = e.target.closest('th[data-sort]');
    if (th) sort(th);
  });

  // A code of the most common diagnostics filters the notebooks by it.
  var common = document.getElementById('common');
  if (common) {
    common.addEventListener('click', function (e) {
      var button = e.target.closest('button.code');
      if (!button) return;
      filter.value = button.textContent;
      apply();
      table.scrollIntoView({behavior: 'smooth', block: 'start'});
    });
  }

  apply();
})();
