/**
 * @module cli/source
 * Open the source a command names, run the command's work, and always close it.
 */
import type { SourceSpec } from '../sources/open.js';
import type { HttpClientKind } from '../sources/registry/transport.js';
import type { ImageSource } from '../sources/source.js';
import type { CliContext } from './context.js';
import { baselineWasmOnly, type RegistryFlags, registryOptions } from './options.js';

/**
 * @param httpClient for a registry source: `node` (the default) where the command sends a few
 *   requests, `undici` where it sends many or moves large blobs (see `registryOptions`).
 */
export async function withSource<T>(
  input: string,
  flags: RegistryFlags,
  ctx: CliContext,
  work: (source: ImageSource, spec: SourceSpec) => Promise<T>,
  httpClient: HttpClientKind = 'node',
): Promise<T> {
  const { openSource, parseSourceSpec } = await import('../sources/open.js');
  const spec = parseSourceSpec(input);
  // The engine API's client is undici's (see baselineWasmOnly); registryOptions decides for registries.
  if (spec.transport === 'docker-daemon') baselineWasmOnly();
  const registry = spec.transport === 'registry' ? await registryOptions(flags, ctx, httpClient) : undefined;
  const openOptions: Parameters<typeof openSource>[1] = { cwd: ctx.io.cwd };
  if (registry) openOptions.registry = registry;
  if (ctx.io.env.DOCKER_HOST) openOptions.dockerHost = ctx.io.env.DOCKER_HOST;
  const source = await openSource(input, openOptions);
  try {
    return await work(source, spec);
  } finally {
    await source.close?.();
  }
}
