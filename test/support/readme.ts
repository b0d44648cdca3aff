/**
 * @module test/support/readme
 * What `test/readme.test.ts` needs to execute README.md: the parser of its ```console blocks, the
 * few masks allowed when outputs are compared, the mapping of the README's fixed ports to the ports
 * the test really uses, one bash session that runs the commands in order, a line diff, and the
 * rewrite of README.md from a real run (README_UPDATE=1).
 *
 * A console block is a terminal transcript: a line starting with `$ ` is a command (a trailing `\`
 * continues it on the next line; a here-document's lines up to its delimiter belong to it), the
 * lines after it up to the next `$ ` are what the terminal showed (stdout and stderr in the order
 * they were written). A command ending in `&` starts a background process: the lines after it are
 * what it prints first; the session waits for them and keeps the process running to the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/** One `$ ` command of a console block with the output README.md shows for it. */
export interface Step {
  /** The command as written (continuation lines and here-documents included, `&` removed). */
  command: string;
  /** Started in the background (`cmd &`). */
  background: boolean;
  /** 1-based line of the `$ ` in README.md. */
  line: number;
  /** The output lines README.md shows. */
  expected: string[];
  /** 0-based index of the first output line in README.md's lines (where an update writes). */
  outputStart: number;
}

export interface ConsoleBlock {
  /** 1-based line of the opening fence. */
  line: number;
  steps: Step[];
}

