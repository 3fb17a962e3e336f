// A tiny SMTP server on loopback that records the mails Basalt sends, so tests can read tokens and
// one-time passwords from them. It speaks just enough ESMTP for Basalt's SMTP client without TLS or
// AUTH (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and decodes the multipart, quoted-printable
// bodies Basalt writes. No dependency beyond node:net.

import net from 'node:net';
import { once } from 'node:events';

/** Starts the server; resolves to {host, port, messages, nextMail(address), mailsTo(address), close()}. */
export async function startSMTP() {
  const messages = [];
  const listeners = new Set();
  const sockets = new Set();
  const cursors = new Map(); // mails to an address already returned by nextMail

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    session(socket, (msg) => {
      messages.push(msg);
      for (const l of listeners) l();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  const mailsTo = (address) =>
    messages.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase()));

  return {
    host: '127.0.0.1',
    port: server.address().port,
    messages,
    mailsTo,
    /** Resolves to the next mail to address not returned before; rejects after timeoutMs. */
    nextMail(address, timeoutMs = 10_000) {
      const key = address.toLowerCase();
      return new Promise((resolve, reject) => {
        const check = () => {
          const list = mailsTo(address);
          const seen = cursors.get(key) || 0;
          if (list.length > seen) {
            cursors.set(key, seen + 1);
            cleanup();
            resolve(list[seen]);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no new mail to ${address} within ${timeoutMs} ms (${messages.length} mails in all)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function session(socket, onMessage) {
  let buffer = '';
  let inData = false;
  let dataLines = [];
  let from = '';
  let to = [];
  const reply = (...lines) => socket.write(lines.map((l) => l + '\r\n').join(''));
  reply('220 e2e-smtp ESMTP ready');

  socket.setEncoding('latin1'); // bytes as they are; bodies are 7-bit quoted-printable
  socket.on('data', (chunk) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (inData) {
        if (line === '.') {
          inData = false;
          onMessage(parse(from, to, dataLines.join('\r\n')));
          from = '';
          to = [];
          dataLines = [];
          reply('250 2.0.0 queued');
        } else {
          dataLines.push(line.startsWith('..') ? line.slice(1) : line);
        }
        continue;
      }
      const [verb, ...rest] = line.split(' ');
      const arg = rest.join(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          reply('250-e2e-smtp', '250-8BITMIME', '250 SMTPUTF8');
          break;
        case 'HELO':
          reply('250 e2e-smtp');
          break;
        case 'MAIL':
          from = address(arg);
          to = [];
          reply('250 2.1.0 ok');
          break;
        case 'RCPT':
          to.push(address(arg));
          reply('250 2.1.5 ok');
          break;
        case 'DATA':
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
          break;
        case 'RSET':
          from = '';
          to = [];
          reply('250 2.0.0 ok');
          break;
        case 'NOOP':
          reply('250 2.0.0 ok');
          break;
        case 'QUIT':
          reply('221 2.0.0 bye');
          socket.end();
          break;
        default:
          reply('502 5.5.2 command not recognized');
      }
    }
  });
}

function address(arg) {
  const m = /<([^>]*)>/.exec(arg);
  return m ? m[1] : arg.replace(/^(FROM|TO):/i, '').trim();
}

/** Splits a raw message into headers (lower-cased names, unfolded) and body. */
function splitHeaders(raw) {
  const end = raw.indexOf('\r\n\r\n');
  const head = end >= 0 ? raw.slice(0, end) : raw;
  const body = end >= 0 ? raw.slice(end + 4) : '';
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function decodeQP(s) {
  const bytes = s
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** Decodes RFC 2047 encoded words (=?utf-8?q?…?= and =?utf-8?b?…?=). */
function decodeWords(s) {
  return s
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([qQbB])\?([^?]*)\?=/g, (_, charset, enc, text) => {
      if (enc.toLowerCase() === 'b') return Buffer.from(text, 'base64').toString('utf8');
      return decodeQP(text.replace(/_/g, ' '));
    });
}

function decodePart(headers, body) {
  const enc = (headers['content-transfer-encoding'] || '').toLowerCase();
  if (enc === 'quoted-printable') return decodeQP(body);
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return Buffer.from(body, 'latin1').toString('utf8');
}

function parse(from, to, raw) {
  const { headers, body } = splitHeaders(raw);
  const msg = { from, to, raw, headers, subject: decodeWords(headers.subject || ''), html: '', text: '' };
  const type = headers['content-type'] || 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  const parts = boundary
    ? body.split('--' + boundary).slice(1, -1).map((p) => splitHeaders(p.replace(/^\r\n/, '')))
    : [{ headers, body }];
  for (const p of parts) {
    const ptype = (p.headers['content-type'] || 'text/plain').toLowerCase();
    const content = decodePart(p.headers, p.body.replace(/\r\n$/, ''));
    if (ptype.startsWith('text/html')) msg.html = content;
    else if (ptype.startsWith('text/plain')) msg.text = content;
  }
  return msg;
}
