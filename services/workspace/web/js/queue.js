// Komek workspace page: the waiting queue and the agent's own requests.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, label, el, fmtTime, flash, api, busy, snippet, $ } from '/staff.js';
import { state, openLink } from './state.js';
import { openRequest } from './request.js';

export async function loadQueue() {
  state.queue = await api('GET', '/api/v1/queue');
  renderQueue();
}

export function requestItem(r, testid, withOpen) {
  const kids = [
    el('div', { className: 'line' },
      openLink(r.id, r.number), ' ',
      el('span', { className: 'pill', data: { status: r.status }, text: label('st_', r.status) }), ' ',
      el('span', { className: 'pill', data: { priority: r.priority }, text: label('pr_', r.priority) })),
    el('div', { className: 'muted', text: `${label('cat_', r.category)} · ${label('lang_', r.language)} · ${fmtTime(r.created_at)}` }),
    el('div', { className: 'snippet', text: snippet(r.subject || r.text, 100) }),
  ];
  if (withOpen) {
    kids.push(el('button', { type: 'button', className: 'open', testid: testid + '-open', data: { requestId: r.id }, text: t('open') }));
  }
  const li = el('li', { testid, data: { requestId: r.id, number: r.number, status: r.status } }, ...kids);
  if (r.id === state.current) li.classList.add('current');
  return li;
}

export function renderQueue() {
  const q = state.queue;
  if (!q) return;
  $('queue-total').textContent = t('waiting_total', { n: q.waiting_total });
  $('queue-list').replaceChildren(...(q.waiting.length
    ? q.waiting.map((r) => requestItem(r, 'queue-item', false))
    : [el('li', { className: 'muted', text: t('none') })]));
  $('mine-count').textContent = String(q.mine.length);
  $('mine-list').replaceChildren(...(q.mine.length
    ? q.mine.map((r) => requestItem(r, 'my-request', true))
    : [el('li', { className: 'muted', text: t('none') })]));
}

export async function takeNext(button) {
  await busy(button, async () => {
    const r = await api('POST', '/api/v1/queue/next');
    if (!r) {
      flash(t('nothing_waits'), 'info');
      return;
    }
    await loadQueue();
    await openRequest(r.id);
  });
}
