/**
 * @module cli/commands/webhook
 * `imgdigest webhook serve|certs|manifests`: run the admission webhook, make its certificates,
 * print what deploys it.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ImgdigestError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { collect, wholeNumber } from '../flags.js';
import { addRegistryOptions, type RegistryFlags, registryOptions } from '../options.js';
import { untilSignal } from '../signals.js';

interface ServeFlags extends RegistryFlags {
  tlsCert: string;
  tlsKey: string;
  addr: string;
  config?: string;
  metricsAddr?: string;
  dockerConfig?: string;
  logLevel: string;
}

interface CertsFlags {
  json?: boolean;
  service: string;
  namespace: string;
  out: string;
  days: string;
  newCa?: boolean;
  extraName: string[];
}

interface ManifestsFlags extends RegistryFlags {
  namespace: string;
  name: string;
  image?: string;
  replicas: string;
  caBundle?: string;
  tlsDir?: string;
  failurePolicy?: string;
  timeoutSeconds: string;
  mode: string;
  config?: string;
  dockerConfigSecret?: string;
  resolve: boolean;
  certManager?: boolean;
  networkPolicy?: boolean;
  metricsNamespace: string;
}

async function readText(file: string, what: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const { errorReason } = await import('../../core/errno.js');
    throw new ImgdigestError('INPUT_INVALID', `cannot read ${what} ${file}: ${errorReason(e)}`);
  }
}

export function registerWebhook(program: Command, ctx: CliContext): void {
  const webhook = program
    .command('webhook')
    .description('the admission webhook: validate digests, pin tags at admission (serve, certs, manifests)');
  registerServe(webhook, ctx);
  registerCerts(webhook, ctx);
  registerManifests(webhook, ctx);
}

function registerServe(webhook: Command, ctx: CliContext): void {
  const cmd = webhook
    .command('serve')
    .description('serve /validate and /mutate (AdmissionReview v1) over HTTPS until SIGINT or SIGTERM')
    .requiredOption('--tls-cert <file>', 'PEM serving certificate (reloaded when the file changes)')
    .requiredOption('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--addr <host:port>', 'address to listen on', '0.0.0.0:8443')
    .option('--config <file>', 'the rules file, with its webhook: section (reloaded when it changes)')
    .option('--metrics-addr <host:port>', 'serve /metrics over plain HTTP here instead of on --addr')
    .option(
      '--docker-config <file>',
      'registry credentials: a docker config.json or a mounted .dockerconfigjson',
    )
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info');
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
Endpoints: POST /validate, POST /mutate, GET /healthz, /readyz, /metrics (on --metrics-addr when
given, so a NetworkPolicy can open the webhook port to all and the metrics port to monitoring only).
Logs: one JSON line per admission on stdout (uid, kind, namespace, objectName, operation, verdict,
durationMs). Registry requests time out 2 s after the config's resolutionBudgetMs; a registry that
fails breakerFailures times in a row is not asked for breakerCoolDownSeconds. A refused connection
is not retried here (--retries still covers 408/429/5xx and resets): the budget would run out
waiting, and the breaker handles a registry that is down. The answer cache keeps at most the
config's cacheMaxEntries answers and cacheMaxBytes bytes of them (estimated per answer; 16 MiB by
default), evicting the least recently used. With the config's allowedRegistries (a list of hosts,
host:port or *.domain), no request goes to any other host, redirects and token realms included:
an image elsewhere is a resolution failure and failureMode decides.

Examples:
  $ imgdigest webhook certs --service imgdigest-webhook --namespace imgdigest-system --out certs
  $ imgdigest webhook serve --tls-cert certs/tls.crt --tls-key certs/tls.key --config rules.yaml
  $ imgdigest webhook serve --tls-cert /etc/tls/tls.crt --tls-key /etc/tls/tls.key \\
      --docker-config /etc/registry/.dockerconfigjson --metrics-addr 0.0.0.0:9090`,
  );
  cmd.action(async (flags: ServeFlags) => {
    const registry = await registryOptions(flags, ctx);
    if (cmd.getOptionValueSource('timeout') === 'default') delete registry.timeoutMs;
    if (flags.dockerConfig) {
      // A dockerconfigjson Secret has config.json's {"auths": ...} shape; it is consulted before
      // the usual places and re-read on each look-up. Check it now, not at the first pull.
      const { parseAuthFile } = await import('../../sources/registry/credentials/docker-config.js');
      parseAuthFile(await readText(flags.dockerConfig, 'docker config'), flags.dockerConfig);
      registry.authFile = resolve(ctx.io.cwd, flags.dockerConfig);
    }
    const { startWebhookServer } = await import('../../webhook/server.js');
    const { createLogger } = await import('../../webhook/logging.js');
    const logger = createLogger({ level: flags.logLevel });
    const running = await startWebhookServer({
      addr: flags.addr,
      tls: { certFile: flags.tlsCert, keyFile: flags.tlsKey },
      configFile: flags.config,
      metricsAddr: flags.metricsAddr,
      registry,
      logger,
      processMetrics: true,
    });
    if (!ctx.globals().quiet) ctx.err(`imgdigest webhook listening on ${running.url}`);
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping');
    await running.close();
  });
}

function registerCerts(webhook: Command, ctx: CliContext): void {
  webhook
    .command('certs')
    .description(
      'write a CA and a serving certificate for the webhook Service (ca.crt ca.key tls.crt tls.key caBundle)',
    )
    .requiredOption('--service <name>', 'the Service name')
    .requiredOption('--namespace <ns>', 'the Service namespace')
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .option('--days <n>', 'validity of the serving certificate in days', '365')
    .option('--new-ca', 'make a new CA even if DIR already holds ca.crt and ca.key')
    .option('--json', 'print {directory, files, caReused, notAfter, names} as JSON')
    .option(
      '--extra-name <name>',
      'another SAN, DNS name or IP (repeatable; e.g. localhost for tests)',
      collect,
      [],
    )
    .addHelpText(
      'after',
      `
The serving certificate names NAME, NAME.NS, NAME.NS.svc and NAME.NS.svc.cluster.local. When DIR
already holds ca.crt and ca.key they sign the new certificate, so caBundle stays the same and
the running webhook picks the new files up without a restart. Keys are written with mode 0600;
every file is written atomically.

Examples:
  $ imgdigest webhook certs --service imgdigest-webhook --namespace imgdigest-system --out certs
  $ kubectl -n imgdigest-system create secret tls imgdigest-webhook-tls --cert certs/tls.crt --key certs/tls.key`,
    )
    .action(async (flags: CertsFlags) => {
      const days = wholeNumber(flags.days, '--days', 1, 3650);
      const { generateCertificates, readCa, writeCertificates } = await import('../../webhook/certs.js');
      const ca = flags.newCa ? undefined : await readCa(flags.out);
      const certs = await generateCertificates({
        service: flags.service,
        namespace: flags.namespace,
        days,
        extraNames: flags.extraName,
        ...(ca ? { ca } : {}),
      });
      const files = await writeCertificates(flags.out, certs);
      if (flags.json) {
        ctx.json({
          directory: flags.out,
          files,
          caReused: Boolean(ca),
          notAfter: certs.notAfter.toISOString(),
          names: certs.dnsNames,
        });
        return;
      }
      if (!ctx.globals().quiet) {
        ctx.err(
          `${ca ? 'reused the CA in' : 'made a new CA in'} ${flags.out}; serving certificate valid until ${certs.notAfter.toISOString()}`,
        );
        ctx.err(`names: ${certs.dnsNames.join(', ')}`);
      }
      ctx.out(files.join('\n'));
    });
}

function registerManifests(webhook: Command, ctx: CliContext): void {
  const cmd = webhook
    .command('manifests')
    .description('print the YAML that deploys the webhook (Namespace ... WebhookConfigurations)')
    .option('--namespace <ns>', 'namespace of the webhook', 'imgdigest-system')
    .option(
      '--name <name>',
      'name of its Deployment, Service, ConfigMap and WebhookConfigurations',
      'imgdigest-webhook',
    )
    .option(
      '--image <image>',
      'the imgdigest image, pinned as NAME:TAG@DIGEST (default ghcr.io/imgdigest/imgdigest:<version>)',
    )
    .option('--no-resolve', 'keep --image as given: no registry lookup, the Deployment pulls by tag')
    .option('--replicas <n>', 'webhook replicas', '2')
    .option(
      '--ca-bundle <file>',
      'the CA that signed the serving certificate: PEM, or base64 of PEM (the caBundle file of webhook certs)',
    )
    .option(
      '--tls-dir <dir>',
      'also print the TLS Secret from DIR/tls.crt and DIR/tls.key (caBundle from DIR/ca.crt)',
    )
    .option(
      '--cert-manager',
      'let cert-manager issue the certificate and inject caBundle (Issuers, Certificates)',
    )
    .option(
      '--network-policy',
      'add a NetworkPolicy: webhook port from anywhere, metrics port from --metrics-namespace only',
    )
    .option(
      '--metrics-namespace <ns>',
      'with --network-policy: the namespace that scrapes /metrics',
      'monitoring',
    )
    .option('--failure-policy <policy>', 'Fail or Ignore (default: failurePolicy of --config)')
    .option('--timeout-seconds <n>', 'the API server waits this long for an answer (1-30)', '10')
    .option('--mode <mode>', 'validate, mutate or both', 'both')
    .option('--config <file>', 'the rules file to put into the ConfigMap (default: a safe starting point)')
    .option(
      '--docker-config-secret <name>',
      'mount this kubernetes.io/dockerconfigjson Secret for private registries',
    );
  addRegistryOptions(cmd).addHelpText(
    'after',
    `
The webhooks are validate.imgdigest.dev (/validate) and pin.imgdigest.dev (/mutate); registry
failures the mutating one admits are audited as pin.imgdigest.dev/resolve-error. --ca-bundle and
--tls-dir's ca.crt must hold PEM certificates (or base64 of them); anything else is refused.

The image is resolved at its registry (the registry flags apply) and the Deployment names it as
NAME:TAG@DIGEST, so every replica runs the same bytes; an image given with a digest is used as
is. A lookup that fails exits 3. --no-resolve prints the tag, with a warning.

Mutation is opt-in per namespace: kubectl label namespace NS imgdigest.dev/mutate=enabled.
kube-system and the webhook's own namespace are never sent to it. The webhook serves /metrics on
its own port (9090, Service port "metrics"), never on the webhook port.
deploy/ in the repository holds the same objects as a kustomize base and overlays.

Examples:
  $ imgdigest webhook certs --service imgdigest-webhook --namespace imgdigest-system --out certs
  $ imgdigest webhook manifests --image registry.example.com/imgdigest:0.1.0 --tls-dir certs | kubectl apply -f -
  $ imgdigest webhook manifests --image registry.example.com/imgdigest:0.1.0 --cert-manager --network-policy
  $ imgdigest webhook manifests --mode validate --failure-policy Ignore --config rules.yaml --no-resolve`,
  );
  cmd.action(async (flags: ManifestsFlags) => {
    const { parseWebhookConfig } = await import('../../webhook/config.js');
    const { DEFAULT_CONFIG_TEXT, renderManifests, webhookManifests } = await import(
      '../../webhook/manifests.js'
    );
    const mode = flags.mode;
    if (mode !== 'validate' && mode !== 'mutate' && mode !== 'both') {
      throw new ImgdigestError('USAGE', `--mode must be validate, mutate or both, got "${mode}"`);
    }
    if (
      flags.failurePolicy !== undefined &&
      flags.failurePolicy !== 'Fail' &&
      flags.failurePolicy !== 'Ignore'
    ) {
      throw new ImgdigestError(
        'USAGE',
        `--failure-policy must be Fail or Ignore, got "${flags.failurePolicy}"`,
      );
    }
    if (flags.certManager && (flags.caBundle || flags.tlsDir)) {
      throw new ImgdigestError(
        'USAGE',
        '--cert-manager issues the certificate and injects caBundle: drop --ca-bundle and --tls-dir',
      );
    }
    const { checkBudget, MAX_TIMEOUT_SECONDS } = await import('../../webhook/settings.js');
    const timeoutSeconds = wholeNumber(flags.timeoutSeconds, '--timeout-seconds', 1, MAX_TIMEOUT_SECONDS);
    const configText = flags.config ? await readText(flags.config, 'config') : DEFAULT_CONFIG_TEXT;
    const config = parseWebhookConfig(configText, flags.config ?? 'the default config');
    checkBudget(config.webhook, timeoutSeconds, { mode, timeoutName: '--timeout-seconds' });
    const { caBundleFromText } = await import('../../webhook/certs.js');
    let caBundle = flags.caBundle
      ? caBundleFromText(await readText(flags.caBundle, 'CA bundle'), `--ca-bundle ${flags.caBundle}`)
      : undefined;
    let tls: { cert: string; key: string } | undefined;
    if (flags.tlsDir) {
      const { join } = await import('node:path');
      tls = {
        cert: await readText(join(flags.tlsDir, 'tls.crt'), 'certificate'),
        key: await readText(join(flags.tlsDir, 'tls.key'), 'key'),
      };
      if (!caBundle) {
        const caFile = join(flags.tlsDir, 'ca.crt');
        caBundle = caBundleFromText(await readText(caFile, 'CA certificate'), `--tls-dir ${caFile}`);
      }
    }
    const replicas = wholeNumber(flags.replicas, '--replicas', 1, 100);
    const image = await deploymentImage(flags, ctx);
    const objects = webhookManifests({
      namespace: flags.namespace,
      name: flags.name,
      image,
      replicas,
      failurePolicy: (flags.failurePolicy as 'Fail' | 'Ignore' | undefined) ?? config.rules.failurePolicy,
      timeoutSeconds,
      mode,
      configText,
      ...(caBundle ? { caBundle } : {}),
      ...(tls ? { tls } : {}),
      ...(flags.dockerConfigSecret ? { dockerConfigSecret: flags.dockerConfigSecret } : {}),
      ...(flags.certManager ? { certManager: true } : {}),
      ...(flags.networkPolicy ? { networkPolicy: true, metricsNamespace: flags.metricsNamespace } : {}),
    });
    if (!caBundle && !flags.certManager && !ctx.globals().quiet) {
      ctx.err(
        'imgdigest: no --ca-bundle, --tls-dir or --cert-manager: set caBundle in the WebhookConfigurations',
      );
    }
    ctx.io.stdout.write(renderManifests(objects));
  });
}

/** The image for the Deployment: NAME:TAG@DIGEST unless it has a digest already or --no-resolve. */
async function deploymentImage(flags: ManifestsFlags, ctx: CliContext): Promise<string> {
  const image = flags.image ?? (await defaultImage());
  const { parseReference } = await import('../../core/reference.js');
  const pinned = parseReference(image).digest !== null;
  if (!flags.resolve || pinned) {
    if (!pinned && !ctx.globals().quiet) {
      ctx.err(`imgdigest: --no-resolve: the Deployment pulls ${image} by tag, not by digest`);
    }
    return image;
  }
  const { imageByDigest } = await import('../../webhook/manifests.js');
  const { openResolver } = await import('../../resolver/open.js');
  const resolver = await openResolver({ registry: await registryOptions(flags, ctx) });
  try {
    return await imageByDigest(image, resolver);
  } finally {
    await resolver.close();
  }
}

async function defaultImage(): Promise<string> {
  const { packageVersion } = await import('../version.js');
  return `ghcr.io/imgdigest/imgdigest:${packageVersion()}`;
}
