/**
 * `imgdigest completion bash|zsh|fish`: each script is loaded into the real shell and asked for
 * completions the way the shell asks (bash: COMP_WORDS/COMP_CWORD and the completion function;
 * fish: `complete -C`; zsh: its function with the completion built-ins recorded), and every
 * command the CLI has, nested ones too, is offered where it can be typed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionScript } from '../../src/cli/completion.js';
import { runCli } from '../support/cli.js';
import { cleanupTempDirs, tempDir } from '../support/tmp.js';
import { haveTools } from '../support/tools.js';

let dir: string;
let scripts: string;
beforeAll(async () => {
  dir = await tempDir('completion');
  scripts = await tempDir('completion-scripts');
  // Something for file and folder completion to find.
  writeFileSync(join(dir, 'deploy.yaml'), 'kind: Pod\n');
  writeFileSync(join(dir, 'images.lock'), '');
  mkdirSync(join(dir, 'layout'));
});
afterAll(cleanupTempDirs);

async function script(shell: string): Promise<string> {
  const r = await runCli(['completion', shell]);
  expect(r.code, r.stderr).toBe(0);
  const file = join(scripts, `imgdigest.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

/** Every command path (`digest`, `registry serve`, ...) from the help texts. */
async function commandPaths(prefix: string[] = []): Promise<string[][]> {
  const help = await runCli([...prefix, '--help']);
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help.stdout)?.[1] ?? '';
  const paths: string[][] = [];
  for (const name of [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]!)) {
    if (name === 'help') continue;
    paths.push([...prefix, name], ...(await commandPaths([...prefix, name])));
  }
  return paths;
}

describe.skipIf(!haveTools('bash'))('bash completion', () => {
  let file: string;
  beforeAll(async () => {
    file = await script('bash');
  });

  /** What bash completes `words` (the last one being typed) to, in a real bash process. */
  function complete(...words: string[]): string[] {
    const driver = [
      `source ${JSON.stringify(file)}`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell code, not a template
      'COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()',
      '_imgdigest',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell code, not a template
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const out = execFileSync('bash', ['-c', driver, 'bash', 'imgdigest', ...words], {
      cwd: dir,
      encoding: 'utf8',
    });
    return out.split('\n').filter(Boolean);
  }

  it('registers a completion function for imgdigest', () => {
    const out = execFileSync('bash', ['-c', `source ${JSON.stringify(file)}; complete -p imgdigest`], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('complete -o default -F _imgdigest imgdigest');
  });

  it('completes commands, nested commands and the commands help explains', () => {
    expect(complete('dig')).toEqual(['digest']);
    expect(complete('regi')).toEqual(['registry']);
    expect(complete('tag')).toEqual(['tags', 'tag']);
    expect(complete('registry', '')).toEqual(['serve', 'help']);
    expect(complete('-v', 'krm', 'p')).toEqual(['pin']);
    expect(complete('help', 'ver')).toEqual(['version']);
    expect(complete('completion', '')).toEqual(['bash', 'zsh', 'fish']);
  });

  it("completes a command's own flags and the global ones", () => {
    expect(complete('digest', '--pl')).toEqual(['--platform']);
    expect(complete('digest', '--timeout', '3', '--re')).toEqual(['--retries']);
    expect(complete('pin', '--q')).toEqual(['--quiet']);
    expect(complete('--deb')).toEqual(['--debug']);
  });

  it('completes file flags to files, folder flags to folders, other values to nothing', () => {
    expect(complete('check', '-f', 'dep')).toEqual(['deploy.yaml']);
    expect(complete('pin', '--filename', 'd')).toEqual(['deploy.yaml']);
    expect(complete('digest', '--file', 'im')).toEqual(['images.lock']);
    expect(complete('pin', '--from-lock', '')).toEqual(
      expect.arrayContaining(['images.lock', 'deploy.yaml']),
    );
    expect(complete('registry', 'serve', '--root', '')).toEqual(['layout']);
    expect(complete('digest', '--platform', '')).toEqual([]);
    expect(complete('digest', '-p', 'linux/amd64', 'la')).toEqual(['layout']);
  });

  it('offers every command and subcommand of the CLI where it can be typed', async () => {
    const paths = await commandPaths();
    expect(paths.length).toBeGreaterThan(20);
    for (const path of paths) {
      expect(complete(...path.slice(0, -1), ''), path.join(' ')).toContain(path.at(-1));
    }
  });
});

describe.skipIf(!haveTools('fish'))('fish completion', () => {
  let file: string;
  beforeAll(async () => {
    file = await script('fish');
  });

  function complete(line: string): string[] {
    const out = execFileSync('fish', ['-c', `source ${file}; complete -C ${JSON.stringify(line)}`], {
      cwd: dir,
      encoding: 'utf8',
    });
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0]!);
  }

  it('parses', () => {
    execFileSync('fish', ['--no-execute', file]);
  });

  it('completes commands, flags and their values', () => {
    expect(complete('imgdigest dig')).toEqual(['digest']);
    expect(complete('imgdigest registry ')).toEqual(expect.arrayContaining(['serve']));
    expect(complete('imgdigest registry ')).not.toContain('digest');
    expect(complete('imgdigest digest --pl')).toEqual(['--platform']);
    expect(complete('imgdigest completion ')).toEqual(['bash', 'fish', 'zsh']);
    expect(complete('imgdigest check -f dep')).toEqual(['deploy.yaml']);
    expect(complete('imgdigest -q registry serve --root ')).toEqual(['layout/']);
  });
});

