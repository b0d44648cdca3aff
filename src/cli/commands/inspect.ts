/**
 * @module cli/commands/inspect
 * `imgdigest inspect REF`: a human summary of what a reference names. The digest printed is always
 * said to be an index or a manifest digest, so nobody pins the wrong one by accident.
 */
import type { Command } from 'commander';
import { escapeText, jsonText } from '../../core/terminal-text.js';
import type { CliContext } from '../context.js';
import { platformJson } from '../json.js';
import { addRegistryOptions, type RegistryFlags } from '../options.js';
import { withSource } from '../source.js';
import { humanSize } from '../table.js';

interface InspectFlags extends RegistryFlags {
  platform?: string;
  json?: boolean;
}

/** This machine's architecture as a Linux platform (what `docker run` here would pull). */
async function hostLinuxPlatform(): Promise<string> {
  const { formatPlatform, hostPlatform } = await import('../../core/platform.js');
  return formatPlatform({ ...hostPlatform(), os: 'linux' });
}

export function registerInspect(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('inspect')
    .description(
      'summarise an image: digest and its kind, platforms, created, entrypoint, env, ports, layers, referrers',
    )
    .argument('<reference>', 'registry reference or oci:/docker-archive:/docker-daemon: source')
    .option(
      '-p, --platform <os/arch[/variant]>',
      'for an index: the platform to describe (default: this host, when offered)',
    )
    .option('--json', 'print the summary as JSON');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Example:
  $ imgdigest inspect --platform linux/arm64 localhost:5000/sample/app:1.0`,
  );
  cmd.action(async (input: string, flags: InspectFlags) => {
    await withSource(input, flags, ctx, async (source) => {
      const { describeImage } = await import('../../sources/describe.js');
      const summary = {
        reference: input,
        ...(await describeImage(source, {
          ...(flags.platform === undefined ? {} : { platform: flags.platform }),
          preferredPlatform: await hostLinuxPlatform(),
        })),
      };
      if (flags.json) {
        const { image } = summary;
        ctx.json({
          ...summary,
          platforms: summary.platforms.map(platformJson),
          image: image && { ...image, platform: platformJson(image.platform) },
        });
        return;
      }
      // Everything below but our own words comes from the image (config, annotations): escaped.
      const e = escapeText;
      const lines: string[] = [];
      lines.push(`Reference:   ${e(input)}`);
      lines.push(
        `Digest:      ${summary.digest} (${summary.kind === 'index' ? 'index: covers every platform' : 'image manifest'})`,
      );
      lines.push(`Media type:  ${e(summary.mediaType)}`);
      if (summary.kind === 'index') {
        lines.push(
          `Platforms:   ${e(summary.platforms.join(', ')) || '(none)'}${summary.attestations ? ` (+${summary.attestations} attestation)` : ''}`,
        );
      }
      if (summary.image) {
        const i = summary.image;
        if (summary.kind === 'index') {
          lines.push('');
          lines.push(
            `Image for ${e(String(i.platform))}${flags.platform ? '' : ' (this host; --platform to choose)'}:`,
          );
          lines.push(`Digest:      ${i.digest} (manifest)`);
        }
        lines.push(`Config:      ${i.config}`);
        if (i.created) lines.push(`Created:     ${e(i.created)}`);
        if (i.entrypoint) lines.push(`Entrypoint:  ${jsonText(i.entrypoint)}`);
        if (i.cmd) lines.push(`Cmd:         ${jsonText(i.cmd)}`);
        if (i.workingDir) lines.push(`WorkingDir:  ${e(i.workingDir)}`);
        if (i.user) lines.push(`User:        ${e(i.user)}`);
        if (i.exposedPorts.length) lines.push(`Ports:       ${e(i.exposedPorts.join(', '))}`);
        if (i.env.length) lines.push(`Env:         ${i.env.map(e).join('\n             ')}`);
        const labels = Object.entries(i.labels);
        if (labels.length)
          lines.push(`Labels:      ${labels.map(([k, v]) => e(`${k}=${v}`)).join('\n             ')}`);
        lines.push(`Layers:      ${i.layers.length} (${humanSize(i.totalSize)})`);
        for (const l of i.layers)
          lines.push(`  ${l.digest}  ${humanSize(l.size).padStart(10)}  ${e(l.mediaType)}`);
      } else if (summary.kind === 'index') {
        lines.push("(pass --platform to describe one platform's image)");
      }
      if (summary.referrers.length) {
        lines.push(`Referrers:   ${summary.referrers.length}`);
        for (const r of summary.referrers) lines.push(`  ${r.digest}  ${e(r.artifactType)}`);
      }
      for (const note of summary.facts?.notes ?? []) lines.push(`Note:        ${e(note)}`);
      ctx.out(lines.join('\n'));
    });
  });
}
