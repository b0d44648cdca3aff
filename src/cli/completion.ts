/**
 * @module cli/completion
 * Shell completion scripts for bash, zsh and fish, generated from the commander program itself:
 * its commands and subcommands, their flags and arguments. A new command or flag is completed as
 * soon as it is registered; nothing here names one.
 *
 * What a flag's value completes to comes from how the flag is declared: choices (commander's
 * `.choices()`) complete to those words, a value named like a folder (`<dir>`, `<oci:DIR>`) to
 * folders, one named like a file (`<file>`, `<path>`) to files, any other value (`<seconds>`,
 * `<os/arch[/variant]>`) to nothing. Arguments complete the same way; an argument without choices
 * (a reference, which may be `oci:DIR`) falls back to file names.
 *
 * The scripts hold the tree as `case` tables and walk the words typed so far to find the command
 * path (skipping flags and the values of flags that take one), so a completion costs no process.
 */
import { type Argument, type Command, Help, type Option } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What a flag's value or an argument completes to. */
export type ValueKind =
  | { kind: 'file' }
  | { kind: 'dir' }
  | { kind: 'choice'; words: string[] }
  | { kind: 'text' };

export interface CompletionFlag {
  /** `-p` and `--platform`, as typed. */
  names: string[];
  description: string;
  /** Null for a flag without a value. */
  value: ValueKind | null;
}

export interface CompletionNode {
  /** The words that lead here: `[]` for the program, `['registry', 'serve']`. */
  path: string[];
  description: string;
  commands: CompletionNode[];
  flags: CompletionFlag[];
  /** What the next positional argument completes to; null when the command takes none. */
  argument: ValueKind | null;
}

/** The completion tree of `program`: every visible command, flag and argument. */
export function completionTree(program: Command): CompletionNode {
  const help = new Help();
  const globals = help.visibleOptions(program).filter((o) => o.long !== '--help' && o.long !== '--version');
  const walk = (cmd: Command, path: string[]): CompletionNode => {
    const commands = help.visibleCommands(cmd).map((sub) => {
      // commander's own `help [command]` completes to the commands it can explain.
      if (sub.name() === 'help' && !cmd.commands.includes(sub)) {
        const names = help.visibleCommands(cmd).map((c) => c.name());
        return {
          path: [...path, 'help'],
          description: sub.description(),
          commands: [],
          flags: [],
          argument: { kind: 'choice', words: names.filter((n) => n !== 'help') },
        } satisfies CompletionNode;
      }
      return walk(sub, [...path, sub.name()]);
    });
    const own = help.visibleOptions(cmd);
    const options = path.length === 0 ? own : [...own, ...globals];
    const argument = cmd.registeredArguments[0];
    return {
      path,
      description: cmd.description(),
      commands,
      flags: options.map(flagOf),
      argument: commands.length === 0 && argument ? argumentKind(argument) : null,
    };
  };
  return walk(program, []);
}

function flagOf(option: Option): CompletionFlag {
  const names = [option.short, option.long].filter((n): n is string => Boolean(n));
  const takesValue = option.required || option.optional;
  return {
    names,
    description: option.description,
    value: takesValue ? kindOf(/[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1] ?? '', option.argChoices) : null,
  };
}

function argumentKind(argument: Argument): ValueKind {
  const kind = kindOf(argument.name(), argument.argChoices);
  // A reference may name a local source (oci:DIR, docker-archive:FILE): offer file names.
  return kind.kind === 'text' ? { kind: 'file' } : kind;
}

function kindOf(placeholder: string, choices: readonly string[] | undefined): ValueKind {
  if (choices && choices.length > 0) return { kind: 'choice', words: [...choices] };
  if (/dir/i.test(placeholder)) return { kind: 'dir' };
  if (/file|path/i.test(placeholder)) return { kind: 'file' };
  return { kind: 'text' };
}

function nodes(root: CompletionNode): CompletionNode[] {
  return [root, ...root.commands.flatMap(nodes)];
}

/** A shell word in single quotes. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** One line of description: help texts may wrap, completion menus do not. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** `file`, `dir`, `choice:a b`, `text`: the value kinds as the scripts spell them. */
function kindWord(kind: ValueKind): string {
  return kind.kind === 'choice' ? `choice:${kind.words.join(' ')}` : kind.kind;
}

