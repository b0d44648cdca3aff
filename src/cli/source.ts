/**
 * @module cli/source
 * Open the source a command names, run the command's work, and always close it.
 */
import type { SourceSpec } from '../sources/open.js';
import type { ImageSource } from '../sources/source.js';
import type { CliContext } from './context.js';
import { baselineWasmOnly, type RegistryFlags, registryOptions } from './options.js';

export async function withSource<T>(
  input: string,
  flags: RegistryFlags,
  ctx: CliContext,
  work: (source: ImageSource, spec: SourceSpec) => Promise<T>,
): Promise<T> {
  baselineWasmOnly();
  const { openSource, parseSourceSpec } = await import('../sources/open.js');
  const spec = parseSourceSpec(input);
  const registry = spec.transport === 'registry' ? await registryOptions(flags, ctx) : undefined;
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
