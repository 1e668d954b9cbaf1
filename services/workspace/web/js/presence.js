// Komek workspace page: the agent's presence.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, flash, api, busy, saveSession as keepSession, $ } from '/staff.js';
import { state, schedule } from './state.js';

/** The session is kept (staff.js keeps its tokens) with the presence. */
export const saveSession = () => keepSession({ presence: state.presence });

export async function setPresence(value, button) {
  await busy(button, async () => {
    const out = await api('PUT', '/api/v1/presence', { state: value });
    state.presence = out.state;
    saveSession();
    renderPresence();
    if (Array.isArray(out.handed_back) && out.handed_back.length) {
      flash(t('handed_back', { list: out.handed_back.join(', ') }), 'info');
    }
    schedule('queue', 'offers');
  });
}

export function renderPresence() {
  for (const b of document.querySelectorAll('#presence [data-presence]')) {
    b.setAttribute('aria-pressed', String(b.dataset.presence === state.presence));
  }
  $('presence-card').dataset.state = state.presence || 'unknown';
}
