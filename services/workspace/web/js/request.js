// Komek workspace page: the open request: its facts, conversation, history and the actions on it.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import {
  t, label, el, setText, fillSelect, fmtTime, snippet, flash, api, busy, historyDetail, $,
} from '/staff.js';
import { state, CLOSED, isSupervisor, me, openLink, schedule, showTab } from './state.js';
import { renderQueue } from './queue.js';
import { renderCustomer } from './customer.js';

export function showRequestPanel(open) {
  $('request-empty').hidden = open;
  $('request-body').hidden = !open;
}

export async function openRequest(id) {
  if (state.tab !== 'work') showTab('work');
  await loadRequest(id, true);
  if (window.matchMedia('(max-width: 900px)').matches) $('request-panel').scrollIntoView({ block: 'start' });
}

export async function loadRequest(id, fresh) {
  const enc = encodeURIComponent(id);
  const view = await api('GET', `/api/v1/requests/${enc}`);
  const r = view.request;
  const [templates, similar, customer, problems] = await Promise.all([
    api('GET', `/api/v1/requests/${enc}/templates`).catch(() => []),
    api('GET', `/api/v1/requests/${enc}/similar`).catch(() => []),
    // Customer 360; null when it could not be loaded (the request's own contact is shown).
    api('GET', `/api/v1/requests/${enc}/customer`).catch(() => null),
    api('GET', '/api/v1/problems').catch(() => []),
  ]);
  const changed = state.current !== id;
  if (!fresh && changed) return; // another request was opened meanwhile
  state.current = id;
  const others = customer && Array.isArray(customer.requests) ? customer.requests.filter((x) => x.id !== r.id) : [];
  state.view = { request: r, history: view.history || [], templates: templates || [], similar: similar || [], customer, others,
    problems: problems || [] };
  // Opening the request again keeps what was typed; another request starts with empty boxes.
  renderRequest(changed);
  renderQueue();
}

export function renderRequest(reset) {
  const v = state.view;
  if (!v) return;
  const r = v.request;
  showRequestPanel(true);
  $('request-panel').dataset.requestId = r.id;
  setText('req-number', r.number);
  const st = $('req-status');
  st.textContent = label('st_', r.status);
  st.dataset.status = r.status;
  const pr = $('req-priority');
  pr.textContent = label('pr_', r.priority);
  pr.dataset.priority = r.priority;
  setText('req-category', label('cat_', r.category));
  setText('req-language', label('lang_', r.language));
  setText('req-channel', label('ch_', r.channel));
  setText('req-owner', r.owner);
  setText('req-created', fmtTime(r.created_at));
  setText('req-due-first', r.first_response_at ? `${fmtTime(r.due.first_response)} ✓` : fmtTime(r.due && r.due.first_response));
  setText('req-due-resolution', fmtTime(r.due && r.due.resolution));
  setText('req-escalation', r.escalation ? r.escalation.department : null);
  renderDepartmentWork(r, reset);
  $('req-due-first').dataset.overdue = String(!r.first_response_at && !CLOSED.has(r.status) && Date.parse(r.due.first_response) < Date.now());
  $('req-due-resolution').dataset.overdue = String(!CLOSED.has(r.status) && Date.parse(r.due.resolution) < Date.now());

  renderCustomer(v);

  $('similar-list').replaceChildren(...(v.similar.length
    ? v.similar.map((s) => el('li', { testid: 'similar-item', data: { requestId: s.id } },
      el('div', { className: 'line' }, openLink(s.id, s.number), ' ',
        el('span', { className: 'muted', text: t('shared_words', { n: s.score }) })),
      el('div', { className: 'snippet', text: snippet(s.subject || s.text, 140) }),
      el('div', { className: 'resolution', text: s.resolution || '—' })))
    : [el('li', { className: 'muted', text: t('none') })]));

  const thread = [el('li', { className: 'msg customer', testid: 'message', data: { kind: 'customer' } },
    el('div', { className: 'meta', text: `${t('customer_wrote')} · ${fmtTime(r.created_at)}` }),
    r.subject ? el('div', { className: 'subject', text: r.subject }) : null,
    el('div', { className: 'body', text: r.text }))];
  for (const m of r.messages || []) {
    thread.push(el('li', { className: 'msg ' + m.kind, testid: 'message', data: { kind: m.kind } },
      el('div', { className: 'meta', text: `${label('kind_', m.kind)} · ${fmtTime(m.at)}` }),
      el('div', { className: 'body', text: m.text })));
  }
  $('req-messages').replaceChildren(...thread);

  $('req-notes').replaceChildren(...((r.notes || []).length
    ? r.notes.map((n) => el('li', { className: 'msg note', testid: 'note' },
      el('div', { className: 'meta', text: `${n.author} · ${fmtTime(n.at)}` }),
      el('div', { className: 'body', text: n.text })))
    : [el('li', { className: 'muted', text: t('none') })]));

  $('req-history').replaceChildren(...v.history.map((h) => el('tr', { testid: 'history-row', data: { action: h.action } },
    el('td', { text: fmtTime(h.at) }),
    el('td', { text: h.actor }),
    el('td', { text: label('act_', h.action) }),
    el('td', { text: h.to ? `${h.from ? label('st_', h.from) + ' → ' : ''}${label('st_', h.to)}` : '' }),
    el('td', { className: 'detail', text: historyDetail(h) }))));

  const select = $('template-select');
  const keep = reset ? '' : select.value;
  select.replaceChildren(
    el('option', { value: '', text: v.templates.length ? t('choose_template') : t('no_templates') }),
    ...v.templates.map((tp) => el('option', { value: tp.id, text: tp.name })));
  select.value = v.templates.some((tp) => tp.id === keep) ? keep : '';
  if (reset) {
    for (const id of ['reply-text', 'note-text', 'esc-reason', 'resolution-text']) $(id).value = '';
    $('reply-wait').checked = false;
  }
  updateActionState();
}

