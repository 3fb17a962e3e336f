// Settings › Backups: create, upload (with progress), download, delete and
// restore backups, and the automatic backup schedule. A restore makes the
// server restart onto the restored data: the screen waits for it to answer
// again, then checks the session (it may not exist in the restored data).
import { h, mount, api, auth, busy, toast, confirm, dialog, field, fmtDate, fmtBytes, ApiError } from './lib.js';
import { settingsForm } from './settings-form.js';
import { state } from './app.js';

// The server's rule for backup names (docs/backups.md).
const NAME_RE = /^[a-z0-9_-][a-z0-9_.-]*\.zip$/;

/** render shows the backups and their schedule. */
export async function render(el) {
  const list = h('div.table-wrap');
  const status = h('div.upload-status', { role: 'status', 'aria-live': 'polite' });
  const error = h('div.form-error', { role: 'alert' });
  let highlight = '';
  const load = async () => {
    list.classList.add('busy');
    let items;
    try { items = await api('GET', '/api/backups'); } catch (e) {
      list.classList.remove('busy');
      mount(list, h('p.field-error.pad', e.status === 404 ? 'Backups are not available on this server.' : e.message));
      // 400 and 404 mean this server makes no backups (e.g. on PostgreSQL).
      if (e.status === 400 || e.status === 404) create.disabled = uploadBtn.disabled = true;
      return;
    }
    list.classList.remove('busy');
    mount(list, items.length ? h('table.records.backups', h('thead', h('tr', h('th', 'Name'), h('th', 'Size'), h('th', 'Modified'), h('th', h('span.sr-only', 'Actions')))),
      h('tbody', items.map((b) => h('tr' + (b.key === highlight ? '.flash' : ''), h('td.url', b.key), h('td', fmtBytes(b.size)), h('td', fmtDate(b.modified)),
        h('td.actions',
          h('button.small', { type: 'button', 'aria-label': `Download ${b.key}`, onclick: (e) => download(b.key, e.currentTarget) }, 'Download'),
          h('button.small', { type: 'button', 'aria-label': `Restore ${b.key}`, onclick: () => restore(b.key, () => render(el)) }, 'Restore'),
          h('button.small.danger', { type: 'button', 'aria-label': `Delete ${b.key}`, onclick: async (e) => {
            if (!await confirm('Delete backup', `Delete ${b.key}? The file is removed from the server.`, { confirmLabel: 'Delete', danger: true })) return;
            await busy(e.currentTarget, async () => { try { await api('DELETE', '/api/backups/' + encodeURIComponent(b.key)); toast('Deleted.'); } catch (err) { toast(err.message, 'error'); } });
            load();
          } }, 'Delete')))))) : h('p.muted.pad', 'No backups yet.'));
    highlight = '';
  };
  const create = h('button.primary', { type: 'button', onclick: async () => {
    error.textContent = '';
    await busy(create, async () => {
      status.textContent = 'Creating a backup of the database and the stored files…';
      try { await api('POST', '/api/backups', {}); toast('Backup created.'); } catch (e) { error.textContent = 'The backup failed: ' + e.message; }
      status.textContent = '';
    });
    load();
  } }, 'Create backup');
  const file = h('input', { type: 'file', accept: '.zip,application/zip', hidden: true, name: 'file' });
  const uploadBtn = h('button', { type: 'button', onclick: () => file.click() }, 'Upload backup…');
  file.addEventListener('change', async () => {
    const f = file.files[0];
    file.value = '';
    if (!f) return;
    error.textContent = '';
    if (!NAME_RE.test(f.name)) {
      error.textContent = `Cannot upload ${f.name}: the name of a backup must be lower-case letters, digits, "_", "-" and "." ending in .zip (rename the file first).`;
      uploadBtn.focus();
      return;
    }
    await busy(uploadBtn, async () => {
      try {
        await upload(f, status);
        highlight = f.name;
        toast(`Uploaded ${f.name}.`);
      } catch (e) {
        if (e.name !== 'AbortError') error.textContent = `Upload of ${f.name} failed: ${describe(e)}`;
        else toast('Upload cancelled.');
      }
      mount(status);
    });
    uploadBtn.focus();
    load();
  });
  const schedule = h('div');
  mount(el,
    h('section.card', h('div.section-head', h('h2', 'Backups'), h('div.actions', uploadBtn, create)),
      h('p.muted', 'A backup is a zip of the database, the logs and the stored files. Uploaded backups are checked before they are stored. Restoring one replaces all current data.'),
      file, status, error, list),
    schedule);
  await Promise.all([load(), scheduleForm(schedule)]);
}

