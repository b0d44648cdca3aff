/** The example manifests: check finds their tag-only images, rendering replaces only the host. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDir, tempDirSync } from '../../test/support/tmp.js';
import { checkPaths } from './check.js';
import { EXAMPLES_DIR, renderExamples } from './examples.js';
import { defaultRules } from './rules.js';

const out = tempDirSync('examples');
afterAll(() => removeTempDir(out));

describe('examples/manifests', () => {
  it('have four tag-only images in four objects, the pinned pod passes', async () => {
    const result = await checkPaths([EXAMPLES_DIR], defaultRules());
    expect(result.findings.map((f) => `${f.object.kind}/${f.object.name}: ${String(f.image)}`)).toEqual([
      'CronJob/nightly-report: REGISTRY/sample/app:1.0',
      'Deployment/web: REGISTRY/sample/app:1.0',
      'Deployment/web: REGISTRY/sample/app:1.0',
      'StatefulSet/worker: REGISTRY/sample/worker:2',
    ]);
    expect(result.skippedDocuments).toBe(0);
  });

  it('render with the registry host and nothing else changed', async () => {
    const files = await renderExamples(out, '127.0.0.1:5123');
    expect(files.map((f) => f.slice(out.length + 1))).toEqual([
      'debug-pod.yaml',
      'nightly.yaml',
      'web.yaml',
      'worker.yaml',
    ]);
    const before = readFileSync(join(EXAMPLES_DIR, 'web.yaml'), 'utf8');
    const after = readFileSync(join(out, 'web.yaml'), 'utf8');
    expect(after).toBe(before.replaceAll('REGISTRY/sample', '127.0.0.1:5123/sample'));
    expect(after).not.toContain('REGISTRY');
  });
});
