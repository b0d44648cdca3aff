/**
 * The blob the blob harnesses download: `bytes` of random data written to a file under /tmp and
 * pushed to a fresh CNCF registry as `bench/blob`, with an anonymous client for it.
 * `close()` closes the client, stops the registry and removes the file.
 */
import { rm } from 'node:fs/promises';
import { parseReference, type Reference } from '../../src/core/reference.js';
import { RegistryClient } from '../../src/sources/registry/index.js';
import { startDistribution } from '../../test/support/distribution.js';
import { type FileBlob, pushFileBlob, writeRandomFile } from '../lib/data.js';
import { stopDistribution } from '../lib/seed.js';

export interface PushedBlob {
  /** The file on disk (the reference every harness hashes). */
  path: string;
  blob: FileBlob;
  client: RegistryClient;
  /** `HOST/bench/blob` */
  repo: Reference;
  /** The blob's GET URL on the registry. */
  url: string;
  close(): Promise<void>;
}

export async function pushedBlob(bytes: number, label: string): Promise<PushedBlob> {
  const path = `/tmp/imgdigest-profile-${label}-${process.pid}.bin`;
  const dist = await startDistribution({ proxy: false });
  const client = new RegistryClient({ anonymous: true });
  const close = async () => {
    await client.close();
    await stopDistribution(dist);
    await rm(path, { force: true });
  };
  try {
    const blob = await writeRandomFile(path, bytes);
    await pushFileBlob(dist.registryUrl, 'bench/blob', blob);
    return {
      path,
      blob,
      client,
      repo: parseReference(`${new URL(dist.registryUrl).host}/bench/blob`),
      url: `${dist.registryUrl}/v2/bench/blob/blobs/${blob.digest}`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
