/**
 * @module registry-server/auth
 * HTTP Basic authentication from an htpasswd file with bcrypt entries (`htpasswd -B`), the only
 * hash distribution's htpasswd backend accepts as well.
 *
 * bcrypt is slow on purpose, which makes password checks both a timing oracle and a lever for
 * flooding. So:
 * - an unknown user costs one comparison with a dummy hash of the file's highest cost, exactly like
 *   a known user with a wrong password (no user enumeration by timing);
 * - a verified user and password is remembered for a few minutes under an HMAC of the credentials
 *   with a per-process key (never the password itself), so a logged-in client, which sends the same
 *   header on every request, costs no bcrypt; the memory is dropped when the htpasswd file changes
 *   (it is re-read then, at most every two seconds);
 * - failures are counted per client address: after `maxFailures` within `failureWindowMs`, further
 *   checks from that address are answered 429 with `Retry-After` without running bcrypt (checks in
 *   progress count, so a burst cannot slip past); remembered credentials still pass;
 * - bcrypt runs in worker threads ({@link BcryptPool}), never on the event loop, and at most
 *   `maxPending` checks wait at once (beyond, 429).
 * The `Basic` scheme name is case-insensitive (RFC 7617, RFC 9110 11.1).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { ImgdigestError } from '../core/errors.js';
import { BcryptPool, type PasswordHasher } from './bcrypt-pool.js';
import { clientKey } from './connections.js';
import { registryError } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';
import { type RegistryLogger, silentLogger } from './route-context.js';

const BCRYPT_RE = /^\$2[abxy]?\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const BASIC_RE = /^basic[ \t]+([A-Za-z0-9+/=._~-]+)[ \t]*$/i;

/** The realm clients see in `WWW-Authenticate`. */
export const REALM = 'imgdigest';

export interface Authenticator {
  /** Resolves with the user name, or throws UNAUTHORIZED with the Basic challenge (429 when rate-limited). */
  check(req: IncomingMessage): Promise<string>;
  readonly users: number;
  /** Stop the bcrypt workers. */
  close(): Promise<void>;
}

