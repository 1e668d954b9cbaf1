// Komek workspace page: problem records and the spike alert (supervisors).
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { meta, t, label, el, fmtTime, flash, api, busy, $ } from '/staff.js';
import { state, isSupervisor } from './state.js';

// Problems: open and candidate problem records; a candidate spike detection opened is announced.
export async function loadProblems() {
  const list = (await api('GET', '/api/v1/problems')) || [];
  // A candidate that appeared while the live connection was down is announced too (not the
  // ones already there at sign-in: the panel shows those).
  if (state.knownProblems) {
    for (const p of list) {
      if (p.status === 'candidate' && !state.knownProblems.has(p.id)) {
        announceSpike({ id: p.id, number: p.number, title: p.title }, true);
      }
    }
  }
  state.knownProblems = new Set(list.map((p) => p.id));
  state.problems = list;
  renderProblems();
  renderSpikeAlert();
}

export function renderProblems() {
  const list = state.problems;
  if (!list) return;
  // Candidates first (they wait for someone to confirm or dismiss them), then newest first.
  const rows = [...list].sort((a, b) => (b.status === 'candidate') - (a.status === 'candidate'))
    .map((p) => el('tr', {
      testid: 'sv-problem',
      className: p.status === 'candidate' ? 'candidate' : null,
      data: { problemId: p.id, number: p.number, status: p.status, proposal: p.proposal ? 'pending' : '' },
    },
    el('td', {}, el('strong', { testid: 'sv-problem-number', text: p.number })),
    el('td', { testid: 'sv-problem-title', className: 'detail', text: p.title }),
    el('td', {}, el('span', { className: 'pill', testid: 'sv-problem-status', data: { problemStatus: p.status }, text: label('pst_', p.status) })),
    el('td', { testid: 'sv-problem-linked', text: String(p.linked ?? 0) }),
    el('td', { text: fmtTime(p.created_at) }),
    el('td', { text: p.department || '—' }),
    el('td', { testid: 'sv-problem-proposal' }, ...proposalCell(p))));
  $('sv-problems-count').textContent = String(list.length);
  $('sv-problems').replaceChildren(...(rows.length
    ? rows
    : [el('tr', {}, el('td', { colspan: '7', className: 'muted', text: t('no_problems') }))]));
}

/**
 * A department's proposed resolution: its texts and the approval that sends them to every linked
 * customer (the department cannot send them itself).
 */
function proposalCell(p) {
  const q = p.proposal;
  if (!q) return [];
  const texts = meta.languages.filter((l) => q.messages && q.messages[l]).map((l) => `${l}: ${q.messages[l]}`);
  const button = el('button', {
    type: 'button', className: 'primary', testid: 'sv-problem-approve', text: t('approve'),
    onclick: () => approve(p, button),
  });
  return [
    el('div', { className: 'muted small', text: t('proposal_by', { by: q.by }) }),
    el('div', { className: 'detail pre', testid: 'sv-problem-proposal-text', text: texts.join('\n') }),
    button,
  ];
}

async function approve(p, button) {
  await busy(button, async () => {
    await api('POST', `/api/v1/problems/${encodeURIComponent(p.id)}/approve`, { proposal_id: p.proposal.id });
    flash(t('approved_done', { number: p.number }), 'info');
    await loadProblems();
  });
}

/** Shows the banner (and a flash) for a candidate problem; each problem once. */
export function announceSpike(alert, quiet) {
  if (!alert.id || state.spikeAlerts.some((a) => a.id === alert.id)) return;
  state.spikeAlerts.unshift(alert);
  state.spikeAlerts.length = Math.min(state.spikeAlerts.length, 5);
  if (state.knownProblems) state.knownProblems.add(alert.id);
  renderSpikeAlert();
  if (!quiet) flash(t('spike_flash', { number: alert.number, title: alert.title }), 'warn');
}

/** What a candidate is about, in the page's language when its spike figures are known. */
function spikeText(alert) {
  const p = (state.problems || []).find((x) => x.id === alert.id);
  const s = p && p.spike;
  if (!s) return alert.title;
  const vars = {
    count: s.count,
    category: label('cat_', p.category),
    region: p.region,
    minutes: s.window_minutes,
    mean: Number(s.baseline_mean || 0).toFixed(1),
  };
  return t(p.region ? 'spike_text' : 'spike_text_national', vars);
}

export function renderSpikeAlert() {
  const show = isSupervisor() && state.spikeAlerts.length > 0;
  $('spike-alert').hidden = !show;
  if (!show) return;
  $('spike-alert-list').replaceChildren(...state.spikeAlerts.map((a) => el('li', {
    testid: 'spike-alert-item', data: { problemId: a.id, number: a.number },
  }, el('strong', { text: a.number }), ' ', el('span', { testid: 'spike-alert-text', text: spikeText(a) }))));
}
