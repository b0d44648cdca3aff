/**
 * @module registry-server/route-context
 * What every endpoint handler of the embedded registry receives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RepoName } from './names.js';
import type { Registry } from './registry.js';
import type { UploadManager } from './uploads.js';

/** Where the registry writes what it has to say (pino's methods fit). */
export interface RegistryLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that says nothing. */
export const silentLogger: RegistryLogger = { info() {}, warn() {}, error() {} };

export interface RouteContext {
  registry: Registry;
  uploads: UploadManager;
  req: IncomingMessage;
  res: ServerResponse;
  /** The validated repository name (empty for routes without one). */
  name: RepoName;
  query: URLSearchParams;
  /** The URL path without its query, as sent (undecoded). */
  path: string;
  head: boolean;
  log: RegistryLogger;
}
