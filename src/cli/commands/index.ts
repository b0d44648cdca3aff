/**
 * @module cli/commands
 * The list of commands, in the order `imgdigest --help` shows them.
 */
import type { CommandModule } from '../context.js';
import { registerImages } from './images.js';
import { registerRef } from './ref.js';
import { registerRegistry } from './registry.js';

export const commands: CommandModule[] = [registerRef, registerImages, registerRegistry];
