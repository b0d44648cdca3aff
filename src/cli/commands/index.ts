/**
 * @module cli/commands
 * The list of commands, in the order `imgdigest --help` shows them.
 */
import type { CommandModule } from '../context.js';
import { registerRef } from './ref.js';

export const commands: CommandModule[] = [registerRef];
