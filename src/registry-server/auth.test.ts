import { execFileSync } from 'node:child_process';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, tempDir } from '../../test/support/tmp.js';
import { haveTools } from '../../test/support/tools.js';
import { type Authenticator, type AuthOptions, loadHtpasswd } from './auth.js';
import { BcryptPool, type PasswordHasher } from './bcrypt-pool.js';
import { isRegistryError, type RegistryError } from './errors.js';

/** The real bcrypt pool, with every comparison recorded (the hash it was made against). */
function countingHasher(pool: BcryptPool): PasswordHasher & { compared: string[] } {
  const compared: string[] = [];
  return {
    compared,
    compare(password, hash) {
      compared.push(hash);
      return pool.compare(password, hash);
    },
    hash: (password, cost) => pool.hash(password, cost),
    close: async () => undefined,
  };
}

/** What the authenticator reads of a request: its Authorization header and the client address. */
function request(authorization: string | undefined, address = '127.0.0.1'): IncomingMessage {
  return {
    headers: authorization === undefined ? {} : { authorization },
    socket: { remoteAddress: address },
  } as unknown as IncomingMessage;
}

const basic = (user: string, password: string, scheme = 'Basic') =>
  `${scheme} ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function refusal(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (error) {
    if (isRegistryError(error)) return error;
    throw error;
  }
  throw new Error('expected the check to be refused');
}

describe.skipIf(!haveTools('htpasswd'))('password checks', () => {
  let dir: string;
  let file: string;
  let pool: BcryptPool;
  let hasher: ReturnType<typeof countingHasher>;
  let clock: number;
  const opened: Authenticator[] = [];

  /** An htpasswd file from the real tool; cost 4 keeps the tests fast. */
  async function writeUsers(entries: Array<[string, string]>, cost = 4): Promise<void> {
    const lines = entries.map(([user, password]) =>
      execFileSync('htpasswd', ['-Bbn', '-C', String(cost), user, password], { encoding: 'utf8' }).trim(),
    );
    await writeFile(file, `${lines.join('\n')}\n`);
  }

  async function open(options: AuthOptions = {}): Promise<Authenticator> {
    const auth = await loadHtpasswd(file, { hasher, now: () => clock, ...options });
    opened.push(auth);
    return auth;
  }

  beforeAll(async () => {
    dir = await tempDir('auth');
    file = join(dir, 'users');
    pool = new BcryptPool(1);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await pool.close();
    await cleanupTempDirs();
  });

  async function fresh(options: AuthOptions = {}): Promise<Authenticator> {
    hasher = countingHasher(pool);
    clock = 1_000_000;
    await writeUsers([['alice', 'secret']]);
    return open(options);
  }

  it('costs an unknown user one bcrypt comparison, like a known user with a wrong password', async () => {
    const auth = await fresh();
    const aliceHash = (await readFile(file, 'utf8')).trim().split(':')[1]!;

    expect((await refusal(auth.check(request(basic('alice', 'wrong'))))).code).toBe('UNAUTHORIZED');
    expect(hasher.compared).toEqual([aliceHash]);

    hasher.compared.length = 0;
    const unknown = await refusal(auth.check(request(basic('mallory', 'secret'))));
    expect(unknown.code).toBe('UNAUTHORIZED');
    expect(unknown.headers['WWW-Authenticate']).toBe('Basic realm="imgdigest"');
    // One comparison, against a hash of the same cost that belongs to nobody.
    expect(hasher.compared).toHaveLength(1);
    expect(hasher.compared[0]).not.toBe(aliceHash);
    expect(hasher.compared[0]!.split('$')[2]).toBe(aliceHash.split('$')[2]);

    hasher.compared.length = 0;
    for (const header of [undefined, 'Bearer abc', 'Basic %%%', basic('', 'x'), 'Basic bm9jb2xvbg==']) {
      expect((await refusal(auth.check(request(header)))).code).toBe('UNAUTHORIZED');
    }
    expect(hasher.compared).toEqual([]);
  });

  it('takes the Basic scheme in any case, and remembers verified credentials without the password', async () => {
    const auth = await fresh();
    for (const scheme of ['Basic', 'basic', 'BASIC', 'bAsIc']) {
      expect(await auth.check(request(basic('alice', 'secret', scheme)))).toBe('alice');
    }
    // Verified once, then remembered (the same credentials under any spelling of the scheme).
    expect(hasher.compared).toHaveLength(1);
    // Remembered for five minutes by default.
    clock += 5 * 60_000 + 1;
    expect(await auth.check(request(basic('alice', 'secret')))).toBe('alice');
    expect(hasher.compared).toHaveLength(2);
  });

  it('answers 429 with Retry-After after the allowed failures of an address, without running bcrypt, until the window has passed', async () => {
    const auth = await fresh({ maxFailures: 3, failureWindowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect((await refusal(auth.check(request(basic('alice', `guess${i}`))))).code).toBe('UNAUTHORIZED');
    }
    const limited = await refusal(auth.check(request(basic('alice', 'guess3'))));
    expect(limited.status).toBe(429);
    expect(limited.code).toBe('TOOMANYREQUESTS');
    expect(limited.headers['Retry-After']).toBe('60');
    // Even the right password is not checked from that address now.
    expect((await refusal(auth.check(request(basic('alice', 'secret'))))).code).toBe('TOOMANYREQUESTS');
    expect(hasher.compared).toHaveLength(3);
    // Another address is not affected.
    expect((await refusal(auth.check(request(basic('alice', 'x'), '10.0.0.2')))).code).toBe('UNAUTHORIZED');
    clock += 30_000;
    expect((await refusal(auth.check(request(basic('alice', 'secret'))))).headers['Retry-After']).toBe('30');
    clock += 30_000;
    expect(await auth.check(request(basic('alice', 'secret')))).toBe('alice');
  });

  it('counts checks in progress, so a burst of guesses from one address runs bcrypt only the allowed number of times', async () => {
    const auth = await fresh({ maxFailures: 3 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => refusal(auth.check(request(basic('alice', `burst${i}`))))),
    );
    expect(hasher.compared).toHaveLength(3);
    expect(answers.filter((a) => a.code === 'UNAUTHORIZED')).toHaveLength(3);
    expect(answers.filter((a) => a.code === 'TOOMANYREQUESTS')).toHaveLength(17);
  });

  it('counts an IPv6 client by its /64', async () => {
    const auth = await fresh({ maxFailures: 2 });
    await refusal(auth.check(request(basic('alice', 'a'), '2001:db8:1:2::10')));
    await refusal(auth.check(request(basic('alice', 'b'), '2001:db8:1:2:ffff::1')));
    const limited = await refusal(auth.check(request(basic('alice', 'c'), '2001:0db8:0001:0002::99')));
    expect(limited.code).toBe('TOOMANYREQUESTS');
    expect((await refusal(auth.check(request(basic('alice', 'd'), '2001:db8:1:3::1')))).code).toBe(
      'UNAUTHORIZED',
    );
  });

  it('re-reads a changed htpasswd file and forgets what it remembered; a broken change keeps the previous users', async () => {
    const warnings: string[] = [];
    const auth = await fresh({ log: { info() {}, warn: (m) => warnings.push(m), error() {} } });
    expect(await auth.check(request(basic('alice', 'secret')))).toBe('alice');

    await writeUsers([
      ['alice', 'changed'],
      ['bob', 'builder'],
    ]);
    // Not looked at more than every two seconds.
    expect(await auth.check(request(basic('alice', 'secret')))).toBe('alice');
    clock += 2_000;
    expect((await refusal(auth.check(request(basic('alice', 'secret'))))).code).toBe('UNAUTHORIZED');
    expect(await auth.check(request(basic('alice', 'changed')))).toBe('alice');
    expect(await auth.check(request(basic('bob', 'builder')))).toBe('bob');
    expect(auth.users).toBe(2);

    await writeFile(file, 'alice:$apr1$notbcrypt\n');
    await utimes(file, new Date(), new Date(Date.now() + 10_000));
    clock += 2_000;
    expect(await auth.check(request(basic('bob', 'builder')))).toBe('bob');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not a bcrypt hash.*keeping the previous users/);
  });
});

describe('the bcrypt pool', () => {
  it('compares and hashes in worker threads like bcryptjs does', async () => {
    const pool = new BcryptPool(2);
    try {
      const hash = await pool.hash('secret', 4);
      expect(hash).toMatch(/^\$2b\$04\$/);
      expect(await Promise.all([pool.compare('secret', hash), pool.compare('nope', hash)])).toEqual([
        true,
        false,
      ]);
    } finally {
      await pool.close();
    }
    await expect(pool.compare('secret', 'x')).rejects.toThrow(/closed/);
  });
});
