// Komek workspace page: the live feed: what each push changes on the page.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, label, el, fmtTime, flash, $ } from '/staff.js';
import { state, isSupervisor, me, openLink, schedule } from './state.js';
import { announceSpike } from './problems.js';

/** Events the workspace applies when they arrive from another service (not its own changes). */
const APPLIED_LATER = /^(escalation\.|problem\.|request\.customer_message|request\.linked|survey\.answered|notification\.)/;

export function onNote(note) {
  const type = String(note.type || '');
  state.feed.unshift({ at: new Date().toISOString(), ...note });
  state.feed.length = Math.min(state.feed.length, 20);
  renderFeed();
  const payload = note.payload && typeof note.payload === 'object' ? note.payload : {};
  if (type === 'offer.made' && payload.agent === me() && payload.expires_at) {
    const at = Date.parse(payload.expires_at);
    if (!Number.isNaN(at)) state.offerExpiry.set(note.request_id, at);
  }
  if (type.startsWith('offer.')) schedule('offers');
  schedule('queue');
  if (note.request_id && note.request_id === state.current) {
    schedule('request');
    // Another service's event reaches the live feed while this service's consumer may still be
    // applying it to the request: look again a moment later so the view does not stay stale.
    if (APPLIED_LATER.test(type)) {
      const id = note.request_id;
      setTimeout(() => { if (state.current === id) schedule('request'); }, 1500);
    }
  }
  if (state.searchResult && state.searchResult.items.some((r) => r.id === note.request_id)) schedule('search');
  if (isSupervisor()) schedule('sv');
  if (isSupervisor() && type.startsWith('problem.')) schedule('problems');
  // Spike detection opened a candidate problem: every supervisor is told at once.
  if (isSupervisor() && type === 'problem.opened' && payload.detail === 'candidate' && payload.problem_id) {
    announceSpike({ id: String(payload.problem_id), number: String(payload.number || ''), title: String(payload.title || '') });
  }
  if (type.startsWith('deadline.') && note.owner === me()) {
    flash(t('deadline_alert', { number: note.number || '', what: label('ev_', type) }), 'warn');
  }
  if ((type === 'request.reassigned' || type === 'request.escalation_returned' || type === 'request.reopened')
    && note.owner === me()) {
    flash(`${label('ev_', type)}: ${note.number || ''}`, 'info');
  }
}

export function renderFeed() {
  const problemOf = (n) => (String(n.type || '').startsWith('problem.') && n.payload && n.payload.number
    ? el('span', { className: 'muted', text: ' · ' + String(n.payload.number) }) : '');
  const items = state.feed.map((n) => el('li', { testid: 'feed-item', data: { type: n.type || '' } },
    el('time', { text: fmtTime(n.at) }), ' ',
    el('strong', { text: label('ev_', n.type) }), ' ',
    n.number ? openLink(n.request_id, n.number) : '',
    n.status ? el('span', { className: 'muted', text: ' · ' + label('st_', n.status) }) : '',
    problemOf(n)));
  $('live-feed').replaceChildren(...items);
}