describe.skipIf(!haveTools('zsh'))('zsh completion', () => {
  let file: string;
  beforeAll(async () => {
    file = await script('zsh');
  });

  /**
   * What the zsh function hands to zsh's completion built-ins for `words`, recorded by stand-ins
   * for them (_describe: the names it offers; compadd: its words; _files: "FILES" or "DIRS").
   */
  function complete(...words: string[]): string[] {
    const driver = [
      'compdef() { :; }',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell code, not a template
      '_describe() { local name=${@[-1]}; print -l -- ${${(P)name}%%:*} }',
      'compadd() { shift; print -l -- "$@" }',
      '_files() { if [[ $1 == -/ ]]; then print DIRS; else print FILES; fi }',
      '_message() { print "MESSAGE $1" }',
      'compset() { :; }',
      `source ${JSON.stringify(file)}`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell code, not a template
      'words=(imgdigest "$@"); CURRENT=${#words}; PREFIX=${words[-1]}',
      '_imgdigest',
    ].join('\n');
    const out = execFileSync('zsh', ['-f', '-c', driver, 'zsh', ...words], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean);
  }

  it('parses', () => {
    execFileSync('zsh', ['-n', file]);
  });

  it('completes commands with descriptions, flags and their values', () => {
    expect(complete('')).toEqual(expect.arrayContaining(['digest', 'registry', 'completion', 'help']));
    expect(complete('registry', '')).toEqual(['serve', 'help']);
    expect(complete('digest', '--')).toEqual(expect.arrayContaining(['-p', '--platform', '--debug']));
    expect(complete('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(complete('check', '-f', '')).toEqual(['FILES']);
    expect(complete('registry', 'serve', '--root', '')).toEqual(['DIRS']);
    expect(complete('digest', '--platform', '')).toEqual(['MESSAGE value']);
    expect(complete('digest', '--timeout', '3', '')).toEqual(['FILES']);
  });
});

describe('completion scripts', () => {
  it('complete the choices a flag declares', () => {
    const program = new Command('imgdigest');
    program.command('x').addOption(new Option('--format <format>').choices(['text', 'json']));
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      expect(completionScript(shell, program, '0.0.0')).toContain('text json');
    }
  });

  it('refuses a shell it does not know, exit 2', async () => {
    const r = await runCli(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.",
    );
  });
});
