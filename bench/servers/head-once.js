/**
 * @module bench/servers/head-once
 * The least a Node program does to print the digest behind a tag: one manifest HEAD with
 * node:http (no client library, no token, no TLS, no retries, no checks), the digest header
 * printed. A start-up reference for `imgdigest digest REF` in bench/cases/cli.ts, not a client:
 *
 *   node bench/servers/head-once.js http://HOST/v2/REPO/manifests/TAG
 */
import { request } from 'node:http';

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

request(process.argv[2], { method: 'HEAD', headers: { accept: ACCEPT }, agent: false }, (res) => {
  res.resume();
  if (res.statusCode !== 200) {
    process.stderr.write(`HEAD answered ${res.statusCode}\n`);
    process.exitCode = 3;
    return;
  }
  process.stdout.write(`${res.headers['docker-content-digest']}\n`);
}).end();
