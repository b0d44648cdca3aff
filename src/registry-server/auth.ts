/**
 * @module registry-server/auth
 * HTTP Basic authentication from an htpasswd file with bcrypt entries (`htpasswd -B`), the only
 * hash distribution's htpasswd backend accepts as well.
 *
 * bcrypt is slow on purpose (tens of milliseconds at cost 10), and clients send the same
 * Authorization header on every request, so a verified header is remembered by its SHA-256 (never
 * the password itself) for a few minutes; a wrong password is never cached.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import { ImgdigestError } from '../core/errors.js';
import { registryError } from './errors.js';

const BCRYPT_RE = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;
const CACHE_MS = 5 * 60 * 1000;

/** The realm clients see in `WWW-Authenticate`. */
export const REALM = 'imgdigest';

export interface Authenticator {
  /** Resolves with the user name, or throws UNAUTHORIZED with the Basic challenge. */
  check(req: IncomingMessage): Promise<string>;
  readonly users: number;
}

/**
 * Parse htpasswd text: `user:hash` lines, `#` comments and blank lines ignored. Every hash must be
 * bcrypt; anything else (MD5 `$apr1$`, SHA `{SHA}`, crypt, plain) is refused with the line number,
 * because accepting weak hashes silently would be worse than not starting.
 */
export function parseHtpasswd(text: string, source = 'htpasswd'): Map<string, string> {
  const users = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const colon = trimmed.indexOf(':');
    const where = `${source}:${index + 1}`;
    if (colon <= 0) {
      throw new ImgdigestError('CONFIG_INVALID', `${where}: expected "user:bcrypt-hash"`);
    }
    const user = trimmed.slice(0, colon);
    const hash = trimmed.slice(colon + 1);
    if (!BCRYPT_RE.test(hash)) {
      throw new ImgdigestError(
        'CONFIG_INVALID',
        `${where}: the entry of user "${user}" is not a bcrypt hash; create it with "htpasswd -B"`,
      );
    }
    users.set(user, hash);
  });
  if (users.size === 0) throw new ImgdigestError('CONFIG_INVALID', `${source} has no users`);
  return users;
}

/** Load an htpasswd file (CONFIG_INVALID when it cannot be read or has a non-bcrypt entry). */
export async function loadHtpasswd(path: string): Promise<Authenticator> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ImgdigestError(
      'CONFIG_INVALID',
      `cannot read htpasswd file ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return basicAuthenticator(parseHtpasswd(text, path));
}

/** A Basic authenticator over `user -> bcrypt hash`. */
export function basicAuthenticator(users: Map<string, string>): Authenticator {
  const verified = new Map<string, { user: string; until: number }>();
  const challenge = () =>
    registryError('UNAUTHORIZED', {
      headers: { 'WWW-Authenticate': `Basic realm="${REALM}"` },
    });
  return {
    users: users.size,
    async check(req) {
      const header = req.headers.authorization;
      if (!header?.startsWith('Basic ')) throw challenge();
      const key = createHash('sha256').update(header).digest('hex');
      const now = Date.now();
      const hit = verified.get(key);
      if (hit && hit.until > now) return hit.user;
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw challenge();
      const user = decoded.slice(0, colon);
      const hash = users.get(user);
      if (!hash || !(await bcrypt.compare(decoded.slice(colon + 1), hash))) throw challenge();
      if (verified.size > 1000) verified.clear();
      verified.set(key, { user, until: now + CACHE_MS });
      return user;
    },
  };
}
