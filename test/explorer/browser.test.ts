/**
 * The explorer in a real browser (Debian's chromium driven by playwright-core): the walk start →
 * repository → tag → index → platform → config → layer → file → compare on the embedded registry,
 * the CNCF registry and local sources, axe-core on every page (no serious or critical violation),
 * an image full of HTML and script that must not execute, and the Kubernetes page.
 *
 * Screenshots go to docs/explorer/ when IMGDIGEST_SCREENSHOTS=1 (the README shows them).
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleImages, writeOciLayout } from '../../src/builder/index.js';
import { type RunningExplorer, startExplorer } from '../../src/explorer/index.js';
import { type RunningRegistry, startRegistry } from '../../src/registry-server/index.js';
import { type Distribution, startDistribution } from '../support/distribution.js';
import { HOSTILE, pushHostileImage } from '../support/explorer-images.js';
import { pushWithClient } from '../support/images.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = process.env.IMGDIGEST_SCREENSHOTS === '1' ? resolve('docs/explorer') : null;

describe.skipIf(!haveTools('chromium', 'docker-registry', 'skopeo'))('explorer in a real browser', () => {
  let registry: RunningRegistry;
  let cncf: Distribution;
  let explorer: RunningExplorer;
  let context: BrowserContext;
  let hostile: BrowserContext;
  let base: string;
  let layout: string;
  let archive: string;

  beforeAll(async () => {
    registry = await startRegistry({ addr: '127.0.0.1:0', memory: true });
    const set = await buildSampleImages('app');
    await pushWithClient(registry.host, 'sample/app', set);
    await pushHostileImage(registry.url, 'hostile/app');
    cncf = await startDistribution({ proxy: false });
    await pushWithClient(cncf.host, 'sample/app', await buildSampleImages('cncf'));
    const dir = await tempDir('explorer-local');
    layout = join(dir, 'layout');
    await writeOciLayout(layout, set);
    archive = join(dir, 'app.tar');
    const { execFile } = await import('node:child_process');
    await new Promise<void>((ok, fail) =>
      execFile(
        'skopeo',
        ['copy', '--quiet', `oci:${layout}:single`, `docker-archive:${archive}:sample/app:single`],
        (e) => (e ? fail(e) : ok()),
      ),
    );
    explorer = await startExplorer({
      addr: '127.0.0.1:0',
      registry: { anonymous: true, retry: { maxRetries: 0 } },
    });
    base = explorer.url.replace(/\/$/, '');
    const userData = await tempDir('chromium');
    context = await chromium.launchPersistentContext(userData, {
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      viewport: { width: 1000, height: 640 },
      acceptDownloads: true,
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    // The hostile image is visited with the CSP switched off: escaping alone must keep it inert.
    hostile = await chromium.launchPersistentContext(await tempDir('chromium-hostile'), {
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      bypassCSP: true,
    });
    if (SHOTS) await mkdir(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await hostile?.close();
    await context?.close();
    await explorer?.close();
    await cncf?.stop();
    await registry?.close();
    await cleanupTempDirs();
  });

  async function axe(page: Page): Promise<void> {
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const result = await (
        globalThis as unknown as {
          axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> };
        }
      ).axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    });
    const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(grave, `axe on ${page.url()}`).toEqual([]);
  }

  async function shot(page: Page, name: string): Promise<void> {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  }

  async function open(page: Page, link: string | RegExp): Promise<void> {
    await Promise.all([
      page.waitForLoadState('load'),
      page.getByRole('link', { name: link }).first().click(),
    ]);
    await page.waitForLoadState('load');
  }

  /** start → repository → tag → index → platform → config → layer → file, checking each page. */
  async function walk(page: Page, host: string, name: string, shots: boolean): Promise<void> {
    await page.goto(`${base}/`);
    await axe(page);
    // Keyboard: the first Tab reaches the skip link, the next ones the search box; Enter submits.
    await page.keyboard.press('Tab');
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document
            .activeElement.textContent,
      ),
    ).toContain('Skip to content');
    await page.focus('#q');
    await page.keyboard.type(host);
    if (shots) await shot(page, 'start');
    await Promise.all([page.waitForURL(/\/registry\//), page.keyboard.press('Enter')]);
    expect((await page.locator('h1').textContent())?.trim()).toBe(`Registry ${host}`);
    await axe(page);
    await open(page, 'sample/app');
    expect((await page.locator('h1').textContent())?.trim()).toBe(`Repository ${host}/sample/app`);
    // Digests stream in: 1.0 and latest point at the index and end up in one group.
    await page.locator('#tag-groups[data-done="true"]').waitFor();
    const group = page.locator('#tag-groups section', {
      has: page.getByRole('link', { name: '1.0', exact: true }),
    });
    expect(await group.getByRole('link', { name: 'latest', exact: true }).count()).toBe(1);
    expect(await group.locator('h2 a.digest').count()).toBe(1);
    // The group's digest links to the repository at that digest.
    const digest = (await group.locator('h2 a.digest').textContent()) ?? '';
    expect(await group.locator('h2 a.digest').getAttribute('href')).toBe(
      `/image/${host}/sample/app@${digest}`,
    );
    await axe(page);
    if (shots) await shot(page, 'repository');
    await open(page, /^1\.0$/);
    expect((await page.locator('h1').first().textContent()) ?? '').toContain('Index');
    const pinned = (await page.locator('#pinned').textContent()) ?? '';
    expect(pinned).toMatch(
      new RegExp(`^${host.replace(/\./g, '\\.')}/sample/app:1\\.0@sha256:[0-9a-f]{64}$`),
    );
    await page.getByRole('button', { name: 'Copy pinned reference' }).click();
    expect(
      await page.evaluate(() =>
        (
          globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
        ).navigator.clipboard.readText(),
      ),
    ).toBe(pinned);
    expect(await page.locator('text=✓ matches').count()).toBe(1);
    expect(await page.locator('tr.attestation').count()).toBe(1);
    await axe(page);
    if (shots) await shot(page, 'index');
    const arm = page.locator('tr', { hasText: 'linux/arm64' }).locator('a.digest');
    await Promise.all([page.waitForURL(/@sha256:/), arm.click()]);
    expect((await page.locator('h1').first().textContent()) ?? '').toContain('Manifest');
    await axe(page);
    if (shots) await shot(page, 'manifest');
    await open(page, 'Config');
    expect((await page.locator('main').first().textContent()) ?? '').toContain('SAMPLE_PLATFORM=linux/arm64');
    await axe(page);
    if (shots) await shot(page, 'config');
    const layerLink = page.locator('table a.digest').nth(1);
    await Promise.all([page.waitForURL(/\/layer\//), layerLink.click()]);
    await page.locator('tr[data-path="app/hello.txt"]').waitFor();
    await axe(page);
    await page.goto(page.url()); // the listing is cached now: the sorted tree
    expect((await page.locator('tr[data-path="app/current"]').first().textContent()) ?? '').toContain(
      '→ hello.txt',
    );
    if (shots) await shot(page, 'layer');
    await open(page, 'hello.txt');
    expect((await page.locator('pre.file').first().textContent()) ?? '').toContain(
      `hello from ${name} on linux/arm64`,
    );
    expect((await page.locator('main').first().textContent()) ?? '').toContain('against the layer digest');
    await axe(page);
    if (shots) await shot(page, 'file');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download' }).click(),
    ]);
    const path = await download.path();
    expect(readFileSync(path, 'utf8')).toContain(`hello from ${name} on linux/arm64`);
  }

  it('walks the embedded registry from the start page to a file, then compares two tags', async () => {
    const page = await context.newPage();
    await walk(page, registry.host, 'app', true);
    await page.goto(`${base}/compare?a=${registry.host}/sample/app:1.0&b=${registry.host}/sample/app:single`);
    expect((await page.locator('h1').textContent())?.trim()).toBe('Compare two images');
    expect((await page.locator('main').first().textContent()) ?? '').toContain('linux/amd64');
    const compared = (await page.locator('main').first().textContent()) ?? '';
    expect(compared).toContain('1 shared, 1 only in A, 1 only in B.');
    expect(compared).toMatch(/app\/hello\.txt\s+size 30 → 34/);
    await axe(page);
    if (SHOTS) await shot(page, 'compare');
    // The same page on a phone, in dark mode.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}/image/${registry.host}/sample/app:1.0`);
    await axe(page);
    if (SHOTS) await shot(page, 'index-phone-dark');
    await page.close();
  });

  it('walks the CNCF registry the same way', async () => {
    const page = await context.newPage();
    await walk(page, cncf.host, 'cncf', false);
    await page.goto(`${base}/compare?a=${cncf.host}/sample/app:1.0&b=${cncf.host}/sample/app:latest`);
    expect((await page.locator('main').first().textContent()) ?? '').toContain(
      'The configs agree on every field compared.',
    );
    await axe(page);
    await page.close();
  });

  it('explores an OCI layout and a docker save archive', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/go?q=${encodeURIComponent(`oci:${layout}`)}`);
    expect((await page.locator('h1').textContent())?.trim()).toBe(`Repository oci:${layout}`);
    await page.locator('#tag-groups[data-done="true"]').waitFor();
    await axe(page);
    await open(page, /^1\.0$/);
    expect(await page.locator('tr.attestation').count()).toBe(1);
    await Promise.all([
      page.waitForURL(/@sha256:/),
      page.locator('tr', { hasText: 'linux/amd64' }).locator('a.digest').click(),
    ]);
    await open(page, 'Config');
    expect((await page.locator('main').first().textContent()) ?? '').toContain('SAMPLE_PLATFORM=linux/amd64');
    await axe(page);
    await page.goto(
      `${base}/compare?a=${encodeURIComponent(`oci:${layout}:1.0`)}&b=${encodeURIComponent(`oci:${layout}:single`)}`,
    );
    const compared = (await page.locator('main').first().textContent()) ?? '';
    expect(compared).toContain('1 shared, 1 only in A, 1 only in B.');
    expect(compared).toMatch(/app\/hello\.txt\s*size 30 → 34/);
    await axe(page);
    await page.goto(`${base}/go?q=${encodeURIComponent(`docker-archive:${archive}`)}`);
    expect((await page.locator('main').first().textContent()) ?? '').toContain('docker save archive');
    await axe(page);
    const layer = page.locator('table a.digest').nth(1);
    await Promise.all([page.waitForURL(/\/layer\//), layer.click()]);
    await page.locator('tr[data-path="app/hello.txt"]').waitFor();
    await page.goto(page.url());
    await open(page, 'hello.txt');
    expect((await page.locator('pre.file').first().textContent()) ?? '').toContain(
      'hello from app on single platform',
    );
    await axe(page);
    await page.close();
  });

  it.skipIf(!haveTools('podman'))(
    "explores an engine's image (docker-daemon: over Podman's API service)",
    async () => {
      const { startPodmanService } = await import('../local-sources/podman.js');
      const engine = await startPodmanService();
      const daemon = await startExplorer({ addr: '127.0.0.1:0', dockerHost: engine.dockerHost });
      const page = await context.newPage();
      try {
        engine.podman('pull', '--quiet', '--tls-verify=false', `${cncf.host}/sample/app:single`);
        await page.goto(
          `${daemon.url}go?q=${encodeURIComponent(`docker-daemon:${cncf.host}/sample/app:single`)}`,
        );
        expect((await page.locator('main').first().textContent()) ?? '').toContain(
          'the engine keeps no manifest',
        );
        await axe(page);
        await open(page, 'Config');
        expect((await page.locator('main').first().textContent()) ?? '').toContain('SAMPLE_PLATFORM');
        const layer = page.locator('table a.digest').nth(1);
        await Promise.all([page.waitForURL(/\/layer\//), layer.click()]);
        await page.locator('tr[data-path="app/hello.txt"]').waitFor();
        await page.goto(page.url());
        await open(page, 'hello.txt');
        expect((await page.locator('pre.file').first().textContent()) ?? '').toContain(
          'hello from cncf on single platform',
        );
        await axe(page);
      } finally {
        await page.close();
        await daemon.close();
        await engine.stop();
      }
    },
  );

  it('shows HTML and script from an image as text and runs none of it', async () => {
    const page = await hostile.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const visit = async (url: string) => {
      await page.goto(url);
      await page.waitForLoadState('load');
      expect(
        await page.evaluate(() => (globalThis as unknown as { __pwned?: unknown }).__pwned),
        url,
      ).toBeUndefined();
    };
    await visit(`${base}/image/${registry.host}/hostile/app:hostile`);
    expect((await page.locator('main').first().textContent()) ?? '').toContain(HOSTILE);
    const manifest = await page.evaluate(
      () =>
        (
          globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string | null } | null };
          }
        ).document.querySelector('#pinned')?.textContent ?? '',
    );
    const digest = manifest.slice(manifest.indexOf('@') + 1);
    await visit(`${base}/config/${registry.host}/hostile/app@${digest}`);
    expect((await page.locator('main').first().textContent()) ?? '').toContain(`HOSTILE=${HOSTILE}`);
    const layer = await page.locator('table a.digest').first().getAttribute('href');
    await visit(`${base}${layer}`);
    await page.locator('tr[data-path="evil/page.html"]').waitFor();
    await visit(`${base}${layer}`);
    expect((await page.locator('main').first().textContent()) ?? '').toContain(
      '<img src=x onerror=window.__pwned=1>.txt',
    );
    await visit(`${base}${layer}&path=${encodeURIComponent('evil/page.html')}`);
    expect((await page.locator('pre.file').first().textContent()) ?? '').toContain(
      "<script>window.__pwned='file'</script>",
    );
    await visit(`${base}/repo/${registry.host}/hostile/app`);
    await page.locator('#tag-groups[data-done="true"]').waitFor();
    expect(
      await page.evaluate(() => (globalThis as unknown as { __pwned?: unknown }).__pwned),
    ).toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it('checks and pins pasted Kubernetes manifests', async () => {
    const page = await context.newPage();
    await page.goto(`${base}/k8s`);
    await axe(page);
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  template:
    spec:
      containers:
        - name: app
          image: ${registry.host}/sample/app:1.0
`;
    await page.fill('#manifests', manifest);
    await Promise.all([
      page.waitForURL(`${base}/k8s`),
      page.getByRole('button', { name: 'Check and pin' }).click(),
    ]);
    expect((await page.locator('main').first().textContent()) ?? '').toContain(
      'pasted.yaml:11:18: Deployment demo/web: container <app> uses an image without a digest <',
    );
    expect((await page.locator('pre.diff .diff-add').first().textContent()) ?? '').toContain(
      `image: ${registry.host}/sample/app:1.0@sha256:`,
    );
    await axe(page);
    if (SHOTS) await shot(page, 'kubernetes');
    await page.close();
  });
});
