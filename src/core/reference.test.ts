import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadVectors } from '../../test/support/vectors.js';
import { isImgdigestError } from './errors.js';
import {
  ANCHORED_DOMAIN_REGEXP,
  ANCHORED_NAME_REGEXP,
  familiarMatch,
  IDENTIFIER_REGEXP,
  parseAnyReference,
  parseDockerRef,
  parseNamed,
  parseReference,
  REFERENCE_REGEXP,
} from './reference.js';

const v = loadVectors();

/** Go sentinel errors -> our error codes. */
const CODE_OF: Record<string, string> = {
  ErrReferenceInvalidFormat: 'REFERENCE_INVALID',
  ErrNameContainsUppercase: 'REFERENCE_INVALID',
  ErrNameTooLong: 'REFERENCE_INVALID',
  ErrNameEmpty: 'REFERENCE_INVALID',
  ErrNameNotCanonical: 'REFERENCE_INVALID',
  ErrDigestInvalidLength: 'DIGEST_INVALID',
  ErrDigestInvalidFormat: 'DIGEST_INVALID',
  ErrDigestUnsupported: 'DIGEST_UNSUPPORTED',
};

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (!isImgdigestError(e)) throw e;
    return e.code;
  }
}

describe('reference.Parse vectors (no normalisation)', () => {
  for (const c of v.reference_parse) {
    // Go's test binary does not link sha512; a registered OCI algorithm must be accepted here.
    const acceptsSha512 = c.error === 'ErrDigestUnsupported' && String(c.input).includes('@sha512:');
    const valid = c.valid || acceptsSha512;
    it(`${valid ? 'accepts' : 'rejects'} ${JSON.stringify(String(c.input).slice(0, 70))}`, () => {
      if (!valid) {
        expect(codeOf(() => parseReference(c.input, { normalize: false }))).toBe(CODE_OF[c.error]);
        return;
      }
      const ref = parseReference(c.input, { normalize: false });
      if (acceptsSha512) {
        expect(ref.digest).toBe(String(c.input).split('@')[1]);
        return;
      }
      expect(ref.repository).toBe(c.name);
      expect(ref.domain).toBe(c.domain);
      expect(ref.path).toBe(c.path);
      expect(ref.tag ?? '').toBe(c.tag);
      expect(ref.digest ?? '').toBe(c.digest);
    });
  }
});

describe('normalised parsing (ParseNormalizedNamed) vectors', () => {
  for (const c of v.reference_normalized) {
    it(`${c.valid ? 'accepts' : 'rejects'} ${JSON.stringify(String(c.input).slice(0, 70))}`, () => {
      if (!c.valid) {
        expect(codeOf(() => parseReference(c.input))).not.toBeNull();
        return;
      }
      const ref = parseReference(c.input);
      expect(ref.domain).toBe(c.domain);
      expect(ref.path).toBe(c.path);
      expect(ref.tag ?? '').toBe(c.tag);
      expect(ref.digest ?? '').toBe(c.digest);
      expect(ref.canonical).toBe(c.string);
      expect(ref.familiar).toBe(c.familiarString);
    });
  }

  for (const c of v.repository_info) {
    it(`repository info of ${c.input}`, () => {
      const ref = parseReference(c.input);
      expect(ref.domain).toBe(c.domain);
      expect(ref.path).toBe(c.path);
      if (c.fullName !== undefined) expect(ref.repository).toBe(c.fullName);
      if (c.familiarName !== undefined) expect(ref.familiarRepository).toBe(c.familiarName);
    });
  }

  for (const c of v.parse_docker_ref) {
    it(`ParseDockerRef ${c.input}`, () => {
      if (c.expected === undefined || c.expected === null) {
        expect(codeOf(() => parseDockerRef(c.input))).not.toBeNull();
      } else expect(parseDockerRef(c.input)).toBe(c.expected);
    });
  }

  for (const c of v.parse_any_reference) {
    it(`ParseAnyReference ${c.input}`, () => {
      const r = parseAnyReference(c.input);
      expect(r.kind).toBe(c.kind);
      expect(r.kind === 'digest' ? r.digest : r.ref.canonical).toBe(c.expected);
    });
  }

  for (const c of v.parse_named) {
    it(`ParseNamed ${c.input}`, () => {
      if (!c.valid) {
        expect(codeOf(() => parseNamed(c.input))).toBe(CODE_OF[c.error]);
        return;
      }
      const ref = parseNamed(c.input);
      expect(ref.domain).toBe(c.domain);
      expect(ref.path).toBe(c.path);
    });
  }

  for (const c of v.familiar_match) {
    it(`FamiliarMatch ${c.pattern} ~ ${c.reference}`, () => {
      expect(familiarMatch(c.pattern, parseReference(c.reference))).toBe(c.expected);
    });
  }
});

