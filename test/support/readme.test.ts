/** The machinery that executes README.md: parsing, masks, ports, the shell session, the rewrite. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  groupAlive,
  mask,
  PortMap,
  parseConsoleBlocks,
  rewriteOutputs,
  ShellSession,
  unifiedDiff,
  waitForLines,
} from './readme.js';
import { cleanupTempDirs, tempDir } from './tmp.js';

afterAll(cleanupTempDirs);

const doc = [
  'Intro',
  '```sh',
  '$ not a console block',
  '```',
  '```console',
  '$ imgdigest serve &   # in the background',
  'listening',
  '$ printf "a\\nb\\n" \\',
  '    | sort -r',
  'b',
  'a',
  "$ cat > f <<'EOF'",
  'x: 1',
  'EOF',
  '$ echo $?',
  '0',
  '```',
  'Outro',
].join('\n');

describe('parseConsoleBlocks', () => {
  it('reads commands, continuations, here-documents, background jobs and their output lines', () => {
    const [block, ...rest] = parseConsoleBlocks(doc);
    expect(rest).toEqual([]);
    expect(block!.line).toBe(5);
    expect(block!.steps.map((s) => [s.line, s.command, s.background, s.expected])).toEqual([
      [6, 'imgdigest serve', true, ['listening']],
      [8, 'printf "a\\nb\\n" \\\n    | sort -r', false, ['b', 'a']],
      [12, "cat > f <<'EOF'\nx: 1\nEOF", false, []],
      [15, 'echo $?', false, ['0']],
    ]);
  });

  it('refuses a block that does not start with a command, or is not closed', () => {
    expect(() => parseConsoleBlocks('```console\noutput\n$ cmd\n```')).toThrow(
      /README.md:2: .*"\$ " command/,
    );
    expect(() => parseConsoleBlocks('```console\n$ cmd\n')).toThrow(
      /README.md:1: console block is not closed/,
    );
  });

  it('rewrites only output lines', () => {
    const steps = parseConsoleBlocks(doc)[0]!.steps;
    const out = rewriteOutputs(doc, [
      { step: steps[1]!, lines: ['B', 'A', 'C'] },
      { step: steps[0]!, lines: [] },
    ]);
    const again = parseConsoleBlocks(out)[0]!.steps;
    expect(again.map((s) => s.expected)).toEqual([[], ['B', 'A', 'C'], [], ['0']]);
    expect(again.map((s) => s.command)).toEqual(steps.map((s) => s.command));
    expect(out.startsWith('Intro\n```sh\n$ not a console block')).toBe(true);
    expect(out.endsWith('```\nOutro')).toBe(true);
  });
});

describe('masks', () => {
  it('hide times, durations and loopback ports', () => {
    expect(mask('GET http://localhost:5000/v2/ 200 50ms')).toBe(
      mask('GET http://localhost:41234/v2/ 200 7ms'),
    );
    expect(mask('[PASS] "imgdigest krm check" in 800ms')).toBe(mask('[PASS] "imgdigest krm check" in 1.2s'));
    expect(mask('    resolvedAt: 2026-11-27T00:51:38.787Z')).toBe(
      mask('    resolvedAt: 2025-01-02T03:04:05.006Z'),
    );
    expect(mask('{"level":"info","time":1795742104299,"durationMs":19.006}')).toBe(
      mask('{"level":"info","time":1,"durationMs":2}'),
    );
    expect(mask('x  CREATED      SIZE')).toBe(mask('x  CREATED        SIZE'));
    expect(mask('d203fa05ac5f  2 years ago  11.0 KiB')).toBe(mask('d203fa05ac5f  23 months ago  11.0 KiB'));
  });

  it('leave digests, sizes, dates of content and other numbers alone', () => {
    for (const line of [
      'sha256:2d0a69eb3745208138dabd2a3f5758dc5f59353dffd1d0cd7369c5d7116dbb16',
      '"size": 555,',
      '  "created": "2024-01-01T00:00:00Z",',
      'drwxr-xr-x root/root        0 2024-01-01 00:00 etc/',
      'ghcr.io:5000/app',
    ]) {
      expect(mask(line)).toBe(line);
    }
    expect(mask('11.0 KiB')).not.toBe(mask('11.5 KiB'));
  });
});

describe('PortMap', () => {
  it('rewrites host ports in commands and back in outputs, and nothing else', async () => {
    const ports = await PortMap.allocate([5000, 8443]);
    const [[, registry], [, webhook]] = ports.entries as [[number, number], [number, number]];
    expect(String(registry)).toHaveLength(4);
    const command = ports.command(
      'curl --resolve svc.ns.svc:8443:127.0.0.1 https://svc.ns.svc:8443/x localhost:5000/app "size":5000',
    );
    expect(command).toBe(
      `curl --resolve svc.ns.svc:${webhook}:127.0.0.1 https://svc.ns.svc:${webhook}/x localhost:${registry}/app "size":5000`,
    );
    expect(ports.output(`http://127.0.0.1:${registry} (memory)`)).toBe('http://127.0.0.1:5000 (memory)');
  });
});

describe('ShellSession', () => {
  it('is one terminal: variables, exit codes, stderr in order, background jobs stopped at the end', async () => {
    const dir = await tempDir('readme-shell');
    const session = new ShellSession({ cwd: dir, env: { PATH: process.env.PATH } });
    try {
      expect(await session.run('export GREETING=hello', 5000)).toEqual({ lines: [], code: 0 });
      expect(await session.run('echo out; echo err >&2; echo "$GREETING"', 5000)).toEqual({
        lines: ['out', 'err', 'hello'],
        code: 0,
      });
      expect((await session.run('false', 5000)).code).toBe(1);
      expect(await session.run('echo $?', 5000)).toEqual({ lines: ['1'], code: 0 });
      expect(await session.run('printf "no newline"', 5000)).toEqual({ lines: ['no newline'], code: 0 });
      const log = join(dir, 'job.log');
      const pgid = await session.start('echo ready; sleep 60', log);
      expect(await waitForLines(log, pgid, 1, { timeoutMs: 5000 })).toEqual(['ready']);
      expect(groupAlive(pgid)).toBe(true);
      await session.close();
      expect(groupAlive(pgid)).toBe(false);
    } finally {
      await session.close();
    }
  });
});

describe('unifiedDiff', () => {
  it('marks README lines with - and real lines with +', () => {
    expect(unifiedDiff(['a', 'b', 'c'], ['a', 'B', 'c'])).toBe('  a\n- b\n+ B\n  c');
  });
});