function scheduleForm(el) {
  return settingsForm(el, 'backups', [
    ['cron', 'Automatic backups (cron, UTC)', 'string',
      'Five fields (minute hour day-of-month month day-of-week) with *, */n, a-b and lists, or @hourly, @daily, @weekly, @monthly. Empty turns automatic backups off.',
      { placeholder: 'e.g. 0 3 * * * (every day at 03:00 UTC)', suggestions: ['0 3 * * *', '0 */6 * * *', '@hourly', '@daily', '@weekly'] }],
    ['cronMaxKeep', 'Automatic backups to keep', 'number', 'The oldest automatic backups beyond this number are deleted. Manual and uploaded backups are never deleted.'],
  ], { intro: () => h('h2', 'Schedule') });
}

/** describe turns an API error into one sentence with its field details. */
function describe(e) {
  const details = e instanceof ApiError ? Object.values(e.data || {}).map((v) => v?.message).filter(Boolean) : [];
  return [e.message, ...details].join(' ');
}

/** upload posts the file as multipart "file", reporting progress in status. */
function upload(f, status) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const bar = h('progress', { max: 100, value: 0, 'aria-label': `Upload of ${f.name}` });
    const text = h('span', `Uploading ${f.name}…`);
    const cancel = h('button.small.ghost', { type: 'button', onclick: () => xhr.abort() }, 'Cancel');
    mount(status, h('div.progress-row', bar, text, cancel));
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.floor((e.loaded / e.total) * 100);
      bar.value = pct;
      text.textContent = `Uploading ${f.name}: ${pct} % (${fmtBytes(e.loaded)} of ${fmtBytes(e.total)})`;
    });
    xhr.upload.addEventListener('load', () => {
      bar.removeAttribute('value'); // indeterminate while the server checks
      text.textContent = `Checking ${f.name} (the database must open and pass an integrity check)…`;
      cancel.remove();
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { body = { message: xhr.responseText.slice(0, 200) }; }
      if (xhr.status === 401) auth.set(null);
      reject(new ApiError(xhr.status, body.message, body.data, body));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'Basalt cannot be reached, or closed the connection during the upload.')));
    xhr.addEventListener('abort', () => reject(new DOMException('The upload was cancelled.', 'AbortError')));
    xhr.open('POST', '/api/backups/upload');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Authorization', auth.token());
    const body = new FormData();
    body.append('file', f, f.name);
    xhr.send(body);
  });
}

async function download(key, btn) {
  await busy(btn, async () => {
    try {
      const { token } = await api('POST', '/api/files/token');
      const a = h('a', { href: `/api/backups/${encodeURIComponent(key)}?token=${encodeURIComponent(token)}`, download: key });
      document.body.append(a); a.click(); a.remove();
    } catch (e) { toast(e.message, 'error'); }
  });
}