/** The `case` tables bash and zsh share: commands, flags, flag values and arguments per path. */
function caseTables(root: CompletionNode, prefix: string, describe: boolean): string {
  const all = nodes(root);
  const key = (node: CompletionNode) => quote(node.path.join(' '));
  const list = (items: Array<[string, string]>) =>
    describe
      ? `(${items.map(([name, d]) => quote(`${name.replace(/:/g, '\\:')}:${oneLine(d)}`)).join(' ')})`
      : quote(items.map(([name]) => name).join(' '));
  const assign = describe ? 'reply=' : 'REPLY=';
  const empty = describe ? 'reply=()' : "REPLY=''";
  const table = (name: string, comment: string, rows: string[], fallback: string) =>
    `# ${comment}\n${prefix}_${name}() {\n  case $1 in\n${rows.join('\n')}\n    *) ${fallback} ;;\n  esac\n}\n`;
  const commands = all
    .filter((n) => n.commands.length > 0)
    .map((n) => `    ${key(n)}) ${assign}${list(n.commands.map((c) => [c.path.at(-1)!, c.description]))} ;;`);
  const flags = all.map(
    (n) =>
      `    ${key(n)}) ${assign}${list(n.flags.flatMap((f) => f.names.map((name): [string, string] => [name, f.description])))} ;;`,
  );
  const values: string[] = [];
  for (const n of all) {
    for (const f of n.flags) {
      if (f.value)
        values.push(
          `    ${f.names.map((name) => quote(`${n.path.join(' ')}|${name}`)).join('|')}) REPLY=${quote(kindWord(f.value))} ;;`,
        );
    }
  }
  const args = all
    .filter((n) => n.argument)
    .map((n) => `    ${key(n)}) REPLY=${quote(kindWord(n.argument!))} ;;`);
  return [
    table('commands', 'The subcommands of a command path.', commands, empty),
    table('flags', 'The flags of a command path.', flags, empty),
    table(
      'value',
      'What the value of "PATH|FLAG" completes to (empty: the flag takes none).',
      values,
      "REPLY=''",
    ),
    table('argument', "What a command's arguments complete to.", args, "REPLY=''"),
  ].join('\n');
}

function header(shell: Shell, version: string, install: string): string {
  return `# ${shell} completion for imgdigest ${version}, made by \`imgdigest completion ${shell}\`.\n${install}\n`;
}

/** The bash completion script (bash 4.1 or later). */
export function bashScript(root: CompletionNode, version: string): string {
  return `${header(
    'bash',
    version,
    '# Load it from ~/.bashrc:  source <(imgdigest completion bash)\n# or save it as ~/.local/share/bash-completion/completions/imgdigest',
  )}
${caseTables(root, '_imgdigest', false)}
# The command path typed so far (flags and their values skipped), then what completes the word.
_imgdigest() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev='' cmdpath='' word i
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ $word == -* ]]; then
      _imgdigest_value "$cmdpath|$word"
      [[ -n $REPLY && \${COMP_WORDS[i + 1]} != = ]] && ((i++))
      continue
    fi
    _imgdigest_commands "$cmdpath"
    [[ " $REPLY " == *" $word "* ]] && cmdpath=\${cmdpath:+$cmdpath }$word
  done
  ((COMP_CWORD > 0)) && prev=\${COMP_WORDS[COMP_CWORD - 1]}
  # --flag=value: bash splits the word at the = sign.
  [[ $prev == = && COMP_CWORD -gt 1 ]] && prev=\${COMP_WORDS[COMP_CWORD - 2]}
  if [[ $prev == -* ]]; then
    _imgdigest_value "$cmdpath|$prev"
    if [[ -n $REPLY ]]; then
      _imgdigest_complete "$REPLY"
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    _imgdigest_flags "$cmdpath"
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
    return 0
  fi
  _imgdigest_commands "$cmdpath"
  if [[ -n $REPLY ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
    return 0
  fi
  _imgdigest_argument "$cmdpath"
  [[ -n $REPLY ]] && _imgdigest_complete "$REPLY"
  return 0
}

# Complete the current word as a value of kind $1 (file, dir, choice:WORDS, text).
_imgdigest_complete() {
  case $1 in
    file)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    dir)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    choice:*) mapfile -t COMPREPLY < <(compgen -W "\${1#choice:}" -- "$cur") ;;
    *) compopt +o default 2>/dev/null ;;
  esac
}

complete -o default -F _imgdigest imgdigest
`;
}

