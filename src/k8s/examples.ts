/**
 * @module k8s/examples
 * The sample manifests in `examples/manifests` name their registry `REGISTRY` (see
 * examples/README.md); the quick start renders them for the registry it started.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The placeholder host in the example manifests. */
export const REGISTRY_PLACEHOLDER = 'REGISTRY';

/** Where the example manifests are (next to the package's src/ or dist/). */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/manifests/', import.meta.url));

/** The text with every `REGISTRY/` image host replaced by `host` (e.g. `127.0.0.1:5000`). */
export function renderExample(text: string, host: string): string {
  return text.replace(/(?<![\w.-])REGISTRY\//g, `${host}/`);
}

/** Write the rendered example manifests into `outDir`; returns the files written. */
export async function renderExamples(
  outDir: string,
  host: string,
  from: string = EXAMPLES_DIR,
): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const name of (await readdir(from)).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const target = join(outDir, name);
    await writeFile(target, renderExample(await readFile(join(from, name), 'utf8'), host));
    written.push(target);
  }
  return written;
}