/** restore asks for a typed confirmation, stages the restore and follows the restart. */
async function restore(key, reload) {
  const typed = h('input', { name: 'confirm', autocomplete: 'off', spellcheck: 'false' });
  const body = h('div.restore-confirm',
    h('p', 'Restoring ', h('strong', key), ' replaces all current data with the backup\'s:'),
    h('ul',
      h('li', 'the database: every collection, record, superuser and setting;'),
      h('li', 'the stored files;'),
      h('li', 'the logs, when the backup has them.')),
    h('p', 'Anything written since the backup was made is lost. The backups in this list are kept. Basalt stops serving for a moment and restarts on the restored data; if your superuser account is not in the backup, you will have to sign in again.'),
    field(`Type ${key} to confirm`, typed));
  const ok = await dialog({
    title: 'Restore backup', body, wide: true,
    actions: [{ label: 'Cancel', value: false }, {
      label: 'Restore and replace all data', kind: 'danger', value: true,
      run: async () => {
        const slot = document.getElementById(typed.id + '-err');
        if (typed.value.trim() !== key) {
          slot.textContent = `Type ${key} exactly to confirm.`;
          typed.setAttribute('aria-invalid', 'true');
          typed.focus();
          throw new Error('The name typed does not match the backup.');
        }
        typed.removeAttribute('aria-invalid');
        slot.textContent = '';
        await api('POST', `/api/backups/${encodeURIComponent(key)}/restore`);
      },
    }],
  });
  if (ok) await followRestart(key, reload);
}

/**
 * followRestart shows the restore's progress: the server answers the
 * restore, stops serving, applies it and serves again. The old process
 * still reports canBackup false (the restore holds it); the new one
 * answers canBackup true, or nothing about backups when the superuser's
 * token is not valid in the restored data.
 */
async function followRestart(key, reload) {
  const steps = [
    'Backup checked and staged',
    'Basalt stops serving and swaps the data in',
    'Basalt serves the restored data',
    'Your session is checked',
  ].map((label) => h('li.step', label));
  const note = h('p.muted', { role: 'status', 'aria-live': 'polite' }, 'Restoring… do not close this page.');
  const actions = h('div.modal-actions');
  const d = h('dialog.modal.restore-progress', { 'aria-labelledby': 'restore-title' },
    h('h2#restore-title', `Restoring ${key}`), h('ol.steps', steps), note, actions);
  let done = false;
  d.addEventListener('cancel', (e) => { if (!done) e.preventDefault(); });
  document.body.append(d);
  d.showModal();
  const mark = (i, cls) => { steps[i].className = 'step ' + cls; };
  mark(0, 'done');
  mark(1, 'active');
  const finish = (message, ok) => {
    done = true;
    note.textContent = message;
    note.className = ok ? '' : 'form-error';
    const close = h('button.primary', { type: 'button', onclick: () => { d.close(); d.remove(); } }, 'Close');
    mount(actions, close);
    close.focus();
  };
  let sawDown = false;
  let back = null;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    let res;
    try {
      res = await fetch('/api/health', { headers: { Accept: 'application/json', Authorization: auth.token() }, cache: 'no-store' });
    } catch {
      sawDown = true;
      mark(1, 'active');
      continue;
    }
    if (!res.ok) { sawDown = true; continue; }
    const data = (await res.json().catch(() => ({}))).data || {};
    if (sawDown || data.canBackup === true || !('canBackup' in data)) { back = data; break; }
  }
  if (!back) {
    mark(1, 'failed');
    finish('Basalt did not answer again within 90 seconds. Check its log; reload this page once it serves again.', false);
    return;
  }
  mark(1, 'done');
  mark(2, 'done');
  mark(3, 'active');
  // /api/health tells a superuser whether backups can run: without that
  // key, the token is not valid in the restored data.
  if (!('canBackup' in back)) {
    mark(3, 'failed');
    done = true;
    d.close();
    d.remove();
    // Signed out first: signing out clears the toasts of the session.
    auth.set(null);
    toast(`Backup ${key} restored. Your session is not valid in the restored data: sign in with a superuser of the backup.`, 'error');
    return;
  }
  try {
    const res = await api('POST', '/api/collections/_superusers/auth-refresh', undefined, { noSignOut: true });
    auth.set({ token: res.token, record: res.record });
  } catch (e) {
    mark(3, 'failed');
    finish(`Backup ${key} was restored, but renewing the session failed: ${e.message}`, false);
    return;
  }
  mark(3, 'done');
  try { await state.loadCollections(); } catch { /* the next screen reloads them */ }
  finish(`Backup ${key} restored. Basalt serves the restored data.`, true);
  toast(`Backup ${key} restored.`);
  reload();
}