describe('regular expressions match distribution/reference', () => {
  for (const c of v.regexp.domain_and_port) {
    it(`domain ${c.input}`, () => expect(ANCHORED_DOMAIN_REGEXP.test(c.input)).toBe(c.match));
  }
  for (const c of v.regexp.anchored_name) {
    it(`anchored name ${JSON.stringify(String(c.input).slice(0, 60))}`, () => {
      const m = ANCHORED_NAME_REGEXP.exec(c.input);
      expect(m !== null).toBe(c.match);
      if (m && c.match) {
        expect(m[1] ?? '').toBe(c.domain);
        expect(m[2]).toBe(c.path);
      }
    });
  }
  for (const c of v.regexp.reference) {
    it(`reference ${String(c.input).slice(0, 60)}`, () => {
      const m = REFERENCE_REGEXP.exec(c.input);
      expect(m !== null).toBe(c.match);
      if (m && c.match) {
        expect(m[1]).toBe(c.name);
        expect(m[2] ?? '').toBe(c.tag);
        expect(m[3] ?? '').toBe(c.digest);
      }
    });
  }
  for (const c of v.regexp.identifier) {
    it(`identifier ${c.input}`, () => expect(IDENTIFIER_REGEXP.test(c.input)).toBe(c.match));
  }
});

