/**
 * @module webhook/reload
 * Hot reloads of the mounted files: the TLS pair (installed with `setSecureContext`, so open
 * connections keep going and new handshakes get the new certificate) and the rules file. A change
 * that cannot be used (a certificate written before its key, a rules file with a typo) is refused:
 * the webhook keeps serving with what it has, logs why, and counts it.
 */
import { readFile } from 'node:fs/promises';
import { loadWebhookConfig, type WebhookConfig } from './config.js';
import type { Logger } from './logging.js';
import type { WebhookMetrics } from './metrics.js';
import { checkTlsPair, type TlsFiles, type TlsMaterial } from './tls.js';
import { ContentWatcher, type WatchOptions } from './watch.js';

export interface ReloadContext {
  logger: Logger;
  metrics: WebhookMetrics;
  watch?: WatchOptions;
}

function watchOptions(context: ReloadContext): WatchOptions {
  return { ...context.watch, onError: (e) => context.logger.debug({ err: { message: e.message } }, 'watch') };
}

/** Call `install` with every new, matching certificate and key. */
export function watchTls(
  files: TlsFiles,
  current: TlsMaterial,
  install: (material: TlsMaterial) => void,
  context: ReloadContext,
): ContentWatcher {
  const { logger, metrics } = context;
  return new ContentWatcher(
    [files.certFile, files.keyFile],
    [current.cert, current.key],
    ([cert, key]) => {
      let material: TlsMaterial;
      try {
        material = checkTlsPair(cert!, key!, `${files.certFile} + ${files.keyFile}`);
      } catch (e) {
        // A certificate written before its key looks like this for a moment: keep the old pair.
        metrics.tlsReloaded(false);
        logger.warn(
          { err: { message: (e as Error).message } },
          'TLS files changed but are not usable yet; keeping the current certificate',
        );
        return false;
      }
      install(material);
      metrics.tlsReloaded(true);
      logger.info(
        { serialNumber: material.serialNumber, notAfter: material.notAfter.toISOString() },
        'TLS certificate reloaded',
      );
      return true;
    },
    watchOptions(context),
  );
}

/** Call `apply` with every new, valid configuration read from `file`. */
export async function watchConfig(
  file: string,
  apply: (config: WebhookConfig) => void,
  context: ReloadContext,
): Promise<ContentWatcher> {
  const { logger, metrics } = context;
  const current = await readFile(file).catch(() => Buffer.alloc(0));
  return new ContentWatcher(
    [file],
    [current],
    async () => {
      try {
        apply(await loadWebhookConfig(file));
      } catch (e) {
        metrics.configReloaded(false);
        logger.error(
          { err: { message: (e as Error).message } },
          'config changed but is invalid; keeping the current one',
        );
        return false;
      }
      metrics.configReloaded(true);
      logger.info({ source: file }, 'config reloaded');
      return true;
    },
    watchOptions(context),
  );
}
