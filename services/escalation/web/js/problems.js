// Komek department page: the department's problem records.
// Imported by /app.js; the shared helpers come from /staff.js (libs/web/assets/staff.js).

import { meta, t, label, el, setText, fmtTime, flash, api, showError, busy, $ } from '/staff.js';
import { state, enc, required } from './state.js';

export async function loadProblems() {
  const status = $('problems-status').value;
  try {
    const data = await api('GET', '/api/v1/problems' + (status ? `?status=${enc(status)}` : ''));
    state.problems = Array.isArray(data) ? data : (data && data.problems) || [];
    renderProblems();
  } catch (e) {
    showError(e);
  }
}

export function renderProblems() {
  const items = state.problems.map((p) => el('li', {
    testid: 'problem', data: { problemId: p.id, number: p.number, status: p.status },
    className: state.problem && state.problem.problem.id === p.id ? 'current' : null,
  },
  el('div', {},
    el('strong', { text: p.number }), ' ', el('span', { text: p.title }), ' ',
    el('span', { className: 'pill', data: { status: p.status }, text: label('pst_', p.status) })),
  el('div', { className: 'muted small', text: `${t('linked')}: ${p.linked || 0} · ${fmtTime(p.created_at)}` }),
  el('button', { type: 'button', testid: 'problem-open', text: t('open'), onclick: () => openProblem(p.id) })));
  $('problems-list').replaceChildren(...items);
  $('problems-empty').hidden = items.length > 0;
}

export async function createProblem(ev) {
  ev.preventDefault();
  const title = required('problem-title');
  if (!title) return;
  const body = { title };
  const description = $('problem-description').value.trim();
  const category = $('problem-category').value;
  const region = $('problem-region').value.trim();
  if (description) body.description = description;
  if (category) body.category = category;
  if (region) body.region = region;
  await busy($('problem-create'), async () => {
    const p = await api('POST', '/api/v1/problems', body);
    flash(t('created_done', { number: p.number }), 'info');
    for (const f of ['problem-title', 'problem-description', 'problem-region']) $(f).value = '';
    await loadProblems();
    await openProblem(p.id);
  });
}

export async function openProblem(id) {
  try {
    state.problem = await api('GET', `/api/v1/problems/${enc(id)}`);
    renderProblem();
    renderProblems();
  } catch (e) {
    showError(e);
  }
}

/** Texts per language, one line each. */
const messagesText = (m) => meta.languages.filter((l) => m && m[l]).map((l) => `${l}: ${m[l]}`).join('\n');

export function renderProblem() {
  const { problem: p, requests, more, hidden } = state.problem;
  const panel = $('problem-panel');
  panel.hidden = false;
  panel.dataset.problemId = p.id;
  panel.dataset.status = p.status;
  setText('problem-number', p.number);
  setText('problem-title-view', p.title);
  const status = $('problem-status');
  status.textContent = label('pst_', p.status);
  status.dataset.status = p.status;
  setText('problem-department', p.department);
  setText('problem-category-view', p.category ? label('cat_', p.category) : '');
  setText('problem-region-view', p.region);
  setText('problem-linked', p.linked);
  setText('problem-description-view', p.description);
  setText('problem-spike', p.spike
    ? t('spike_text', { count: p.spike.count, minutes: p.spike.window_minutes, mean: p.spike.baseline_mean })
    : '');
  setText('problem-resolution', messagesText(p.resolution));
  // A department's resolution waits for a supervisor: nothing reaches a customer before that.
  const proposal = p.status === 'open' || p.status === 'candidate' ? p.proposal : null;
  panel.dataset.proposal = proposal ? 'pending' : '';
  $('problem-proposal').hidden = !proposal;
  setText('problem-proposal-state', proposal ? t('proposal_pending', { by: proposal.by, at: fmtTime(proposal.at) }) : '');
  setText('problem-proposal-text', proposal ? messagesText(proposal.messages) : '');
  $('problem-candidate-actions').hidden = p.status !== 'candidate';
  $('problem-open-actions').hidden = !(p.status === 'candidate' || p.status === 'open');
  $('problem-requests').replaceChildren(...(requests || []).map((r) => el('li', {
    testid: 'problem-request', data: { number: r.number, status: r.status },
  }, el('strong', { text: r.number }), ' ', el('span', { className: 'muted', text: requestLine(r) }))));
  $('problem-more').textContent = more ? t('more_requests') : '';
  $('problem-hidden').textContent = hidden ? t('hidden_requests', { n: hidden }) : '';
}

const requestLine = (r) => [label('st_', r.status), label('lang_', r.language), label('ch_', r.channel), label('cat_', r.category)].join(' · ');

export async function problemAction(button, path, body, done) {
  const p = state.problem.problem;
  await busy(button, async () => {
    const out = await api('POST', `/api/v1/problems/${enc(p.id)}/${path}`, body);
    flash(done(out), 'info');
    await openProblem(p.id);
    await loadProblems();
  });
}

export function linkRequests() {
  const numbers = $('link-numbers').value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
  if (!numbers.length) {
    flash(t('no_numbers'), 'error');
    return;
  }
  problemAction($('link-send'), 'requests', { numbers }, (out) => {
    $('link-numbers').value = '';
    const refused = (out.refused || []).map((r) => t('refused_one', { number: r.number, problem: r.problem_number }));
    return [t('linked_done', { n: out.linked, already: out.already }), ...refused].join('; ');
  });
}

export function resolveProblem() {
  const messages = {};
  for (const l of meta.languages) {
    const v = $(`resolve-${l}`).value.trim();
    if (v) messages[l] = v;
  }
  if (!Object.keys(messages).length) {
    flash(t('empty_text'), 'error');
    return;
  }
  const number = state.problem.problem.number;
  problemAction($('resolve-send'), 'resolve', { messages }, (out) => {
    for (const l of meta.languages) $(`resolve-${l}`).value = '';
    return t(out && out.status === 'resolved' ? 'resolved_done' : 'proposed_done', { number });
  });
}

export function closeProblem() {
  state.problem = null;
  $('problem-panel').hidden = true;
  renderProblems();
}