describe('parseReference', () => {
  const D = 'sha256:b0ad43f7ee5edbc0effbc14645ae7055e21bc1973aee5150745632a24a752661';

  it('keeps both tag and digest; the digest is authoritative for resolution', () => {
    const ref = parseReference(`nginx:1.19.2@${D}`);
    expect(ref.tag).toBe('1.19.2');
    expect(ref.digest).toBe(D);
    expect(ref.canonical).toBe(`docker.io/library/nginx:1.19.2@${D}`);
    expect(ref.familiar).toBe(`nginx:1.19.2@${D}`);
    expect(ref.identifier).toBe(D);
    expect(ref.digested).toBe(`docker.io/library/nginx@${D}`);
  });

  it('normalises Docker Hub names and knows the host to connect to', () => {
    expect(parseReference('index.docker.io/nginx').canonical).toBe('docker.io/library/nginx');
    expect(parseReference('nginx').registryHost).toBe('registry-1.docker.io');
    expect(parseReference('localhost/app').domain).toBe('localhost');
    expect(parseReference('localhost:5000/app:1').registryHost).toBe('localhost:5000');
    expect(parseReference('[::1]:5000/app').registryHost).toBe('[::1]:5000');
    expect(parseReference('gcr.io/x/y').registryHost).toBe('gcr.io');
  });

  it('reads myhost:5000 without a slash as a Docker Hub name with tag 5000, as Docker does', () => {
    const ref = parseReference('myhost:5000');
    expect(ref.canonical).toBe('docker.io/library/myhost:5000');
    expect(ref.tag).toBe('5000');
  });

  it('prints the JSON the CLI documents, with null for missing parts', () => {
    expect(parseReference('gcr.io/google-containers/pause-amd64:3.2').toJSON()).toEqual({
      input: 'gcr.io/google-containers/pause-amd64:3.2',
      canonical: 'gcr.io/google-containers/pause-amd64:3.2',
      familiar: 'gcr.io/google-containers/pause-amd64:3.2',
      domain: 'gcr.io',
      path: 'google-containers/pause-amd64',
      tag: '3.2',
      digest: null,
    });
  });

  it.each([
    ['Nginx', 'repository name must be lowercase (position 0)'],
    ['docker.io/Library/nginx', 'repository name must be lowercase (position 10)'],
    ['nginx:', 'tag must not be empty (position 6)'],
    ['a//b', '(position 2)'],
    ['nginx:-x', 'tag must start with a letter, digit or "_" (position 6)'],
    ['nginx:a$b', 'invalid character "$" in tag (position 7)'],
    ['ngi$nx', 'invalid character "$" in repository name (position 3)'],
    ['dock..er/docker', 'invalid separator ".." in repository name (position 4)'],
    ['repo@sha256:abc', '(position 5)'],
  ])('says what is wrong and where: %s', (input, expected) => {
    let message = '';
    try {
      parseReference(input);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`invalid reference "${input}"`);
    expect(message).toContain(expected);
  });

  it('refuses a bare 64-hex image ID as a name', () => {
    expect(codeOf(() => parseReference('a'.repeat(64)))).toBe('REFERENCE_INVALID');
  });

  it('accepts sha512 digests, which the OCI spec registers', () => {
    const d = `sha512:${'ab'.repeat(64)}`;
    expect(parseReference(`app@${d}`).digest).toBe(d);
  });

  it('withDigest keeps the tag and withTag validates', () => {
    const ref = parseReference('ghcr.io/org/app:v1').withDigest(D);
    expect(ref.canonical).toBe(`ghcr.io/org/app:v1@${D}`);
    expect(codeOf(() => ref.withTag('-bad'))).toBe('REFERENCE_INVALID');
    expect(codeOf(() => ref.withDigest('sha256:xyz'))).toBe('DIGEST_INVALID');
  });
});

describe('reference properties', () => {
  const component = fc
    .stringMatching(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/)
    .filter((s) => s.length <= 30);
  const domain = fc.oneof(
    fc.constant('docker.io'),
    fc.constant('localhost:5000'),
    fc.constant('[::1]:5000'),
    fc.stringMatching(/^[a-z0-9]{1,10}\.[a-z]{2,5}(?::[0-9]{1,5})?$/),
  );
  const tag = fc.stringMatching(/^[\w][\w.-]{0,40}$/);
  const hex = fc.stringMatching(/^[a-f0-9]{64}$/);

  it('format(parse(x)) is x for canonical references, and parse(format(parsed)) is stable', () => {
    fc.assert(
      fc.property(
        domain,
        fc.array(component, { minLength: 1, maxLength: 4 }),
        fc.option(tag),
        fc.option(hex),
        (d, parts, t, h) => {
          // A Docker Hub path whose first component looks like a domain has no familiar form that
          // parses back (Docker has the same ambiguity), so such paths are not generated.
          fc.pre(d !== 'docker.io' || !/[.:]/.test(parts[0]!));
          let path = parts.join('/');
          if (d === 'docker.io' && parts.length === 1) path = `library/${path}`;
          const text = `${d}/${path}${t !== null ? `:${t}` : ''}${h !== null ? `@sha256:${h}` : ''}`;
          const ref = parseReference(text);
          expect(ref.canonical).toBe(text);
          expect(parseReference(ref.familiar).canonical).toBe(text);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws anything but a coded error on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'grapheme-ascii' }), fc.constantFrom(':', '@', '/', '[')),
        (s) => {
          try {
            parseReference(s);
          } catch (e) {
            expect(isImgdigestError(e)).toBe(true);
            expect((e as Error).message).toMatch(/position \d+|digest/);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
