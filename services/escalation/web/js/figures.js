// Komek department page: the department's figures (heads).
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { label, el, setText, api, showError, $ } from '/staff.js';
import { state, isHead } from './state.js';

export async function loadStats() {
  if (!isHead()) return;
  try {
    state.stats = await api('GET', '/api/v1/department/stats');
    renderStats();
  } catch (e) {
    showError(e);
  }
}

function figure(key, value) {
  if (value === null || value === undefined) return '—';
  if (key === 'answered_within_deadline') return `${Math.round(Number(value) * 1000) / 10} %`;
  if (typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => `${label(k === 'head' || k.endsWith('_line') ? 'tier_' : 'est_', k)}: ${v}`).join(', ');
  }
  return String(value);
}

export function renderStats() {
  const s = state.stats || {};
  setText('figures-department', s.department);
  const rows = Object.entries(s).filter(([k]) => k !== 'department').map(([k, v]) => el('tr', {
    testid: 'figure', data: { key: k },
  }, el('th', { text: label('fig_', k) }), el('td', { text: figure(k, v) })));
  $('figures-body').replaceChildren(...rows);
}