/** The ```console blocks of a Markdown text, in order. */
export function parseConsoleBlocks(markdown: string): ConsoleBlock[] {
  const lines = markdown.split('\n');
  const blocks: ConsoleBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```console\s*$/.test(lines[i]!)) {
      // Skip other fenced blocks whole, so a fence inside them is not read as a console block.
      if (/^```/.test(lines[i]!)) while (++i < lines.length && !/^```\s*$/.test(lines[i]!));
      continue;
    }
    const block: ConsoleBlock = { line: i + 1, steps: [] };
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`README.md:${i + 1}: console block is not closed`);
    let j = i + 1;
    if (j < end && !lines[j]!.startsWith('$ ')) {
      throw new Error(`README.md:${j + 1}: a console block must start with a "$ " command`);
    }
    while (j < end) {
      const start = j;
      const commandLines = [lines[j]!.slice(2)];
      // Continuations, then a here-document's body up to its delimiter.
      while (commandLines.at(-1)!.endsWith('\\') && j + 1 < end) commandLines.push(lines[++j]!);
      const heredoc = /<<-?\s*['"]?(\w+)['"]?/.exec(commandLines.join('\n'));
      if (heredoc) {
        while (j + 1 < end && lines[j + 1] !== heredoc[1]) commandLines.push(lines[++j]!);
        if (j + 1 < end) commandLines.push(lines[++j]!);
      }
      j++;
      const outputStart = j;
      while (j < end && !lines[j]!.startsWith('$ ')) j++;
      let command = commandLines.join('\n');
      const amp = /^([\s\S]*?\S)\s+&(\s+#.*)?$/.exec(command);
      const background = amp !== null && !heredoc;
      if (amp && background) command = amp[1]!;
      block.steps.push({
        command,
        background,
        line: start + 1,
        expected: lines.slice(outputStart, j),
        outputStart,
      });
    }
    blocks.push(block);
    i = end;
  }
  return blocks;
}

/**
 * The masks applied to README text and real output alike before they are compared: only values
 * that change from run to run by nature (time, and the ports the test listens on). Each is named
 * so a failure can say which ones exist; README_UPDATE keeps the README's text where the masked
 * lines agree, so the README does not churn.
 */
export const MASKS: ReadonlyArray<{ name: string; pattern: RegExp; replacement: string }> = [
  {
    name: 'port of a loopback address',
    pattern: /\b(127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\]):\d{1,5}(?!\w)/g,
    replacement: '$1:<port>',
  },
  {
    name: 'duration (request log "7ms", kpt "in 1.2s")',
    pattern: /\b\d+(?:\.\d+)?m?s\b/g,
    replacement: '<duration>',
  },
  { name: 'webhook log durationMs', pattern: /"durationMs":[\d.]+/g, replacement: '"durationMs":<ms>' },
  { name: 'webhook log time', pattern: /"time":\d+/g, replacement: '"time":<time>' },
  {
    name: 'lock file resolvedAt',
    pattern: /\bresolvedAt: \d{4}-\d\d-\d\dT[\d:.]+Z/g,
    replacement: 'resolvedAt: <time>',
  },
  {
    name: 'certificate valid until',
    pattern: /\bvalid until \d{4}-\d\d-\d\dT[\d:.]+Z/g,
    replacement: 'valid until <time>',
  },
  {
    name: 'metric: seconds summed over admissions',
    pattern: /^(imgdigest_webhook_admission_duration_seconds_sum\{[^}]*\}) \S+$/g,
    replacement: '$1 <seconds>',
  },
  {
    name: 'metric: certificate expiry timestamp',
    pattern: /^(imgdigest_webhook_tls_certificate_expiry_timestamp_seconds) \d+$/g,
    replacement: '$1 <time>',
  },
  {
    // An age ("2 years ago") and the padding after it: the column is as wide as its longest age.
    name: 'relative age (and its column padding)',
    pattern: /\b(?:\d+|an?|about an?) (?:second|minute|hour|day|week|month|year)s? ago {0,20}/g,
    replacement: '<age> ',
  },
  { name: 'CREATED column padding', pattern: /\bCREATED +/g, replacement: 'CREATED ' },
];

export function mask(line: string): string {
  return MASKS.reduce((text, m) => text.replace(m.pattern, m.replacement), line);
}

/**
 * The README's fixed ports (`localhost:5000`, `:8443`) and the ports the test really uses. The
 * same port when it is free; otherwise a free port with as many digits, so tables keep their
 * column widths. Commands are rewritten README -> real, outputs real -> README.
 */
export class PortMap {
  private constructor(private readonly pairs: ReadonlyArray<readonly [number, number]>) {}

  static async allocate(readmePorts: number[]): Promise<PortMap> {
    const taken = new Set<number>();
    const pairs: Array<[number, number]> = [];
    for (const port of readmePorts) {
      const digits = String(port).length;
      const low = Math.max(1024, 10 ** (digits - 1));
      const high = Math.min(65535, 10 ** digits - 1);
      let real = port;
      for (let attempt = 0; taken.has(real) || !(await isFree(real)); attempt++) {
        if (attempt > 200) throw new Error(`no free port like ${port}`);
        real = low + Math.floor(Math.random() * (high - low + 1));
      }
      taken.add(real);
      pairs.push([port, real]);
    }
    return new PortMap(pairs);
  }

  get entries(): ReadonlyArray<readonly [number, number]> {
    return this.pairs;
  }

  command(text: string): string {
    return this.pairs.reduce((t, [from, to]) => replacePort(t, from, to), text);
  }

  output(text: string): string {
    return this.pairs.reduce((t, [from, to]) => replacePort(t, to, from), text);
  }
}

/** `host:FROM` -> `host:TO` where a host name or address ends right before the colon. */
function replacePort(text: string, from: number, to: number): string {
  if (from === to) return text;
  return text.replace(new RegExp(`(?<=[\\w\\].-]):${from}(?!\\w)`, 'g'), `:${to}`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface RunResult {
  lines: string[];
  code: number;
}

/**
 * One bash process for the whole README, as one terminal: variables, `export`, the working folder
 * and background jobs carry from command to command. stdout and stderr share one pipe, so their
 * lines interleave as a terminal shows them. Job control is on, so each background job is its
 * own process group and is stopped whole.
 */
export class ShellSession {
  private readonly child: ChildProcess;
  private buffer = '';
  private count = 0;
  private readonly nonce = randomBytes(6).toString('hex');
  private readonly jobs: number[] = [];
  private exited = false;

  constructor(options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.child = spawn('bash', ['--noprofile', '--norc'], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const take = (c: Buffer) => {
      this.buffer += c.toString('utf8');
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.child.once('exit', () => {
      this.exited = true;
    });
    this.child.stdin!.write('exec 2>&1\nset -o pipefail\nset -m\n');
  }

  /** Run one command to its end; its output lines (without the final newline) and exit code. */
  async run(command: string, timeoutMs: number): Promise<RunResult> {
    const mark = `__readme_${this.nonce}_${++this.count}__`;
    this.child.stdin!.write(
      `{ ${command}\n} </dev/null 2>&1\n__rc=$?; printf '\\n%s %d\\n' '${mark}' "$__rc"; (exit $__rc)\n`,
    );
    const found = await this.waitFor(new RegExp(`\\n${mark} (\\d+)\\n`), timeoutMs);
    if (!found) {
      const partial = this.buffer;
      throw new Error(`timed out after ${timeoutMs / 1000}s; output so far:\n${partial}`);
    }
    const output = this.buffer.slice(0, found.index);
    this.buffer = this.buffer.slice(found.index + found[0].length);
    return { lines: splitLines(output), code: Number(found[1]) };
  }

  /** Start `command` as a background job writing to `logFile`; returns its process group. */
  async start(command: string, logFile: string): Promise<number> {
    const mark = `__readme_${this.nonce}_${++this.count}__`;
    this.child.stdin!.write(
      `{ ${command}\n} </dev/null >'${logFile}' 2>&1 &\nprintf '\\n%s %d\\n' '${mark}' "$!"\n`,
    );
    const found = await this.waitFor(new RegExp(`\\n${mark} (\\d+)\\n`), 10_000);
    if (!found) throw new Error(`could not start a background job: ${this.buffer}`);
    this.buffer = this.buffer.slice(found.index + found[0].length);
    const pgid = Number(found[1]);
    this.jobs.push(pgid);
    return pgid;
  }

  private async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.buffer);
      if (m) return m;
      if (this.exited || Date.now() > deadline) return null;
      await sleep(10);
    }
  }

  /** Stop every background job (TERM, then KILL after 5 s), then the shell. */
  async close(): Promise<void> {
    for (const pgid of this.jobs.splice(0)) await stopGroup(pgid);
    if (!this.exited) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.stdin!.end('exit 0\n');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
  }
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopGroup(pgid: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  process.kill(-pgid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(20);
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
}

/**
 * Wait until a background job's log holds `count` complete lines (or the job ended, or the time is
 * up); with `settle`, also until nothing new arrived for that long (what README_UPDATE records).
 */
export async function waitForLines(
  logFile: string,
  pgid: number,
  count: number,
  options: { timeoutMs: number; settleMs?: number },
): Promise<string[]> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  let changed = Date.now();
  for (;;) {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    if (text !== last) {
      last = text;
      changed = Date.now();
    }
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const lines = splitLines(complete);
    const enough = lines.length >= count;
    const settled = options.settleMs === undefined || Date.now() - changed >= options.settleMs;
    if ((enough && settled) || !groupAlive(pgid) || Date.now() > deadline) {
      return options.settleMs === undefined ? lines.slice(0, count) : splitLines(text);
    }
    await sleep(25);
  }
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A unified diff of two line lists (README `-`, real `+`), with three lines of context. */
export function unifiedDiff(expected: string[], actual: string[]): string {
  const n = expected.length;
  const m = actual.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] =
        expected[i] === actual[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Array<[' ' | '-' | '+', string]> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      ops.push([' ', expected[i]!]);
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push(['-', expected[i++]!]);
    else ops.push(['+', actual[j++]!]);
  }
  const keep = ops.map((_op, k) => ops.slice(Math.max(0, k - 3), k + 4).some(([t]) => t !== ' '));
  const out: string[] = [];
  ops.forEach(([t, text], k) => {
    if (keep[k]) out.push(`${t} ${text}`);
    else if (keep[k - 1]) out.push('  ...');
  });
  return out.join('\n');
}

/** README.md with the output lines of `steps` replaced (the steps' `outputStart`s index `lines`). */
export function rewriteOutputs(markdown: string, updates: Array<{ step: Step; lines: string[] }>): string {
  const lines = markdown.split('\n');
  for (const { step, lines: output } of [...updates].sort(
    (a, b) => b.step.outputStart - a.step.outputStart,
  )) {
    lines.splice(step.outputStart, step.expected.length, ...output);
  }
  return lines.join('\n');
}
