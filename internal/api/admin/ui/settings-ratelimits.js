// Settings › Rate limits: a table of rules (label, audience, duration,
// max requests) and the excluded IPs, each error shown under its input.
import { h, mount } from './lib.js';
import { settingsForm, wholeNumber } from './settings-form.js';

const AUDIENCES = [['', 'Everyone'], ['@guest', 'Guests (no valid token)'], ['@auth', 'Signed-in users']];

// Labels offered as suggestions; any label in the documented format works.
const LABELS = ['*:auth', '*:create', '*:list', '*:view', '*:update', '*:delete', '*:file', '/api/', '/api/batch', '/api/realtime', 'POST /api/'];

/** render shows the rate limit settings. */
export function render(el) {
  return settingsForm(el, 'rateLimits', [
    ['enabled', 'Enable rate limits', 'boolean', 'Superusers and the excluded IPs are never limited.'],
    ['rules', 'Rules', { build: rulesEditor }],
    ['excludedIPs', 'Excluded IPs', 'list', 'IP addresses or CIDR ranges (e.g. 10.0.0.0/8) that are never rate limited.',
      { placeholder: '192.0.2.7 or 10.0.0.0/8', itemLabel: 'Excluded IP', addLabel: 'Add IP' }],
  ]);
}

/** rulesEditor edits the rules, one row each, inputs named rateLimits.rules.N.key. */
function rulesEditor(rules, name, label) {
  const base = name.replace(/\./g, '-');
  const rows = h('div.rule-rows');
  const empty = h('p.muted.small', 'No rules: add one, or turn rate limits off.');
  const cell = (key, title, input) => {
    const wrap = h('div.rule-cell', h('label.cell-label', { 'data-title': title }, title), input, h('div.field-error', { role: 'alert' }));
    wrap.dataset.key = key;
    return wrap;
  };
  const renumber = () => {
    [...rows.children].forEach((row, i) => {
      for (const c of row.querySelectorAll('.rule-cell')) {
        const input = c.querySelector('input, select');
        input.name = `${name}.${i}.${c.dataset.key}`;
        input.id = `${base}-${i}-${c.dataset.key}`;
        input.setAttribute('aria-describedby', `${input.id}-err ${base}-${i}-summary`);
        const lab = c.querySelector('label');
        lab.htmlFor = input.id;
        mount(lab, lab.dataset.title, h('span.sr-only', ` (rule ${i + 1})`));
        c.querySelector('.field-error').id = input.id + '-err';
      }
      row.querySelector('.rule-summary').id = `${base}-${i}-summary`;
      row.querySelector('button').setAttribute('aria-label', `Remove rule ${i + 1}`);
    });
    empty.hidden = rows.children.length > 0;
  };
  const add = (r, focus) => {
    const labelIn = h('input', { value: r.label, placeholder: '/api/ or users:create', list: base + '-labels', spellcheck: 'false', autocomplete: 'off' });
    const audience = h('select', AUDIENCES.map(([v, text]) => h('option', { value: v, selected: v === r.audience }, text)));
    if (![...audience.options].some((o) => o.value === r.audience)) audience.append(h('option', { value: r.audience, selected: true }, r.audience));
    const duration = h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', value: r.duration });
    const max = h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', value: r.maxRequests });
    const summary = h('div.help.rule-summary');
    const describe = () => {
      const who = { '': 'every client', '@guest': 'each guest', '@auth': 'each signed-in user' }[audience.value] || audience.value;
      const n = Number(max.value);
      const s = Number(duration.value);
      summary.textContent = n > 0 && s > 0 ? `${labelIn.value || '…'}: at most ${n} request${n === 1 ? '' : 's'} every ${s} s from ${who} (per IP).` : '';
    };
    const row = h('div.rule-row', { oninput: describe, onchange: describe },
      cell('label', 'Label', labelIn), cell('audience', 'Audience', audience),
      cell('duration', 'Duration (s)', duration), cell('maxRequests', 'Max requests', max),
      h('button.small.ghost.danger.rule-remove', {
        type: 'button', title: 'Remove rule',
        onclick: () => {
          const next = row.nextElementSibling || row.previousElementSibling;
          row.remove();
          renumber();
          (next?.querySelector('input') || addBtn).focus();
        },
      }, '×'),
      summary);
    rows.append(row);
    renumber();
    describe();
    if (focus) labelIn.focus();
  };
  const addBtn = h('button.small', { type: 'button', onclick: () => add({ label: '', audience: '', duration: 10, maxRequests: 100 }, true) }, '+ Add rule');
  (rules || []).forEach((r) => add(r));
  renumber();
  const el = h('fieldset#' + base + '.rules-editor', { name },
    h('legend', label),
    h('div.help', 'A rule allows "max requests" per "duration" seconds per client IP. Its label is a path ("/api/health"), a path prefix ending with "/" ("/api/"), a method and path ("POST /api/collections/"), or a collection tag ("users:create", "*:auth"). A collection tag wins over a path; among prefixes the longest wins.'),
    h('div.rule-head', { 'aria-hidden': 'true' }, h('span', 'Label'), h('span', 'Audience'), h('span', 'Duration (s)'), h('span', 'Max requests'), h('span')),
    rows, empty,
    h('datalist#' + base + '-labels', LABELS.map((l) => h('option', { value: l }))),
    h('div.field-error', { id: base + '-err', role: 'alert' }), addBtn);
  const read = (problems) => [...rows.children].map((row) => {
    const [labelIn, audience, duration, max] = row.querySelectorAll('input, select');
    return { label: labelIn.value.trim(), audience: audience.value, duration: wholeNumber(duration, problems), maxRequests: wholeNumber(max, problems) };
  });
  return { el, read };
}
