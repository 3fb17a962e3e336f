// Superuser sign-in, with the one-time-password step when MFA is enabled
// for superusers.
import { h, mount, api, auth, busy, field, ApiError } from './lib.js';

const SU = '/api/collections/_superusers';

export function render(el) {
  const email = h('input', { type: 'email', name: 'identity', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('div.form-error', { role: 'alert' });
  const submit = h('button.primary.block', { type: 'submit' }, 'Sign in');
  const form = h('form.card.login', {
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      await busy(submit, async () => {
        try {
          const res = await api('POST', SU + '/auth-with-password', { identity: email.value, password: password.value });
          auth.set({ token: res.token, record: res.record });
          location.hash = '#/';
        } catch (err) {
          if (err instanceof ApiError && err.status === 401 && err.body?.mfaId) {
            return otpStep(el, email.value, err.body.mfaId);
          }
          error.textContent = err.status === 400 ? 'Wrong email or password.' : err.message;
          password.select();
        }
      });
    },
  },
  h('div.login-brand', h('span.logo', { 'aria-hidden': 'true' }), h('h1', 'Basalt')),
  h('p.muted', 'Sign in as a superuser to manage data, rules and settings.'),
  field('Email', email), field('Password', password), error, submit);
  mount(el, h('div.login-page', form));
  email.focus();
}

/** otpStep asks for the one-time password mailed for the MFA session. */
async function otpStep(el, email, mfaId) {
  const code = h('input', { name: 'password', inputmode: 'numeric', autocomplete: 'one-time-code', required: true, spellcheck: 'false' });
  const error = h('div.form-error', { role: 'alert' });
  const submit = h('button.primary.block', { type: 'submit' }, 'Verify');
  const status = h('p.muted.small', { role: 'status' });
  let otpId = '';
  /** send mails a (new) one-time password. */
  const send = async () => {
    error.textContent = '';
    try {
      otpId = (await api('POST', SU + '/request-otp', { email })).otpId;
      return true;
    } catch (e) {
      error.textContent = 'The one-time password could not be sent: ' + e.message;
      return false;
    }
  };
  await send();
  const resend = h('button.ghost.block', {
    type: 'button', onclick: () => busy(resend, async () => {
      if (await send()) status.textContent = `A new one-time password was sent to ${email}.`;
      code.value = '';
      code.focus();
    }),
  }, 'Send a new code');
  const form = h('form.card.login', {
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      code.removeAttribute('aria-invalid');
      await busy(submit, async () => {
        try {
          const res = await api('POST', SU + '/auth-with-otp', { otpId, password: code.value.trim(), mfaId });
          auth.set({ token: res.token, record: res.record });
          location.hash = '#/';
        } catch (err) {
          error.textContent = err.status === 400
            ? 'Wrong or expired one-time password. Check the latest mail, or send a new code.'
            : err.message;
          code.setAttribute('aria-invalid', 'true');
          code.select();
        }
      });
    },
  },
  h('h1', 'Second step'),
  h('p.muted', `Multi-factor authentication is on: enter the one-time password sent to ${email}.`),
  field('One-time password', code), error, status, submit, resend,
  h('button.ghost.block', { type: 'button', onclick: () => render(el) }, 'Back'));
  mount(el, h('div.login-page', form));
  code.focus();
}
