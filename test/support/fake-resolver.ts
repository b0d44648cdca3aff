/**
 * @module test/support/fake-resolver
 * A `Resolver` for tests that need answers, not a registry (pin, the admission webhook): by default
 * the digest of a reference is the sha256 of its canonical form (plus the platform), so tests can
 * compute expectations independently; any reference can be given its own answer, an error, or
 * silence. It records every question it was asked.
 */
import { digestOf } from '../../src/core/digest.js';
import type { Reference } from '../../src/core/reference.js';
import type { BaseResolve } from '../../src/resolver/resolver.js';
import type { Resolution, ResolveOptions, Resolver } from '../../src/resolver/types.js';

type Digest = `${string}:${string}`;

/** The digest the fake gives a canonical reference (and platform) it has no answer for. */
export function fakeDigest(canonical: string, platform?: string): Digest {
  return digestOf(platform ? `${canonical}|${platform}` : canonical);
}

/** What the fake answers for one canonical reference: a digest, an error to throw, or never. */
export type FakeAnswer = string | Error | 'hang';

export interface FakeResolverOptions {
  /** Answers by canonical reference (`docker.io/library/nginx:1.27`). */
  answers?: Record<string, FakeAnswer>;
  /** The digest of every other reference; default {@link fakeDigest} of it. */
  digest?: string;
}

export interface FakeResolver extends Resolver {
  /** Every question, in order. */
  calls: Array<{ canonical: string; platform?: string }>;
}

export function fakeResolver(options: FakeResolverOptions = {}): FakeResolver {
  const calls: FakeResolver['calls'] = [];
  return {
    calls,
    resolve(reference: Reference, opts: ResolveOptions = {}): Promise<Resolution> {
      calls.push({ canonical: reference.canonical, ...(opts.platform ? { platform: opts.platform } : {}) });
      const answer =
        options.answers?.[reference.canonical] ??
        options.digest ??
        fakeDigest(reference.canonical, opts.platform);
      if (answer === 'hang') return new Promise(() => {});
      if (answer instanceof Error) return Promise.reject(answer);
      const resolution: Resolution = {
        reference,
        digest: answer as Digest,
        kind: opts.platform ? 'manifest' : 'index',
        mediaType: opts.platform
          ? 'application/vnd.oci.image.manifest.v1+json'
          : 'application/vnd.oci.image.index.v1+json',
        size: 1234,
        resolvedAt: '2025-01-02T03:04:05.000Z',
        via: 'registry',
      };
      if (opts.platform) resolution.platform = opts.platform;
      return Promise.resolve(resolution);
    },
  };
}

/**
 * A base for the real resolver (`openResolver({ base })`) that names every reference `digest` at
 * once, as an index, and records the canonical form of each reference it was asked for in
 * `asked`: what reached the "registry" past the resolver's cache and coalescing.
 */
export function recordingBase(digest: Digest, asked: string[] = []): BaseResolve {
  return async (reference) => {
    asked.push(reference.canonical);
    return {
      reference,
      digest,
      kind: 'index',
      mediaType: 'application/vnd.oci.image.index.v1+json',
      size: 1,
    };
  };
}