/**
 * The department's unanswered question (with a box to answer it), and the request's problem
 * record with a picker of the open ones to link it to.
 */
function renderDepartmentWork(r, reset) {
  const question = r.escalation && r.escalation.question;
  $('info-form').hidden = !question;
  setText('info-question', question || null);
  if (reset) $('info-text').value = '';
  setText('req-problem', r.problem ? `${r.problem.number} · ${r.problem.title}` : null);
  const problems = (state.view && state.view.problems) || [];
  fillSelect($('problem-select'), problems.map((p) => [p.id, `${p.number} · ${p.title}`]), t('choose_problem'));
}

export async function giveInfo(ev) {
  ev.preventDefault();
  const r = state.view && state.view.request;
  const text = $('info-text').value.trim();
  if (!r || !r.escalation) return;
  if (!text) {
    flash(t('empty_text'), 'error');
    $('info-text').focus();
    return;
  }
  await busy($('info-send'), async () => {
    const path = `/api/v1/requests/${encodeURIComponent(r.id)}/escalations/${encodeURIComponent(r.escalation.id)}/info`;
    await api('POST', path, { text });
    $('info-text').value = '';
    flash(t('done_info'), 'ok');
    if (state.current === r.id) await loadRequest(r.id, false);
  });
}

export async function linkProblem(ev) {
  ev.preventDefault();
  const r = state.view && state.view.request;
  const problemId = $('problem-select').value;
  if (!r || !problemId) return;
  await busy($('problem-link'), async () => {
    await api('POST', `/api/v1/requests/${encodeURIComponent(r.id)}/problem`, { problem_id: problemId });
    flash(t('done_problem'), 'ok');
    if (state.current === r.id) await loadRequest(r.id, false);
  });
}

/** Reply, escalate and resolve are for the owner (or a supervisor) of an open request. */
export function updateActionState() {
  const r = state.view && state.view.request;
  if (!r) return;
  const mine = r.owner === me() || isSupervisor();
  const open = !CLOSED.has(r.status);
  const canAct = mine && open && r.status !== 'queued' && r.status !== 'new';
  for (const id of ['template-select', 'reply-text', 'reply-wait', 'reply-send', 'esc-department', 'esc-reason', 'esc-send',
    'resolution-text', 'resolve-send', 'info-text', 'info-send', 'problem-select', 'problem-link']) {
    $(id).disabled = !canAct;
  }
  $('actions').dataset.enabled = String(canAct);
}

export function pickTemplate() {
  const id = $('template-select').value;
  const tp = state.view && state.view.templates.find((x) => x.id === id);
  if (tp) {
    $('reply-text').value = tp.text;
    $('reply-text').focus();
  }
}

/** Posts the text of `field` to the current request's `path`; clears it and reloads on success. */
export async function act(ev, path, field, key, button, extra) {
  ev.preventDefault();
  const id = state.current;
  const text = $(field).value.trim();
  if (!id) return;
  if (!text) {
    flash(t('empty_text'), 'error');
    $(field).focus();
    return;
  }
  await busy($(button), async () => {
    const body = { [key]: text, ...(extra || {}) };
    await api('POST', `/api/v1/requests/${encodeURIComponent(id)}/${path}`, body);
    $(field).value = '';
    if (field === 'reply-text') {
      $('template-select').value = '';
      $('reply-wait').checked = false;
    }
    flash(t('done_' + path), 'ok');
    if (state.current === id) await loadRequest(id, false);
    schedule('queue');
  });
}

export function loadDepartments() {
  return api('GET', '/api/v1/departments').then((d) => {
    state.departments = d || [];
    renderDepartments();
  });
}

export function renderDepartments() {
  fillSelect($('esc-department'), state.departments.map((d) => [d.code, `${d.name} (${d.code})`]));
}
