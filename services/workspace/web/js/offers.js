// Komek workspace page: the offers pushed to an agent, with their countdowns.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, label, el, flash, api, busy, secondsUntil, snippet, $ } from '/staff.js';
import { state } from './state.js';
import { loadQueue } from './queue.js';
import { openRequest } from './request.js';

export async function loadOffers() {
  state.offers = (await api('GET', '/api/v1/offers')) || [];
  const live = new Set(state.offers.map((r) => r.id));
  for (const id of [...state.offerExpiry.keys()]) if (!live.has(id)) state.offerExpiry.delete(id);
  renderOffers();
}

export function renderOffers() {
  $('offers-count').textContent = String(state.offers.length);
  if (!state.offers.length) {
    $('offers-list').replaceChildren(el('li', { className: 'muted', text: t('no_offers') }));
    return;
  }
  const items = state.offers.map((r) => {
    const expiry = state.offerExpiry.get(r.id);
    const accept = el('button', { type: 'button', className: 'primary', testid: 'offer-accept', text: t('accept') });
    const decline = el('button', { type: 'button', testid: 'offer-decline', text: t('decline') });
    accept.addEventListener('click', () => acceptOffer(r, accept));
    decline.addEventListener('click', () => declineOffer(r, decline));
    return el('li', { className: 'offer', testid: 'offer', data: { requestId: r.id, number: r.number } },
      el('div', { className: 'line' },
        el('strong', { text: r.number }), ' ',
        el('span', { className: 'pill', data: { priority: r.priority }, text: label('pr_', r.priority) }), ' ',
        el('span', { className: 'muted', text: `${label('cat_', r.category)} · ${label('lang_', r.language)}` })),
      el('div', { className: 'snippet', text: snippet(r.subject || r.text, 120) }),
      el('div', { className: 'line' },
        el('span', { className: 'countdown', testid: 'offer-countdown', data: { expires: expiry || '' } }),
        accept, decline));
  });
  $('offers-list').replaceChildren(...items);
  tickCountdowns();
}

export function tickCountdowns() {
  for (const node of document.querySelectorAll('.countdown')) {
    const at = Number(node.dataset.expires);
    if (!at) {
      node.textContent = '';
      continue;
    }
    const left = Math.ceil(secondsUntil(at));
    node.textContent = left > 0 ? t('expires_in', { s: left }) : t('expired');
    node.dataset.left = String(Math.max(0, left));
  }
}

async function acceptOffer(r, button) {
  await busy(button, async () => {
    const taken = await api('POST', `/api/v1/offers/${encodeURIComponent(r.id)}/accept`);
    flash(t('accepted', { number: taken.number }), 'ok');
    state.offerExpiry.delete(r.id);
    await Promise.all([loadOffers(), loadQueue()]);
    await openRequest(taken.id);
  });
}

async function declineOffer(r, button) {
  await busy(button, async () => {
    await api('POST', `/api/v1/offers/${encodeURIComponent(r.id)}/decline`);
    flash(t('declined', { number: r.number }), 'info');
    state.offerExpiry.delete(r.id);
    await loadOffers();
  });
}
