// Komek department page: one escalation: its request, customer, steps and history, and the actions on it.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import {
  t, label, el, setText, listOrNone, fillSelect, fmtTime, fmtTenge, flash, api, showError, busy, historyDetail, $,
} from '/staff.js';
import { state, enc, me, showDeadline, required } from './state.js';
import { loadQueue, renderQueue } from './queue.js';

// ---------------------------------------------------------------------------------------------
/**
 * Opens escalation `id`: a fresh panel (fields cleared, scrolled to). With `refresh`, the open
 * panel is read again after a live push and what the person is typing stays.
 */
export async function openEscalation(id, refresh) {
  try {
    const ctx = await api('GET', `/api/v1/escalations/${enc(id)}/context`);
    const current = state.ctx && state.ctx.escalation.id === id;
    if (refresh && !current) return; // closed, or another opened, meanwhile
    state.ctx = ctx;
    if (!refresh) for (const f of ['info-question', 'answer-text', 'reject-reason']) $(f).value = '';
    renderContext();
    renderQueue();
    if (!refresh) $('esc-panel').scrollIntoView({ block: 'start' });
  } catch (e) {
    if (e.status === 404) {
      // Gone from this department (rerouted): the panel closes. After a push that is news,
      // not an error of the person's.
      if (!refresh || (state.ctx && state.ctx.escalation.id === id)) closeEscalation();
      loadQueue();
      if (refresh) return;
    }
    showError(e);
  }
}

async function reloadContext() {
  if (!state.ctx) return;
  await openEscalation(state.ctx.escalation.id);
}

export function closeEscalation() {
  state.ctx = null;
  $('esc-panel').hidden = true;
  $('esc-panel').removeAttribute('data-escalation-id');
  renderQueue();
}

export function renderContext() {
  const { escalation: e, request: r, history, customer } = state.ctx;
  const panel = $('esc-panel');
  panel.hidden = false;
  panel.dataset.escalationId = e.id;
  panel.dataset.status = e.status;
  setText('esc-number', e.number);
  const status = $('esc-status');
  status.textContent = label('est_', e.status);
  status.dataset.status = e.status;
  setText('esc-tier', label('tier_', e.tier));
  setText('esc-assignee', e.assignee || t('nobody'));
  showDeadline($('esc-due'), e);
  setText('esc-agent', e.agent);
  setText('esc-reason', e.reason);
  setText('esc-path', (e.path || []).join(' → '));
  setText('esc-answer', e.answer ? `${e.answer} (${label('out_', e.outcome)})` : '');

  setText('req-summary', `${r.number} · ${label('cat_', r.category)} · ${label('lang_', r.language)} · ${label('ch_', r.channel)} · ${fmtTime(r.created_at)}`);
  setText('req-text', r.subject ? `${r.subject}\n${r.text}` : r.text);
  $('req-messages').replaceChildren(...(r.messages || []).map((m) => el('li', { data: { kind: m.kind } },
    el('div', { className: 'meta', text: `${label('kind_', m.kind)} · ${fmtTime(m.at)}` }),
    el('div', { className: 'pre', text: m.text }))));
  listOrNone('req-notes', (r.notes || []).map((n) => el('li', { data: { author: n.author } },
    el('div', { className: 'meta', text: `${n.author} · ${fmtTime(n.at)}` }),
    el('div', { className: 'pre', text: n.text }))));

  renderCustomer(customer);

  $('esc-steps').replaceChildren(...(e.steps || []).map((s) => el('li', { data: { action: s.action } },
    el('span', { className: 'meta', text: `${fmtTime(s.at)} · ${s.actor} · ${s.department}` }), ' ',
    el('strong', { text: label('step_', s.action) }),
    s.detail ? el('div', { className: 'pre', text: historyDetail(s) }) : null)));

  $('req-history').replaceChildren(...(history || []).map((h) => el('tr', { data: { action: h.action } },
    el('td', { text: fmtTime(h.at) }), el('td', { text: h.actor }), el('td', { text: label('act_', h.action) }),
    el('td', { className: 'pre', text: historyDetail(h) }))));
  renderDepartments();
  updateActions();
}

function renderCustomer(c) {
  const box = $('customer-box');
  const p = (c && c.profile) || null;
  const r = state.ctx.request.customer || {};
  box.dataset.source = c ? c.source : 'none';
  box.dataset.degraded = String(Boolean(c && c.degraded));
  $('cust-degraded').hidden = !(c && c.degraded);
  setText('cust-name', p ? p.name : r.name);
  setText('cust-phone', p ? p.msisdn : r.msisdn);
  setText('cust-email', p ? p.email : r.email);
  setText('cust-segment', p && p.segment ? label('seg_', p.segment) : '');
  setText('cust-region', p ? p.region : '');
  setText('cust-tariff', p ? p.tariff : '');
  setText('cust-balance', p ? fmtTenge(p.balance_tenge) : '');
  const list = (id, items, line) => listOrNone(id, (items || []).map((x) => el('li', { text: line(x) })));
  list('cust-services', c && c.services, (s) => `${s.name} (${fmtTenge(s.monthly_fee_tenge)})`);
  list('cust-charges', c && c.charges, (m) => `${m.date} · ${fmtTenge(m.amount_tenge)} · ${m.description}`);
  list('cust-requests', c && c.requests, (q) => `${q.number} · ${label('st_', q.status)} · ${fmtTime(q.created_at)} · ${q.snippet}`);
}

/** Buttons follow what the escalation's status allows (the server has the last word). */
export function updateActions() {
  const e = state.ctx && state.ctx.escalation;
  const active = Boolean(e && e.status !== 'answered');
  $('esc-actions').hidden = !active;
  if (!e) return;
  $('esc-accept').disabled = !(e.status === 'open' || (e.status === 'accepted' && e.assignee !== me()));
  $('info-send').disabled = !(e.status === 'open' || e.status === 'accepted');
  $('answer-send').disabled = !active;
  $('reject-send').disabled = !active;
}

async function act(button, path, body, done) {
  const e = state.ctx.escalation;
  await busy(button, async () => {
    const after = await api('POST', `/api/v1/escalations/${enc(e.id)}/${path}`, body);
    flash(done(after), 'info');
    await loadQueue();
    if (after && after.department && state.user && after.department !== state.user.department) {
      closeEscalation();
    } else {
      await reloadContext();
    }
  });
}

export function accept() {
  act($('esc-accept'), 'accept', {}, (e) => t('accepted_done', { number: e.number }));
}

export function askAgent() {
  const question = required('info-question');
  if (question) act($('info-send'), 'request-info', { question }, () => t('asked_done'));
}

export function answer() {
  const text = required('answer-text');
  const outcome = $('answer-outcome').value;
  if (text) act($('answer-send'), 'answer', { text, outcome }, () => t('answered_done'));
}

export function reject() {
  const department = $('reject-department').value;
  if (!department) {
    flash(t('choose_department'), 'error');
    return;
  }
  const reason = required('reject-reason');
  if (reason) {
    act($('reject-send'), 'reject', { reason, department },
      (e) => t('rejected_done', { number: e.number, department: e.department }));
  }
}

export async function loadDepartments() {
  try {
    state.departments = (await api('GET', '/api/v1/departments')) || [];
    renderDepartments();
  } catch (e) {
    showError(e);
  }
}

export function renderDepartments() {
  const others = state.departments.filter((d) => !state.user || d.code !== state.user.department);
  fillSelect($('reject-department'), others.map((d) => [d.code, `${d.name} (${d.code})`]), t('choose_department'));
}
