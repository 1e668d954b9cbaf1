// Komek department page: the department's escalation queue, its deadlines counting down.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, label, el, setText, fmtTime, snippet, api, showError, $ } from '/staff.js';
import { state, showDeadline } from './state.js';
import { openEscalation } from './escalation.js';

export async function loadQueue() {
  const status = $('filter-answered').checked ? 'answered' : 'active';
  const mine = $('filter-mine').checked ? '&mine=true' : '';
  try {
    state.queue = (await api('GET', `/api/v1/escalations?status=${status}${mine}`)) || [];
    state.queueAt = new Date().toISOString();
    renderQueue();
  } catch (e) {
    showError(e);
  }
}

export function renderQueue() {
  const rows = state.queue.map((e) => {
    const due = el('td', { className: 'due', data: { dueOf: e.id }, testid: 'esc-due' });
    showDeadline(due, e);
    return el('tr', {
      testid: 'esc-row',
      data: { escalationId: e.id, number: e.number, status: e.status, tier: e.tier },
      className: state.ctx && state.ctx.escalation.id === e.id ? 'current' : null,
    },
    el('td', {}, el('strong', { text: e.number }), el('div', { className: 'muted small', text: snippet(e.reason, 80) })),
    due,
    el('td', { text: label('tier_', e.tier), testid: 'esc-tier' }),
    el('td', {}, el('span', { className: 'pill', data: { status: e.status }, text: label('est_', e.status), testid: 'esc-status' })),
    el('td', { text: e.assignee || t('nobody'), testid: 'esc-assignee' }),
    el('td', {}, el('button', { type: 'button', testid: 'esc-open', text: t('open'), onclick: () => openEscalation(e.id) })));
  });
  $('queue-body').replaceChildren(...rows);
  $('queue-empty').hidden = rows.length > 0;
  setText('queue-count', state.queue.length);
  $('queue-updated').textContent = state.queueAt ? t('updated_at', { t: fmtTime(state.queueAt) }) : '';
}

/** The deadlines count down between refreshes. */
export function tick() {
  const byId = new Map(state.queue.map((e) => [e.id, e]));
  for (const node of document.querySelectorAll('#queue-body [data-due-of]')) {
    const e = byId.get(node.dataset.dueOf);
    if (e) showDeadline(node, e);
  }
  if (state.ctx) showDeadline($('esc-due'), state.ctx.escalation);
}