/** The zsh completion script (a `#compdef` function; also works when sourced after compinit). */
export function zshScript(root: CompletionNode, version: string): string {
  return `#compdef imgdigest
${header(
  'zsh',
  version,
  '# Save it as _imgdigest in a folder of $fpath, or load it from ~/.zshrc after compinit:\n#   source <(imgdigest completion zsh)',
)}
${caseTables(root, '_imgdigest', true)}
# The command path typed so far (flags and their values skipped), then what completes the word.
_imgdigest() {
  local cmdpath='' word prev i REPLY
  local -a reply names
  for ((i = 2; i < CURRENT; i++)); do
    word=$words[i]
    if [[ $word == -* ]]; then
      [[ $word == *=* ]] && continue
      _imgdigest_value "$cmdpath|$word"
      [[ -n $REPLY ]] && ((i++))
      continue
    fi
    _imgdigest_commands "$cmdpath"
    names=(\${reply%%:*})
    (( \${names[(Ie)$word]} )) && cmdpath=\${cmdpath:+$cmdpath }$word
  done
  prev=$words[CURRENT-1]
  if [[ $PREFIX == -*=* ]]; then
    prev=\${PREFIX%%=*}
    compset -P '*='
  fi
  if [[ $prev == -* ]]; then
    _imgdigest_value "$cmdpath|$prev"
    if [[ -n $REPLY ]]; then
      _imgdigest_complete "$REPLY"
      return
    fi
  fi
  if [[ $PREFIX == -* ]]; then
    _imgdigest_flags "$cmdpath"
    _describe -t options 'flag' reply
    return
  fi
  _imgdigest_commands "$cmdpath"
  if (( $#reply )); then
    _describe -t commands 'command' reply
    return
  fi
  _imgdigest_argument "$cmdpath"
  [[ -n $REPLY ]] && _imgdigest_complete "$REPLY"
}

# Complete the current word as a value of kind $1 (file, dir, choice:WORDS, text).
_imgdigest_complete() {
  case $1 in
    file) _files ;;
    dir) _files -/ ;;
    choice:*) compadd -- \${=1#choice:} ;;
    *) _message 'value' ;;
  esac
}

if [[ $funcstack[1] == _imgdigest ]]; then
  _imgdigest "$@"
else
  compdef _imgdigest imgdigest
fi
`;
}

/** The fish completion script. */
export function fishScript(root: CompletionNode, version: string): string {
  const all = nodes(root);
  const valued = all.flatMap((n) =>
    n.flags
      .filter((f) => f.value)
      .flatMap((f) => f.names.map((name) => quote(`${n.path.join(' ')}|${name}`))),
  );
  const parents = all.filter((n) => n.commands.length > 0);
  const lines: string[] = [];
  const at = (node: CompletionNode) => `-n ${quote(`__imgdigest_at ${quote(node.path.join(' '))}`)}`;
  for (const node of all) {
    for (const sub of node.commands) {
      lines.push(
        `complete -c imgdigest ${at(node)} -f -a ${quote(sub.path.at(-1)!)} -d ${quote(oneLine(sub.description))}`,
      );
    }
    for (const flag of node.flags) {
      const names = flag.names
        .map((n) => (n.startsWith('--') ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`))
        .join(' ');
      lines.push(
        `complete -c imgdigest ${at(node)} ${names}${fishValue(flag.value)} -d ${quote(oneLine(flag.description))}`,
      );
    }
    if (node.argument) lines.push(`complete -c imgdigest ${at(node)}${fishArgument(node.argument)}`);
  }
  return `${header(
    'fish',
    version,
    '# Save it as ~/.config/fish/completions/imgdigest.fish, or load it: imgdigest completion fish | source',
  )}
# "PATH|FLAG" of every flag that takes a value.
set -g __imgdigest_valued ${valued.join(' ')}

# The subcommands of each command path, as "PATH|NAME".
set -g __imgdigest_commands ${parents.flatMap((n) => n.commands.map((c) => quote(`${n.path.join(' ')}|${c.path.at(-1)}`))).join(' ')}

# The command path typed so far (flags and their values skipped).
function __imgdigest_path
    set -l cmdpath ''
    set -l skip 0
    for word in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case '--*=*'
                continue
            case '-*'
                contains -- "$cmdpath|$word" $__imgdigest_valued; and set skip 1
                continue
        end
        if contains -- "$cmdpath|$word" $__imgdigest_commands
            set cmdpath (string trim -- "$cmdpath $word")
        end
    end
    echo $cmdpath
end

function __imgdigest_at
    test (__imgdigest_path) = "$argv[1]"
end

complete -c imgdigest -f
${lines.join('\n')}
`;
}

function fishValue(kind: ValueKind | null): string {
  if (!kind) return ' -f';
  switch (kind.kind) {
    case 'file':
      return ' -r -F';
    case 'dir':
      return " -r -f -a '(__fish_complete_directories)'";
    case 'choice':
      return ` -r -f -a ${quote(kind.words.join(' '))}`;
    default:
      return ' -r -f';
  }
}

function fishArgument(kind: ValueKind): string {
  if (kind.kind === 'file') return ' -F';
  if (kind.kind === 'dir') return " -f -a '(__fish_complete_directories)'";
  if (kind.kind === 'choice') return ` -f -a ${quote(kind.words.join(' '))}`;
  return ' -f';
}

/** The script for `shell`. */
export function completionScript(shell: Shell, program: Command, version: string): string {
  const root = completionTree(program);
  if (shell === 'bash') return bashScript(root, version);
  if (shell === 'zsh') return zshScript(root, version);
  return fishScript(root, version);
}
