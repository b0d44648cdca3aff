/**
 * @module bench/lib/machine
 * The facts a reader needs to weigh the numbers: CPU model, cores, memory, load, Node and the
 * versions of every tool compared with.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { versionOf } from './proc.js';

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** 1, 5 and 15 minute load averages when the run started: above `cores` means others were busy. */
  loadAverage: number[];
  node: string;
  platform: string;
  tools: Record<string, string>;
  imgdigest: { version: string; commit: string };
}

function packageVersion(root: string, name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

function gitCommit(root: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

/** Describe this machine and the tools on it. */
export async function machineInfo(root: string): Promise<MachineInfo> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const [skopeo, openssl, tar, registry, gzip] = await Promise.all([
    versionOf('skopeo'),
    versionOf('openssl', ['version']),
    versionOf('tar'),
    versionOf('/usr/bin/docker-registry', ['--version']),
    versionOf('gzip'),
  ]);
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    tools: {
      skopeo,
      openssl,
      tar,
      gzip,
      'docker-registry (CNCF distribution)': registry,
      autocannon: packageVersion(root, 'autocannon'),
      '@snyk/docker-registry-v2-client': packageVersion(root, '@snyk/docker-registry-v2-client'),
      undici: packageVersion(root, 'undici'),
      yaml: packageVersion(root, 'yaml'),
    },
    imgdigest: { version: pkg.version, commit: gitCommit(root) },
  };
}
