/**
 * @module cli/commands
 * The list of commands, in the order `imgdigest --help` shows them. Each is a name and how to load
 * its module: a run loads only the module of the command it names (all of them for the program's
 * help), so start-up does not grow with the number of commands. The name must be the one the
 * module registers (a test checks).
 */
import type { CommandModule } from '../context.js';

export interface CommandEntry {
  /** The name the module registers with `program.command()`. */
  name: string;
  /** Its module's register function, loaded on demand. */
  load(): Promise<CommandModule>;
}

export const commands: CommandEntry[] = [
  // find
  { name: 'digest', load: async () => (await import('./digest.js')).registerDigest },
  { name: 'ref', load: async () => (await import('./ref.js')).registerRef },
  // explore
  { name: 'manifest', load: async () => (await import('./manifest.js')).registerManifest },
  { name: 'index', load: async () => (await import('./index-list.js')).registerIndex },
  { name: 'config', load: async () => (await import('./config.js')).registerConfig },
  { name: 'blob', load: async () => (await import('./blob.js')).registerBlob },
  { name: 'files', load: async () => (await import('./files.js')).registerFiles },
  { name: 'tags', load: async () => (await import('./tags.js')).registerTags },
  { name: 'catalog', load: async () => (await import('./catalog.js')).registerCatalog },
  { name: 'inspect', load: async () => (await import('./inspect.js')).registerInspect },
  { name: 'referrers', load: async () => (await import('./referrers.js')).registerReferrers },
  { name: 'ratelimit', load: async () => (await import('./ratelimit.js')).registerRatelimit },
  { name: 'images', load: async () => (await import('./images.js')).registerImages },
  { name: 'explore', load: async () => (await import('./explore.js')).registerExplore },
  // write
  { name: 'tag', load: async () => (await import('./tag.js')).registerTag },
  { name: 'delete', load: async () => (await import('./delete.js')).registerDelete },
  // credentials
  { name: 'login', load: async () => (await import('./login.js')).registerLogin },
  { name: 'logout', load: async () => (await import('./login.js')).registerLogout },
  // copy between registries
  { name: 'copy', load: async () => (await import('./copy.js')).registerCopy },
  { name: 'mirror', load: async () => (await import('./mirror.js')).registerMirror },
  // pin and enforce
  { name: 'check', load: async () => (await import('./check.js')).registerCheck },
  { name: 'pin', load: async () => (await import('./pin.js')).registerPin },
  { name: 'relocate', load: async () => (await import('./relocate.js')).registerRelocate },
  { name: 'outdated', load: async () => (await import('./outdated.js')).registerOutdated },
  { name: 'krm', load: async () => (await import('./krm.js')).registerKrm },
  { name: 'policy', load: async () => (await import('./policy.js')).registerPolicy },
  // serve
  { name: 'webhook', load: async () => (await import('./webhook.js')).registerWebhook },
  { name: 'registry', load: async () => (await import('./registry.js')).registerRegistry },
  { name: 'demo', load: async () => (await import('./demo.js')).registerDemo },
  // the command line itself
  { name: 'completion', load: async () => (await import('./completion.js')).registerCompletion },
  { name: 'version', load: async () => (await import('./version.js')).registerVersion },
];