export interface AuthOptions {
  /** Failed checks per client address within {@link failureWindowMs} before 429. Default 10. */
  maxFailures?: number;
  /** Default 60 s. */
  failureWindowMs?: number;
  /** How long verified credentials are remembered. Default 5 min. */
  cacheMs?: number;
  /** Password checks waiting or running at once, at most; beyond, 429. Default 256. */
  maxPending?: number;
  /** Does the bcrypt work; default a {@link BcryptPool} (tests wrap one to count comparisons). */
  hasher?: PasswordHasher;
  /** The clock (tests move it). */
  now?: () => number;
  /** How often at most the htpasswd file is checked for changes (ms). Default 2 s. */
  reloadCheckMs?: number;
  log?: RegistryLogger;
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

async function readHtpasswd(path: string): Promise<{ users: Map<string, string>; version: string }> {
  try {
    const info = await stat(path);
    const text = await readFile(path, 'utf8');
    return { users: parseHtpasswd(text, path), version: versionOf(info) };
  } catch (error) {
    if (error instanceof ImgdigestError) throw error;
    throw new ImgdigestError(
      'CONFIG_INVALID',
      `cannot read htpasswd file ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function versionOf(info: { ino: number; size: number; mtimeMs: number }): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}`;
}

/**
 * Load an htpasswd file (CONFIG_INVALID when it cannot be read or has a non-bcrypt entry). The
 * file is re-read when it changes; a change that does not parse is logged and the previous users
 * stay.
 */
export async function loadHtpasswd(path: string, options: AuthOptions = {}): Promise<Authenticator> {
  const { users, version } = await readHtpasswd(path);
  const auth = new BasicAuthenticator(users, options, { path, version });
  await auth.ready();
  return auth;
}

/** A Basic authenticator over `user -> bcrypt hash` (no file behind it). */
export function basicAuthenticator(users: Map<string, string>, options: AuthOptions = {}): Authenticator {
  return new BasicAuthenticator(users, options);
}

interface FailureRecord {
  /** When each recent failure happened, oldest first. */
  times: number[];
  /** Checks of this address running now. */
  running: number;
}

class BasicAuthenticator implements Authenticator {
  private table: Map<string, string>;
  private dummy: Promise<string>;
  private dummyCost = 0;
  /** Bumped whenever the users change: a check that started before must not fill the cache after. */
  private generation = 0;
  private readonly secret = randomBytes(32);
  private readonly verified: LRUCache<string, { user: string; generation: number }>;
  private readonly failures = new LRUCache<string, FailureRecord>({ max: 10_000 });
  private pending = 0;
  private readonly hasher: PasswordHasher;
  private readonly now: () => number;
  private readonly log: RegistryLogger;
  private readonly maxFailures: number;
  private readonly failureWindowMs: number;
  private readonly maxPending: number;
  private lastReloadCheck: number;
  private reloading: Promise<void> | undefined;

  constructor(
    users: Map<string, string>,
    private readonly options: AuthOptions,
    private readonly file?: { path: string; version: string },
  ) {
    this.table = users;
    this.hasher = options.hasher ?? new BcryptPool();
    this.now = options.now ?? Date.now;
    this.log = options.log ?? silentLogger;
    this.maxFailures = options.maxFailures ?? DEFAULT_LIMITS.authMaxFailures;
    this.failureWindowMs = options.failureWindowMs ?? DEFAULT_LIMITS.authFailureWindowMs;
    this.maxPending = options.maxPending ?? 256;
    this.verified = new LRUCache({
      max: 1000,
      ttl: options.cacheMs ?? 5 * 60_000,
      perf: { now: this.now },
      // Ask the clock at every check: by default lru-cache keeps a reading for one real
      // millisecond (a timer clears it), so an entry could outlive a clock moved in the meantime.
      ttlResolution: 0,
    });
    this.lastReloadCheck = this.now();
    this.dummy = this.makeDummy();
  }

  get users(): number {
    return this.table.size;
  }

  /** Resolves once the dummy hash exists (so the first unknown user costs no more than later ones). */
  async ready(): Promise<void> {
    await this.dummy;
  }

  /** A hash of a random password at the highest cost of the file, compared against for unknown users. */
  private makeDummy(): Promise<string> {
    const cost = Math.max(...[...this.table.values()].map((hash) => Number(BCRYPT_RE.exec(hash)![1])));
    if (cost === this.dummyCost) return this.dummy;
    this.dummyCost = cost;
    const made = this.hasher.hash(randomBytes(18).toString('base64'), cost);
    made.catch(() => undefined);
    return made;
  }

  async check(req: IncomingMessage): Promise<string> {
    if (this.file) await this.reloadIfChanged();
    const header = req.headers.authorization;
    const token = header === undefined ? undefined : BASIC_RE.exec(header)?.[1];
    if (token === undefined) throw challenge();
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw challenge();
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const key = createHmac('sha256', this.secret).update(decoded).digest('base64');
    const hit = this.verified.get(key);
    if (hit && hit.generation === this.generation) return hit.user;

    const address = clientKey(req);
    const record = this.failureRecord(address);
    if (record.times.length + record.running >= this.maxFailures) {
      const wait = Math.max(1, Math.ceil((record.times[0]! + this.failureWindowMs - this.now()) / 1000));
      throw registryError('TOOMANYREQUESTS', {
        message: `too many failed logins from ${address}; try again in ${wait}s`,
        headers: { 'Retry-After': String(wait) },
      });
    }
    if (this.pending >= this.maxPending) {
      throw registryError('TOOMANYREQUESTS', {
        message: 'too many password checks in progress; try again shortly',
        headers: { 'Retry-After': '1' },
      });
    }
    const generation = this.generation;
    record.running++;
    this.pending++;
    let ok: boolean;
    try {
      const hash = this.table.get(user);
      // Unknown user: the same single comparison as a known one, against a hash nobody knows.
      ok = (await this.hasher.compare(password, hash ?? (await this.dummy))) && hash !== undefined;
    } finally {
      record.running--;
      this.pending--;
    }
    if (!ok) {
      record.times.push(this.now());
      throw challenge();
    }
    if (generation === this.generation) this.verified.set(key, { user, generation });
    return user;
  }

  /** The failure record of `address`, without failures older than the window. */
  private failureRecord(address: string): FailureRecord {
    let record = this.failures.get(address);
    if (!record) {
      record = { times: [], running: 0 };
      this.failures.set(address, record);
    }
    const since = this.now() - this.failureWindowMs;
    while (record.times.length > 0 && record.times[0]! <= since) record.times.shift();
    return record;
  }

  private reloadIfChanged(): Promise<void> {
    if (this.reloading) return this.reloading;
    const interval = this.options.reloadCheckMs ?? 2000;
    if (this.now() - this.lastReloadCheck < interval) return Promise.resolve();
    this.lastReloadCheck = this.now();
    this.reloading = this.reload().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async reload(): Promise<void> {
    const file = this.file!;
    try {
      if (versionOf(await stat(file.path)) === file.version) return;
      const { users, version } = await readHtpasswd(file.path);
      file.version = version;
      this.table = users;
      this.generation++;
      this.verified.clear();
      this.dummy = this.makeDummy();
      await this.dummy;
      this.log.info(`reloaded ${file.path}: ${users.size} user(s)`);
    } catch (error) {
      // Keep serving the previous users; say so once per change of the file.
      const info = await stat(file.path).catch(() => undefined);
      const version = info ? versionOf(info) : 'missing';
      if (version === file.version) return;
      file.version = version;
      this.log.warn(`${(error as Error).message}; keeping the previous users`);
    }
  }

  async close(): Promise<void> {
    // A hasher passed in belongs to the caller.
    if (!this.options.hasher) await this.hasher.close();
  }
}

function challenge() {
  return registryError('UNAUTHORIZED', {
    headers: { 'WWW-Authenticate': `Basic realm="${REALM}"` },
  });
}
