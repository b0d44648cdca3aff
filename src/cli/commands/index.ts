/**
 * @module cli/commands
 * The list of commands, in the order `imgdigest --help` shows them.
 */
import type { CommandModule } from '../context.js';
import { registerBlob } from './blob.js';
import { registerCatalog } from './catalog.js';
import { registerCheck } from './check.js';
import { registerCompletion } from './completion.js';
import { registerConfig } from './config.js';
import { registerCopy } from './copy.js';
import { registerDelete } from './delete.js';
import { registerDemo } from './demo.js';
import { registerDigest } from './digest.js';
import { registerExplore } from './explore.js';
import { registerFiles } from './files.js';
import { registerImages } from './images.js';
import { registerIndex } from './index-list.js';
import { registerInspect } from './inspect.js';
import { registerKrm } from './krm.js';
import { registerLogin, registerLogout } from './login.js';
import { registerManifest } from './manifest.js';
import { registerMirror } from './mirror.js';
import { registerOutdated } from './outdated.js';
import { registerPin } from './pin.js';
import { registerPolicy } from './policy.js';
import { registerRatelimit } from './ratelimit.js';
import { registerRef } from './ref.js';
import { registerReferrers } from './referrers.js';
import { registerRegistry } from './registry.js';
import { registerRelocate } from './relocate.js';
import { registerTag } from './tag.js';
import { registerTags } from './tags.js';
import { registerVersion } from './version.js';
import { registerWebhook } from './webhook.js';

export const commands: CommandModule[] = [
  // find
  registerDigest,
  registerRef,
  // explore
  registerManifest,
  registerIndex,
  registerConfig,
  registerBlob,
  registerFiles,
  registerTags,
  registerCatalog,
  registerInspect,
  registerReferrers,
  registerRatelimit,
  registerImages,
  registerExplore,
  // write
  registerTag,
  registerDelete,
  // credentials
  registerLogin,
  registerLogout,
  registerCopy,
  registerMirror,
  // pin and enforce
  registerCheck,
  registerPin,
  registerRelocate,
  registerOutdated,
  registerKrm,
  registerPolicy,
  // serve
  registerWebhook,
  registerRegistry,
  registerDemo,
  // the command line itself
  registerCompletion,
  registerVersion,
];
