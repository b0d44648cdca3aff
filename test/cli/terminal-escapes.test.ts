/**
 * Text a registry controls never reaches the terminal raw: tag and repository names, labels,
 * environment, platforms and annotations, the message of an error body. Human output escapes it
 * as GNU tar quotes names; --json output is JSON with every control character escaped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileTextRegistry } from '../support/awkward-servers.js';
import { runCli } from '../support/cli.js';

// C0 controls other than the newline that ends lines, DEL and the C1 controls.
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

let reg: Awaited<ReturnType<typeof startHostileTextRegistry>>;
beforeAll(async () => {
  reg = await startHostileTextRegistry();
});
afterAll(() => reg.close());

const ESCAPED = '\\033]0;owned\\a\\033[2J\\302\\23331m\\r\\n';

describe('outside text on a terminal', () => {
  it('tags: escaped names, and --json that parses back to the real names', async () => {
    const r = await runCli(['tags', `${reg.host}/app`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`1.0\nindex\nlatest${ESCAPED}\n`);
    const json = await runCli(['tags', '--json', `${reg.host}/app`]);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(json.stdout).tags).toContain(`latest${reg.evil}`);
  });

  it('catalog: escaped repository names', async () => {
    const r = await runCli(['catalog', reg.host]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`app\nevil${ESCAPED}\n`);
  });

  it('inspect: labels, environment and working directory escaped; --json escaped as JSON', async () => {
    const r = await runCli(['inspect', `${reg.host}/app:1.0`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain(`Labels:      label${ESCAPED}=value${ESCAPED}`);
    expect(r.stdout).toContain(`Env:         PATH=/bin${ESCAPED}`);
    expect(r.stdout).toContain(`WorkingDir:  /w${ESCAPED}`);
    const json = await runCli(['inspect', '--json', `${reg.host}/app:1.0`]);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(json.stdout).image.labels).toEqual({ [`label${reg.evil}`]: `value${reg.evil}` });
  });

  it('index: platforms escaped in the table; annotations escaped in --json', async () => {
    const r = await runCli(['index', '--no-referrers', `${reg.host}/app:index`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain(`linux/amd64/v${ESCAPED}`);
    const json = await runCli(['index', '--no-referrers', '--json', `${reg.host}/app:index`]);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    expect(json.stdout).toContain('\\u001b]0;owned\\u0007');
  });

  it("an error body's message is quoted escaped in the one error line", async () => {
    const r = await runCli(['digest', `${reg.host}/app:broken`]);
    expect(r.code).toBe(3);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('denied\\033]0;owned');
  });
});
