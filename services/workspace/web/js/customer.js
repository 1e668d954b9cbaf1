// Komek workspace page: the customer block of the open request (customer 360).
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, label, el, setText, listOrNone, fmtTime, fmtDate, fmtTenge, snippet, $ } from '/staff.js';
import { state, openLink } from './state.js';

/** One of the customer's requests, as the customer 360 view lists them (RequestSummary). */
function customerRequestItem(o) {
  const li = el('li', { testid: 'other-request', data: { requestId: o.id, number: o.number, status: o.status } },
    el('div', { className: 'line' },
      openLink(o.id, o.number), ' ',
      el('span', { className: 'pill', data: { status: o.status }, text: label('st_', o.status) })),
    el('div', { className: 'muted', text: `${label('ch_', o.channel)} · ${fmtTime(o.created_at)}` }),
    el('div', { className: 'snippet', text: snippet(o.subject || o.snippet, 100) }));
  if (o.id === state.current) li.classList.add('current');
  return li;
}

function movementItem(m, testid) {
  return el('li', { testid, data: { date: m.date, amount: m.amount_tenge } },
    el('div', { className: 'line' },
      el('span', { className: 'muted', testid: testid + '-date', text: fmtDate(m.date) }), ' ',
      el('strong', { testid: testid + '-amount', text: fmtTenge(m.amount_tenge) })),
    el('div', { className: 'snippet', testid: testid + '-description', text: m.description || '—' }));
}

/** The customer block: the 360 profile when there is one, else the contact on the request. */
export function renderCustomer(v) {
  const c = v.request.customer || {};
  const cv = v.customer || {};
  const p = cv.profile || null;
  const box = $('customer-box');
  box.dataset.source = cv.source || 'none';
  box.dataset.degraded = String(Boolean(cv.degraded));
  const notice = $('cust-degraded');
  notice.hidden = !cv.degraded;
  if (cv.degraded && cv.degraded_reason) notice.setAttribute('title', String(cv.degraded_reason));
  else notice.removeAttribute('title');

  setText('cust-name', (p && p.name) || c.name);
  setText('cust-phone', (p && p.msisdn) || c.msisdn);
  setText('cust-email', (p && p.email) || c.email);
  setText('cust-language', p ? label('lang_', p.language) : null);
  setText('cust-segment', p && p.segment ? label('seg_', p.segment) : null);
  setText('cust-region', p && p.region);
  setText('cust-tariff', p && p.tariff);
  const balance = $('cust-balance');
  if (p && typeof p.balance_tenge === 'number') {
    balance.textContent = fmtTenge(p.balance_tenge);
    balance.dataset.tenge = String(p.balance_tenge);
    balance.dataset.negative = String(p.balance_tenge < 0);
  } else {
    balance.textContent = '—';
    delete balance.dataset.tenge;
    delete balance.dataset.negative;
  }

  listOrNone('cust-services', (cv.services || []).map((s) => el('li', { testid: 'cust-service', data: { code: s.code } },
    el('div', { className: 'line' }, el('span', { text: s.name }), ' ',
      el('span', { className: 'muted', text: s.monthly_fee_tenge ? t('per_month', { amount: fmtTenge(s.monthly_fee_tenge) }) : t('free') })),
    el('div', { className: 'muted', text: t('since', { date: fmtDate(s.since) }) }))));
  listOrNone('cust-charges', (cv.charges || []).slice(0, 5).map((m) => movementItem(m, 'cust-charge')));
  listOrNone('cust-payments', (cv.payments || []).slice(0, 5).map((m) => movementItem(m, 'cust-payment')));
  listOrNone('cust-other', v.others.map(customerRequestItem));
}
