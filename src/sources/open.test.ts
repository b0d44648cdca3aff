import { describe, expect, it } from 'vitest';
import { isImgdigestError } from '../core/errors.js';
import { parseSourceSpec } from './open.js';

describe('parseSourceSpec', () => {
  it("reads skopeo's transport names", () => {
    expect(parseSourceSpec('oci:/tmp/layout:v1')).toEqual({
      transport: 'oci',
      path: '/tmp/layout',
      tag: 'v1',
    });
    expect(parseSourceSpec('oci:./layout')).toEqual({ transport: 'oci', path: './layout', tag: undefined });
    expect(parseSourceSpec('docker-archive:app.tar:sample/app:1.0')).toEqual({
      transport: 'docker-archive',
      path: 'app.tar',
      ref: 'sample/app:1.0',
    });
    // FILE ends at the first ':' whatever its name, as skopeo reads it.
    for (const [input, path, ref] of [
      ['docker-archive:image.archive:sample/app:1.0', 'image.archive', 'sample/app:1.0'],
      ['docker-archive:/tmp/app-img:app:1.0', '/tmp/app-img', 'app:1.0'],
      ['docker-archive:/tmp/app.tar.gz', '/tmp/app.tar.gz', undefined],
      ['docker-archive:app.tar:', 'app.tar', undefined],
    ] as const) {
      expect(parseSourceSpec(input)).toEqual({ transport: 'docker-archive', path, ref });
    }
    expect(parseSourceSpec('docker-daemon:nginx:1.27')).toEqual({
      transport: 'docker-daemon',
      name: 'nginx:1.27',
    });
    const reg = parseSourceSpec('docker://localhost:5000/app:1');
    expect(reg.transport === 'registry' && reg.reference.canonical).toBe('localhost:5000/app:1');
  });

  it('reads a host with a port as a registry, not a transport', () => {
    const spec = parseSourceSpec('dir:5000/app');
    expect(spec.transport === 'registry' && spec.reference.domain).toBe('dir:5000');
  });

  it.each(['dir:/tmp/x', 'containers-storage:nginx', 'oci-archive:/tmp/a.tar'])(
    'refuses %s by name',
    (input) => {
      let error: unknown;
      try {
        parseSourceSpec(input);
      } catch (e) {
        error = e;
      }
      expect(isImgdigestError(error) && error.code).toBe('INPUT_INVALID');
      expect((error as Error).message).toMatch(/transport is not supported/);
    },
  );
});
