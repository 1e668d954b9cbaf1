// Komek workspace page: reply templates (supervisors).
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { t, label, el, fmtTime, flash, api, busy, $ } from '/staff.js';
import { state, schedule } from './state.js';

// Templates (supervisors)
export async function loadTemplates() {
  state.templates = (await api('GET', '/api/v1/templates')) || [];
  renderTemplates();
}

export function renderTemplates() {
  const cat = $('tpl-filter-category').value;
  const lang = $('tpl-filter-language').value;
  const rows = state.templates
    .filter((tp) => (!cat || tp.category === cat) && (!lang || tp.language === lang))
    .sort((a, b) => a.category.localeCompare(b.category) || a.language.localeCompare(b.language) || a.name.localeCompare(b.name))
    .map((tp) => el('tr', { testid: 'tpl-row', data: { id: tp.id } },
      el('td', { text: tp.name }),
      el('td', { text: label('cat_', tp.category) }),
      el('td', { text: label('lang_', tp.language) }),
      el('td', { className: 'muted', text: `${tp.updated_by} · ${fmtTime(tp.updated_at)}` }),
      el('td', {}, el('button', { type: 'button', className: 'tpl-edit', testid: 'tpl-edit', data: { id: tp.id }, text: t('edit') }))));
  $('tpl-list').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '5', className: 'muted', text: t('none') }))]));
}

export function editTemplate(id) {
  const tp = state.templates.find((x) => x.id === id);
  state.tplEditing = tp ? tp.id : '';
  $('tpl-category').value = tp ? tp.category : ($('tpl-filter-category').value || 'other');
  $('tpl-language').value = tp ? tp.language : ($('tpl-filter-language').value || state.lang);
  $('tpl-name').value = tp ? tp.name : '';
  $('tpl-body').value = tp ? tp.body : '';
  renderTemplateForm();
  $('tpl-name').focus();
}

export function renderTemplateForm() {
  const editing = state.tplEditing !== null;
  $('tpl-form').hidden = !editing;
  $('tpl-form').dataset.mode = state.tplEditing ? 'edit' : 'new';
  $('tpl-form-title').textContent = state.tplEditing ? t('tpl_edit') : t('tpl_new');
  $('tpl-delete').hidden = !state.tplEditing;
}

export async function saveTemplate(ev) {
  ev.preventDefault();
  const body = {
    category: $('tpl-category').value,
    language: $('tpl-language').value,
    name: $('tpl-name').value.trim(),
    body: $('tpl-body').value.trim(),
  };
  await busy($('tpl-save'), async () => {
    if (state.tplEditing) await api('PUT', `/api/v1/templates/${encodeURIComponent(state.tplEditing)}`, body);
    else await api('POST', '/api/v1/templates', body);
    state.tplEditing = null;
    renderTemplateForm();
    flash(t('saved'), 'ok');
    await loadTemplates();
    if (state.current) schedule('request');
  });
}

export async function deleteTemplate() {
  const id = state.tplEditing;
  if (!id) return;
  await busy($('tpl-delete'), async () => {
    await api('DELETE', `/api/v1/templates/${encodeURIComponent(id)}`);
    state.tplEditing = null;
    renderTemplateForm();
    flash(t('deleted'), 'ok');
    await loadTemplates();
    if (state.current) schedule('request');
  });
}
