/**
 * @module cli/commands/completion
 * `imgdigest completion bash|zsh|fish`: the shell completion script, generated from the command
 * tree (see ../completion.ts).
 */
import { Argument, type Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerCompletion(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      `
Commands, subcommands and flags complete; flag values complete to files, folders or the choices
the flag accepts, and a reference to file names (oci:DIR, docker-archive:FILE).

Examples:
  $ source <(imgdigest completion bash)          # in ~/.bashrc
  $ imgdigest completion zsh > "\${fpath[1]}/_imgdigest"
  $ imgdigest completion fish > ~/.config/fish/completions/imgdigest.fish`,
    )
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      const { buildProgram } = await import('../main.js');
      const { completionScript } = await import('../completion.js');
      const { packageVersion } = await import('../version.js');
      // The whole tree: this run registered only the completion command.
      ctx.io.stdout.write(completionScript(shell, await buildProgram(ctx), packageVersion()));
    });
}
