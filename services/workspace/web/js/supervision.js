// Komek workspace page: the supervisors' overview (agents, queues, watch list) and reassignment.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, label, el, fillSelect, fmtTime, fmtSpan, flash, api, busy, $ } from '/staff.js';
import { state, openLink, schedule } from './state.js';

export async function loadSupervisor() {
  state.sv = await api('GET', '/api/v1/supervisor');
  state.sv.loadedAt = new Date().toISOString();
  renderSupervisor();
}

export function renderSupervisor() {
  const sv = state.sv;
  if (!sv) return;
  $('sv-updated').textContent = t('updated_at', { t: fmtTime(sv.loadedAt) });
  $('sv-agents').replaceChildren(...sv.agents.map((a) => el('tr', { testid: 'sv-agent', data: { login: a.user.login, presence: a.presence } },
    el('td', {}, el('strong', { text: a.user.name }), ' ', el('span', { className: 'muted', text: `${a.user.login} · ${label('role_', a.user.role)}${a.user.level ? ' · ' + t('level', { n: a.user.level }) : ''}` })),
    el('td', {}, el('span', { className: 'presence', data: { presence: a.presence }, text: label('presence_', a.presence) })),
    el('td', { testid: 'sv-agent-load', text: `${a.load} / ${a.user.capacity}` }),
    el('td', { text: (a.user.languages || []).map((l) => label('lang_', l)).join(', ') }),
    el('td', { text: (a.user.categories || []).length ? a.user.categories.map((c) => label('cat_', c)).join(', ') : t('all') }))));

  $('sv-queues').replaceChildren(...(sv.queues.length
    ? sv.queues.map((q) => el('tr', { testid: 'sv-queue', data: { category: q.category, language: q.language } },
      el('td', { text: label('cat_', q.category) }),
      el('td', { text: label('lang_', q.language) }),
      el('td', { testid: 'sv-queue-waiting', text: String(q.waiting) }),
      el('td', { text: fmtSpan(q.oldest_age_secs) })))
    : [el('tr', {}, el('td', { colspan: '4', className: 'muted', text: t('sv_no_queues') }))]));

  $('sv-watchlist').replaceChildren(...(sv.watchlist.length
    ? sv.watchlist.map((r) => el('tr', { testid: 'sv-watch', data: { requestId: r.id, number: r.number } },
      el('td', {}, openLink(r.id, r.number)),
      el('td', { text: label('st_', r.status) }),
      el('td', { text: label('pr_', r.priority) }),
      el('td', { text: r.owner || '—' }),
      el('td', { text: fmtTime(r.due && r.due.resolution) }),
      el('td', {}, el('button', { type: 'button', className: 'reassign-pick', data: { number: r.number }, text: t('sv_reassign') }))))
    : [el('tr', {}, el('td', { colspan: '6', className: 'muted', text: t('sv_no_watch') }))]));

  fillSelect($('reassign-agent'), sv.agents.map((a) => [a.user.login,
    `${a.user.name} (${a.user.login}) · ${label('presence_', a.presence)} · ${a.load}/${a.user.capacity}`]));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A request id from what the supervisor typed: an id, or a number looked up by search. */
async function requestIdOf(typed) {
  if (UUID.test(typed)) return { id: typed, number: typed };
  const res = await api('GET', '/api/v1/search?' + new URLSearchParams({ number: typed.toUpperCase(), per_page: '1' }));
  const r = res.items[0];
  return r ? { id: r.id, number: r.number } : null;
}

export async function reassign(ev) {
  ev.preventDefault();
  const typed = $('reassign-request').value.trim();
  const agent = $('reassign-agent').value;
  $('reassign-result').textContent = '';
  if (!typed || !agent) return;
  await busy($('reassign-send'), async () => {
    const found = await requestIdOf(typed);
    if (!found) {
      $('reassign-result').textContent = t('not_found');
      return;
    }
    const r = await api('POST', `/api/v1/requests/${encodeURIComponent(found.id)}/reassign`, { agent });
    const msg = t('reassigned', { number: r.number, agent: r.owner || agent });
    $('reassign-result').textContent = msg;
    $('reassign-result').dataset.number = r.number;
    flash(msg, 'ok');
    schedule('sv');
    if (state.current === r.id) schedule('request');
  });
}
