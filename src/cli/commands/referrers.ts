/**
 * @module cli/commands/referrers
 * `imgdigest referrers REF`: what refers to an image (signatures, SBOMs, attestations), as `oras
 * discover` and `regctl artifact list` show it: the OCI 1.1 referrers API, the referrers tag
 * (`sha256-<hex>`) on registries without it, and cosign's legacy `.sig`, `.att` and `.sbom` tags.
 * `--fetch DIR` saves each referrer's manifest and files, named as `oras pull` names them.
 */
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDigest } from '../../core/digest.js';
import { ImgdigestError } from '../../core/errors.js';
import { Annotation } from '../../core/media-types.js';
import type { Reference } from '../../core/reference.js';
import type { Referrer, RegistryClient } from '../../sources/registry/index.js';
import type { CliContext } from '../context.js';
import { addRegistryOptions, type RegistryFlags, registryOptions } from '../options.js';
import { table } from '../table.js';

interface ReferrersFlags extends RegistryFlags {
  artifactType?: string;
  json?: boolean;
  fetch?: string;
  cosignTags: boolean;
}

export function registerReferrers(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('referrers')
    .description(
      'list what refers to an image (signatures, SBOMs, attestations): OCI referrers and cosign tags',
    )
    .argument('<reference>', 'registry reference by tag or digest (the subject)')
    .option('--artifact-type <type>', 'only referrers of this artifact type (application/spdx+json)')
    .option('--fetch <dir>', "save each referrer's manifest and files under DIR/<alg>-<hex>/")
    .option('--no-cosign-tags', "do not look for cosign's legacy .sig, .att and .sbom tags")
    .option('--json', 'print {reference, subject, digest, via, referrers: [...]} as JSON');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
The subject is the digest REF names (a tag is resolved first; for one platform of an index, give
its digest: imgdigest digest --platform ... --full-ref). Referrers come from the registry's OCI 1.1
referrers API (GET /v2/<name>/referrers/<digest>); a registry without it (404, as distribution 2.8)
is read through the referrers tag schema: the index tagged sha256-<hex>, which clients keep up
to date as they push (imgdigest does). cosign's legacy tags sha256-<hex>.sig, .att and .sbom are
looked up by name too (three HEADs) and listed with the artifact types cosign gives the same
objects today (application/vnd.dev.cosign.artifact.sig.v1+json, ...att..., ...sbom...).

ANNOTATIONS shows up to two annotations (org.opencontainers.image. left out of the names) and
how many more there are; --json has them all, with where each referrer was found (source:
referrers-api, referrers-tag or cosign-tag).

--fetch DIR writes, for each referrer listed, DIR/<alg>-<hex>/manifest.json (the exact bytes) and
each layer: under its org.opencontainers.image.title when that is a plain file name (as oras pull
names files), else under its digest (<alg>-<hex>). Every file is verified against its digest
while it is written into a hidden folder, renamed to DIR/<alg>-<hex> only when all are complete:
a failure leaves nothing (exit 3). One file by hand: imgdigest blob REPOSITORY@DIGEST -o FILE.

Examples:
  $ imgdigest referrers localhost:5000/sample/worker:2
  DIGEST                                                                   ARTIFACT TYPE          SIZE  ANNOTATIONS
  sha256:baf4682289d9622070039e28cb35cffabbe9592f4c23dc9cdec762526affe42e  application/spdx+json  712   created=2024-01-01T00:00:00Z
  $ imgdigest referrers --artifact-type application/spdx+json --fetch sbom localhost:5000/sample/worker:2`,
  );
  cmd.action(async (input: string, flags: ReferrersFlags) => {
    const { parseSourceSpec } = await import('../../sources/open.js');
    const spec = parseSourceSpec(input);
    if (spec.transport !== 'registry') {
      throw new ImgdigestError(
        'USAGE',
        `referrers reads registries only; "${input}" is a ${spec.transport} source`,
      );
    }
    const { RegistryClient } = await import('../../sources/registry/index.js');
    const client = new RegistryClient(await registryOptions(flags, ctx, 'node'));
    try {
      const ref = spec.reference;
      const digest = ref.digest ?? (await client.resolve(ref)).digest;
      const listing = await client.discoverReferrers(ref, digest, {
        ...(flags.artifactType ? { artifactType: flags.artifactType } : {}),
        cosignTags: flags.cosignTags,
      });
      const subject = `${ref.repository}@${digest}`;
      const files = new Map<string, string[]>();
      if (flags.fetch) {
        // Written under the command's working folder, shown as the user spelled DIR.
        const dir = resolve(ctx.io.cwd, flags.fetch);
        for (const r of listing.referrers) {
          const written = await fetchReferrer(client, ref, r, dir);
          files.set(
            r.digest,
            written.map((path) => join(flags.fetch!, relative(dir, path))),
          );
        }
      }
      if (flags.json) {
        ctx.json({
          reference: input,
          subject,
          digest,
          via: listing.via,
          referrers: listing.referrers.map((r) => (flags.fetch ? { ...r, files: files.get(r.digest) } : r)),
        });
        return;
      }
      const quiet = ctx.globals().quiet;
      if (listing.via === 'referrers-tag' && !quiet) {
        const { referrersTag } = await import('../../sources/registry/index.js');
        ctx.err(
          `imgdigest: ${ref.domain} has no referrers API; read the referrers tag ${ref.repository}:${referrersTag(digest)}`,
        );
      }
      if (listing.referrers.length === 0) {
        const kind = flags.artifactType ? ` of type ${flags.artifactType}` : '';
        if (!quiet) ctx.err(`imgdigest: nothing${kind} refers to ${subject}`);
        return;
      }
      const rows = listing.referrers.map((r) => [
        r.digest,
        r.artifactType ?? r.mediaType,
        String(r.size),
        annotationSummary(r),
      ]);
      ctx.out(table(['DIGEST', 'ARTIFACT TYPE', 'SIZE', 'ANNOTATIONS'], rows));
      if (!quiet) for (const path of [...files.values()].flat()) ctx.err(`imgdigest: wrote ${path}`);
    } finally {
      await client.close();
    }
  });
}

const OCI_PREFIX = 'org.opencontainers.image.';
/** Shown first when present: what a person looks for in a list of signatures and SBOMs. */
const FIRST = ['created', 'title', 'version'];

/** Up to two annotations, `org.opencontainers.image.` left out, then `+N more`; cosign tags say what they are. */
export function annotationSummary(referrer: Referrer): string {
  if (referrer.source === 'cosign-tag') {
    return `cosign legacy tag .${referrer.tag?.split('.').pop() ?? ''}`;
  }
  const entries = Object.entries(referrer.annotations ?? {}).map(
    ([k, v]) => [k.startsWith(OCI_PREFIX) ? k.slice(OCI_PREFIX.length) : k, v] as const,
  );
  const rank = (k: string) => (FIRST.includes(k) ? FIRST.indexOf(k) : FIRST.length);
  entries.sort((a, b) => rank(a[0]) - rank(b[0]));
  const shown = entries.slice(0, 2).map(([k, v]) => `${k}=${v}`);
  if (entries.length > 2) shown.push(`+${entries.length - 2} more`);
  return shown.join(', ');
}

/** `sha256-<hex>`: a digest as a file or folder name. */
function digestName(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest, { mode: 'grammar' });
  return `${algorithm}-${encoded}`;
}

/** A title that is a plain file name (no folder, nothing hidden above DIR), else null. */
function safeTitle(title: string | undefined): string | null {
  if (!title || title === '.' || title === '..' || title === 'manifest.json') return null;
  return /^[^/\\\x00-\x1f]+$/.test(title) ? title : null;
}

/**
 * Save one referrer as `dir/<alg>-<hex>/`: its manifest's exact bytes as manifest.json, then each
 * layer under its title or digest, each verified while it streams. Everything is written into a
 * hidden folder beside the target, which is renamed into place only when every file is complete:
 * a failure (a blob whose bytes do not match its digest, a full disk) leaves no folder at all, and
 * a folder fetched before is replaced whole. Returns the paths written.
 */
async function fetchReferrer(
  client: RegistryClient,
  repo: Reference,
  referrer: Referrer,
  dir: string,
): Promise<string[]> {
  // The file-system modules load here, on use: listing referrers needs none of them.
  const { mkdir, rename, rm } = await import('node:fs/promises');
  const { Readable } = await import('node:stream');
  const name = digestName(referrer.digest);
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.part`);
  const names: string[] = [];
  try {
    await fsCall(`cannot create ${temp}`, () => mkdir(temp, { recursive: true }));
    const manifest = await client.getManifest(repo.repositoryOnly().withDigest(referrer.digest), {
      accept: [referrer.mediaType],
    });
    await writeStream(Readable.from([Buffer.from(manifest.raw)]), join(temp, 'manifest.json'));
    names.push('manifest.json');
    if (manifest.kind === 'manifest') {
      for (const layer of manifest.value.layers ?? []) {
        let file = safeTitle(layer.annotations?.[Annotation.TITLE]) ?? digestName(layer.digest);
        if (names.includes(file)) file = digestName(layer.digest);
        if (names.includes(file)) continue; // the same blob twice
        const reader = await client.getBlob(repo, { digest: layer.digest, size: layer.size });
        await writeStream(reader.stream, join(temp, file));
        names.push(file);
      }
    }
    await fsCall(`cannot replace ${target}`, async () => {
      await rm(target, { recursive: true, force: true });
      await rename(temp, target);
    });
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return names.map((file) => join(target, file));
}

async function writeStream(stream: NodeJS.ReadableStream, path: string): Promise<void> {
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  await fsCall(`cannot write ${path}`, () =>
    pipeline(stream, createWriteStream(path, { flags: 'wx', mode: 0o644 })),
  );
}

/** Run a file-system step; its failure is `WRITE_FAILED` (a digest mismatch stays what it is). */
async function fsCall<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ImgdigestError) throw error;
    throw new ImgdigestError('WRITE_FAILED', `${what}: ${(error as Error).message}`, { cause: error });
  }
}
