// Komek workspace page: search over requests.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, api, busy, $ } from '/staff.js';
import { state } from './state.js';
import { requestItem } from './queue.js';

export async function search(ev) {
  ev.preventDefault();
  const params = new URLSearchParams();
  const add = (name, id) => {
    const v = $(id).value.trim();
    if (v) params.set(name, v);
  };
  add('number', 'search-number');
  add('phone', 'search-phone');
  add('words', 'search-words');
  add('status', 'search-status');
  params.set('per_page', '20');
  state.searchParams = params.toString();
  await busy($('search-send'), runSearch);
}

export async function runSearch() {
  state.searchResult = await api('GET', '/api/v1/search?' + state.searchParams);
  renderSearch();
}

export function renderSearch() {
  const res = state.searchResult;
  if (!res) return;
  $('search-total').textContent = t('found', { n: res.total });
  $('search-results').replaceChildren(...res.items.map((r) => requestItem(r, 'search-item', false)));
}
