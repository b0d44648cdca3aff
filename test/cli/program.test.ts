import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { runCli, silentContext } from '../support/cli.js';

const ctx = silentContext();

/** Every command below `cmd`, as `name` paths with their help text. */
function helpTexts(cmd: Command, path: string[] = []): Map<string, string> {
  const texts = new Map<string, string>();
  for (const sub of cmd.commands) {
    const here = [...path, sub.name()];
    texts.set(here.join(' '), sub.helpInformation());
    for (const [p, t] of helpTexts(sub, here)) texts.set(p, t);
  }
  return texts;
}

describe('the program of one run', () => {
  it('registers only the command named, with the flags and help it has among all the others', async () => {
    const all = await buildProgram(ctx);
    const names = all.commands.map((c) => c.name());
    expect(names.length).toBeGreaterThan(20);
    const full = helpTexts(all);
    for (const name of names) {
      const one = await buildProgram(ctx, name);
      expect(one.commands.map((c) => c.name())).toEqual([name]);
      for (const [path, text] of helpTexts(one)) expect(text, path).toBe(full.get(path));
    }
  });

  it('registers every command for the program help and for a name it does not know', async () => {
    const count = (await buildProgram(ctx)).commands.length;
    expect((await buildProgram(ctx, undefined)).commands).toHaveLength(count);
    expect((await buildProgram(ctx, 'digets')).commands).toHaveLength(count);
    expect((await buildProgram(ctx, null)).commands).toHaveLength(0);
  });

  it('lists each command under the name its module registers, in the order of the help', async () => {
    const { commands } = await import('../../src/cli/commands/index.js');
    expect((await buildProgram(ctx)).commands.map((c) => c.name())).toEqual(commands.map((c) => c.name));
  });

  it('answers --help, help NAME, a misspelt command and --version as with every command', async () => {
    const help = await runCli(['--help']);
    for (const name of ['digest', 'registry', 'webhook', 'pin'])
      expect(help.stdout).toContain(`\n  ${name} `);
    expect((await runCli(['help', 'digest'])).stdout).toBe((await runCli(['digest', '--help'])).stdout);
    expect((await runCli(['-v', 'registry', 'serve', '--help'])).stdout).toContain('--htpasswd <file>');
    const typo = await runCli(['digets', 'x']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('digest');
    expect((await runCli(['--version', 'digest'])).code).toBe(0);
  });
});

describe('help conventions', () => {
  let program: Command;
  beforeAll(async () => {
    program = await buildProgram(ctx);
  });

  /** Every command of the full program, nested ones included. */
  function everyCommand(cmd: Command = program): Command[] {
    return cmd.commands.flatMap((sub) => [sub, ...everyCommand(sub)]);
  }

  it('-p is --platform wherever there is a --platform', () => {
    const withPlatform = everyCommand().filter((c) => c.options.some((o) => o.long === '--platform'));
    expect(withPlatform.map((c) => c.name())).toEqual(expect.arrayContaining(['digest', 'pin', 'outdated']));
    for (const cmd of withPlatform) {
      expect(cmd.options.find((o) => o.long === '--platform')?.short, cmd.name()).toBe('-p');
    }
  });

  it("every command's help lists the global flags", () => {
    for (const cmd of everyCommand()) {
      const help = cmd.helpInformation();
      const global = help.slice(help.indexOf('Global Options:'));
      expect(help, cmd.name()).toContain('Global Options:');
      for (const flag of ['--debug', '-v, --verbose', '-q, --quiet'])
        expect(global, cmd.name()).toContain(flag);
    }
  });

  it('shows numbers as numbers in defaults', async () => {
    for (const cmd of everyCommand()) expect(cmd.helpInformation(), cmd.name()).not.toMatch(/default: "\d+"/);
    const help = (await runCli(['digest', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('(default: 30)');
    expect(help).toContain('(default: 3)');
  });
});
