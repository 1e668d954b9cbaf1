// Komek workspace page: staff administration (supervisors) — agents and supervisors: create, edit,
// reset a password, deactivate and activate (/api/v1/admin/staff). Department staff are managed
// on the department page. Imported by /app.js; the shared helpers come from /staff.js.

import { t, label, el, flash, api, busy, meta, $ } from '/staff.js';
import { state } from './state.js';

const ROLES = ['agent', 'supervisor'];

export async function loadPeople() {
  const all = (await api('GET', '/api/v1/admin/staff')) || [];
  state.people = all.filter((u) => ROLES.includes(u.role));
  renderPeople();
}

export function renderPeople() {
  const rows = (state.people || []).map((u) => el('tr', { testid: 'adm-row', data: { login: u.login }, className: u.active ? '' : 'muted' },
    el('td', { text: u.login }),
    el('td', { text: u.name }),
    el('td', { text: label('role_', u.role) }),
    el('td', { text: String(u.level) }),
    el('td', { text: String(u.capacity) }),
    el('td', { text: u.languages.map((l) => label('lang_', l)).join(', ') }),
    el('td', { text: u.categories.length ? u.categories.map((c) => label('cat_', c)).join(', ') : t('all') }),
    el('td', { testid: 'adm-status', text: u.active ? t('adm_active') : t('adm_inactive') }),
    el('td', {},
      el('button', { type: 'button', className: 'adm-edit', testid: 'adm-edit', data: { login: u.login }, text: t('edit') }),
      ' ',
      el('button', {
        type: 'button',
        className: u.active ? 'adm-deactivate danger' : 'adm-activate',
        testid: u.active ? 'adm-deactivate' : 'adm-activate',
        data: { login: u.login },
        text: u.active ? t('adm_deactivate') : t('adm_activate'),
      }))));
  $('adm-list').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '9', className: 'muted', text: t('none') }))]));
}

/** Check boxes for `codes` (labelled with `prefix`) in container `id`, `checked` ticked. */
function fillChecks(id, codes, prefix, checked) {
  $(id).replaceChildren(...codes.map((c) => el('label', { className: 'check' },
    el('input', { type: 'checkbox', value: c, checked: checked.includes(c), testid: `${id}-${c}` }),
    ' ', label(prefix, c))));
}

function ticked(id) {
  return [...$(id).querySelectorAll('input[type=checkbox]:checked')].map((i) => i.value);
}

/** Opens the form for `login`, or for a new person when null. */
export function editPerson(login) {
  const u = login ? (state.people || []).find((x) => x.login === login) : null;
  state.admEditing = u ? u.login : '';
  $('adm-login').value = u ? u.login : '';
  $('adm-login').readOnly = !!u;
  $('adm-name').value = u ? u.name : '';
  $('adm-role').replaceChildren(...ROLES.map((r) => el('option', { value: r, text: label('role_', r) })));
  $('adm-role').value = u ? u.role : 'agent';
  $('adm-level').value = u ? u.level : 1;
  $('adm-capacity').value = u ? u.capacity : 10;
  fillChecks('adm-languages', meta.languages, 'lang_', u ? u.languages : [state.lang]);
  fillChecks('adm-skills', meta.categories, 'cat_', u ? u.categories : []);
  $('adm-password').value = '';
  renderPersonForm();
  (u ? $('adm-name') : $('adm-login')).focus();
}

export function renderPersonForm() {
  const editing = state.admEditing !== null && state.admEditing !== undefined;
  $('adm-form').hidden = !editing;
  $('adm-form').dataset.mode = state.admEditing ? 'edit' : 'new';
  $('adm-form-title').textContent = state.admEditing ? t('adm_edit') : t('adm_new');
  // A new person gets a password with the form; an existing one through "Set password".
  $('adm-password-label').hidden = false;
  $('adm-set-password').hidden = !state.admEditing;
}

function closeForm() {
  state.admEditing = null;
  renderPersonForm();
}

export async function savePerson(ev) {
  ev.preventDefault();
  const fields = {
    name: $('adm-name').value.trim(),
    role: $('adm-role').value,
    level: Number($('adm-level').value),
    capacity: Number($('adm-capacity').value),
    languages: ticked('adm-languages'),
    skills: ticked('adm-skills'),
  };
  await busy($('adm-save'), async () => {
    if (state.admEditing) {
      await api('PATCH', `/api/v1/admin/staff/${encodeURIComponent(state.admEditing)}`, fields);
    } else {
      await api('POST', '/api/v1/admin/staff', {
        login: $('adm-login').value.trim(), password: $('adm-password').value, ...fields,
      });
    }
    closeForm();
    flash(t('saved'), 'ok');
    await loadPeople();
  });
}

export async function setPassword() {
  const login = state.admEditing;
  if (!login) return;
  await busy($('adm-set-password'), async () => {
    await api('POST', `/api/v1/admin/staff/${encodeURIComponent(login)}/password`, { password: $('adm-password').value });
    $('adm-password').value = '';
    flash(t('adm_password_set'), 'ok');
  });
}

export async function setActive(button, login, active) {
  await busy(button, async () => {
    await api('POST', `/api/v1/admin/staff/${encodeURIComponent(login)}/${active ? 'activate' : 'deactivate'}`);
    flash(active ? t('adm_activated') : t('adm_deactivated'), 'ok');
    await loadPeople();
  });
}

export function cancelPerson() {
  closeForm();
}
