// HeadClassifier dashboard: live job progress (polling the JSON API), the new-job form, the result map.
'use strict';

const finalStates = ['succeeded', 'failed', 'cancelled'];

function fmtSeconds(s) {
  if (s === null || s === undefined || isNaN(s)) return '';
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.floor(s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

function duration(job) {
  if (job.durationSeconds !== null && job.durationSeconds !== undefined) return job.durationSeconds;
  if (!job.startedAt) return null;
  return (Date.now() - Date.parse(job.startedAt)) / 1000;
}

// Fills the live parts of a job's row or header from its API view.
function applyJob(root, job, errorBox) {
  const status = root.querySelector('.status');
  status.textContent = job.status;
  status.className = 'status ' + job.status;
  root.dataset.status = job.status;
  const bar = root.querySelector('.bar');
  bar.setAttribute('aria-valuenow', job.percent);
  bar.firstElementChild.style.width = job.percent + '%';
  root.querySelector('.pct').textContent = job.percent + '%';
  const stage = job.status === 'running' && job.layer !== null ? job.stage + ' (layer ' + job.layer + ')' : (job.stage || '');
  root.querySelector('.stage').textContent = stage;
  root.querySelector('.duration').textContent = fmtSeconds(duration(job));
  const provider = root.querySelector('.provider');
  if (provider) provider.textContent = job.provider || '';
  root.querySelector('.act-cancel').hidden = finalStates.includes(job.status);
  root.querySelector('.act-retry').hidden = !(job.status === 'failed' || job.status === 'cancelled');
  if (errorBox) {
    errorBox.hidden = !job.error;
    errorBox.querySelector('.reason').textContent = job.error || '';
  }
}

async function getJson(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!r.ok) throw new Error(url + ': ' + r.status);
  return r.json();
}

function poll(step) {
  let busy = false;
  const tick = async () => {
    if (busy || document.hidden) return;
    busy = true;
    try { await step(); } catch (e) { console.warn(e); } finally { busy = false; }
  };
  setInterval(tick, 1000);
}

// Polls only what can change: the counts per status (a changed total means jobs came or went, and the server renders
// the new page) and the shown jobs not yet finished.
function liveJobList(table) {
  const filter = table.dataset.liveJobs;
  poll(async () => {
    const counts = await getJson('/api/jobs/counts');
    for (const c of document.querySelectorAll('.filters .count[data-count]'))
      c.textContent = c.dataset.count === 'all' ? counts.total : counts.byStatus[c.dataset.count];
    if ((filter ? counts.byStatus[filter] : counts.total) !== parseInt(table.dataset.total, 10)) { location.reload(); return; }
    const active = [...table.querySelectorAll('tr[data-job]')].filter(r => !finalStates.includes(r.dataset.status)).map(r => r.dataset.job);
    if (active.length === 0) return;
    for (const job of await getJson('/api/jobs?ids=' + active.map(encodeURIComponent).join(','))) {
      const row = table.querySelector('tr[data-job="' + CSS.escape(job.id) + '"]');
      if (row) applyJob(row, job, table.querySelector('tr[data-error-for="' + CSS.escape(job.id) + '"]'));
    }
  });
}

function liveJob(head) {
  const id = head.dataset.liveJob;
  if (finalStates.includes(head.dataset.status)) return;
  poll(async () => {
    const job = await getJson('/api/jobs/' + encodeURIComponent(id));
    applyJob(head, job, head.querySelector('p.error'));
    // Finished: the server renders the result (or keeps the failure reason) on a fresh page.
    if (finalStates.includes(job.status)) location.reload();
  });
}

function jobForm(form) {
  const set = form.querySelector('#operationSet');
  const show = () => {
    for (const fs of form.querySelectorAll('fieldset[data-set]')) {
      const on = fs.dataset.set === set.value;
      fs.hidden = !on;
      fs.disabled = !on;
    }
  };
  set.addEventListener('change', show);
  show();
  // Beside each operation: its single-token pairs under the chosen model's tokenizer, against minPairs (as JobPages.PairsText).
  const model = form.querySelector('#model');
  const minPairs = form.querySelector('#minPairs');
  const mark = () => {
    const min = parseInt(minPairs.value, 10) || parseInt(model.selectedOptions[0].dataset.minPairs, 10);
    for (const s of form.querySelectorAll('small.pairs')) {
      const single = parseInt(s.dataset.single, 10), pairs = s.dataset.pairs;
      s.textContent = single >= min ? single + ' of ' + pairs + ' pairs usable' : single + ' of ' + pairs + ' pairs single-token: too few';
      s.closest('label.op').classList.toggle('unusable', single < min);
    }
  };
  model.addEventListener('change', async () => {
    minPairs.value = model.selectedOptions[0].dataset.minPairs;
    try {
      const counts = await getJson('/api/models/' + encodeURIComponent(model.value) + '/operations');
      for (const fs of form.querySelectorAll('fieldset[data-set]')) {
        for (const o of counts.sets[fs.dataset.set] || []) {
          const s = fs.querySelector('small.pairs[data-op="' + CSS.escape(o.name) + '"]');
          if (s) { s.dataset.single = o.singleTokenPairs; s.dataset.pairs = o.pairs; }
        }
      }
    } catch (e) { console.warn(e); }
    mark();
  });
  minPairs.addEventListener('input', mark);
  for (const b of form.querySelectorAll('[data-toggle-all]')) {
    b.addEventListener('click', () => {
      const boxes = [...b.closest('.category').querySelectorAll('input[type=checkbox]')];
      const check = !boxes.every(x => x.checked);
      boxes.forEach(x => { x.checked = check; });
    });
  }
}

// Viridis, as the score figures' 0..1 scale.
function ramp(v) {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const n = stops.length - 1, t = Math.max(0, Math.min(1, v)) * n, i = Math.min(n - 1, Math.floor(t)), f = t - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return 'rgb(' + c.join(',') + ')';
}

function result(dataEl) {
  const d = JSON.parse(dataEl.textContent);
  const cells = new Map(d.cells.map(c => [c.id, c]));
  const tip = document.getElementById('tip');
  const fmt = v => v.toFixed(3);
  // The clicked head's scores appear in the panel: its tooltip stays away until the pointer (or focus) leaves it.
  let quiet = null;
  const show = btn => {
    if (btn === quiet) return;
    const c = cells.get(btn.dataset.head);
    const lines = [c.id + '  ' + d.classes[c.cls], 'labels: ' + (c.labels || 'none')];
    for (const s of c.top) lines.push(s.op + ': ' + fmt(s.score) + (s.suppression === null ? '' : '  (suppression ' + fmt(s.suppression) + ')'));
    tip.textContent = lines.join('\n');
    tip.hidden = false;
    // Fixed to the viewport, so the map's scrolling box cannot clip it; kept inside the window.
    const b = btn.getBoundingClientRect();
    tip.style.left = Math.max(4, Math.min(b.right + 8, window.innerWidth - tip.offsetWidth - 4)) + 'px';
    tip.style.top = Math.max(4, Math.min(b.bottom + 4, window.innerHeight - tip.offsetHeight - 4)) + 'px';
  };
  const hide = () => { tip.hidden = true; };
  const leave = btn => { if (btn === quiet) quiet = null; hide(); };
  const detail = document.getElementById('head-detail');
  const select = btn => {
    hide();
    quiet = btn;
    document.querySelectorAll('.cell.selected').forEach(x => x.classList.remove('selected'));
    btn.classList.add('selected');
    const c = cells.get(btn.dataset.head);
    const scores = (d.scores[c.id] || []).slice().sort((a, b) => b.score - a.score);
    const hasSup = scores.some(s => s.suppressionScore !== null);
    const h3 = document.createElement('h3');
    h3.textContent = c.id + ': ' + d.classes[c.cls];
    const p = document.createElement('p');
    p.textContent = 'labels: ' + (c.labels || 'none');
    const table = document.createElement('table');
    table.innerHTML = '<thead><tr><th>Operation</th><th>Category</th><th>k</th><th>Score</th>' + (hasSup ? '<th>Suppression</th>' : '') + '</tr></thead>';
    const body = table.createTBody();
    for (const s of scores) {
      const tr = body.insertRow();
      const add = (text, cls) => { const td = tr.insertCell(); td.textContent = text; if (cls) td.className = cls; };
      add(s.display); add(s.category); add(String(s.k), 'num'); add(fmt(s.score), 'num');
      if (hasSup) add(s.suppressionScore === null ? '' : fmt(s.suppressionScore), 'num');
    }
    detail.replaceChildren(h3, p, table);
    if (d.evidenceUrl) evidence(c.id);
  };
  // The pairs behind the head's scores and its top tokens, for the operations the run kept evidence of.
  const evidence = id => {
    const box = document.createElement('div');
    box.className = 'evidence';
    detail.append(box);
    fetch(d.evidenceUrl + encodeURIComponent(id) + '/evidence', { credentials: 'same-origin' })
      .then(r => r.ok ? r.json() : Promise.reject(new Error(r.status + ' ' + r.statusText)))
      .then(e => {
        if (!detail.contains(box)) return; // another head was selected meanwhile
        const h4 = document.createElement('h4');
        h4.textContent = 'Evidence';
        box.append(h4);
        if (e.operations.length === 0) {
          const p = document.createElement('p');
          p.className = 'hint';
          p.textContent = 'No evidence kept: the head reaches τ on no operation and is not among any operation\'s five best heads.';
          box.append(p);
        }
        const pairs = list => list.map(x => x.source + ' → ' + x.target + (x.rank === null ? '' : ' (rank ' + x.rank + ')')).join(', ');
        for (const o of e.operations) {
          const s = document.createElement('section');
          s.className = 'evidence-op';
          const t = document.createElement('h5');
          t.textContent = o.display + ': ' + o.hits + ' of ' + o.pairs + ' pairs in the top ' + o.k + ' (score ' + fmt(o.hits / o.pairs) + ')';
          s.append(t);
          for (const [label, list] of [['hit', o.hit], ['missed', o.missed]]) {
            if (list.length === 0) continue;
            const p = document.createElement('p');
            p.className = 'pairs ' + label;
            p.textContent = label + ': ' + pairs(list);
            s.append(p);
          }
          for (const tt of o.topTokens) {
            const p = document.createElement('p');
            p.className = 'top-tokens';
            p.textContent = 'top tokens for ' + tt.source + ': ' + tt.tokens.map(x => JSON.stringify(x.text)).join(', ');
            s.append(p);
          }
          box.append(s);
        }
      })
      .catch(err => { box.textContent = 'Evidence could not be loaded: ' + err.message; });
  };
  for (const btn of document.querySelectorAll('.headmap .cell[data-head]')) {
    btn.addEventListener('mouseenter', () => show(btn));
    btn.addEventListener('focus', () => show(btn));
    btn.addEventListener('mouseleave', () => leave(btn));
    btn.addEventListener('blur', () => leave(btn));
    btn.addEventListener('click', () => select(btn));
  }

  const opSelect = document.getElementById('heatmap-op');
  const sup = document.getElementById('heatmap-suppression');
  const paint = () => {
    const op = opSelect.value, useSup = sup && sup.checked;
    for (const cell of document.querySelectorAll('.heatmap .hcell')) {
      const s = (d.scores[cell.dataset.head] || []).find(x => x.op === op);
      const v = s ? (useSup ? s.suppressionScore : s.score) : null;
      cell.style.background = v === null || v === undefined ? '#eee' : ramp(v);
      cell.title = cell.dataset.head + ': ' + (v === null || v === undefined ? 'no score' : fmt(v));
    }
  };
  opSelect.addEventListener('change', paint);
  if (sup) sup.addEventListener('change', paint);
  paint();
}

document.addEventListener('DOMContentLoaded', () => {
  // Destructive forms ask first (the page's policy allows no inline handlers).
  for (const f of document.querySelectorAll('form[data-confirm]'))
    f.addEventListener('submit', e => { if (!confirm(f.dataset.confirm)) e.preventDefault(); });
  // The empty list polls too, so the first job submitted elsewhere appears without a manual reload.
  const list = document.querySelector('[data-live-jobs]');
  if (list) liveJobList(list);
  const head = document.querySelector('[data-live-job]');
  if (head) liveJob(head);
  const form = document.querySelector('form.job-form');
  if (form) jobForm(form);
  const data = document.getElementById('result-data');
  if (data) result(data);
});
