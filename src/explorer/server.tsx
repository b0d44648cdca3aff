/**
 * @module explorer/server
 * `imgdigest explore`: a web explorer for images, a thin HTTP shell over the library's sources.
 *
 * Built on hono: its JSX renderer escapes every interpolated value (annotations, labels and file
 * names come from whoever built the image), its router gives typed handlers, and its streaming
 * helpers give chunked HTML and server-sent events; it has no runtime dependencies of its own, and
 * `@hono/node-server` runs it on node:http.
 *
 * @example
 * const explorer = await startExplorer({ addr: '127.0.0.1:0' });
 * console.log(explorer.url); // http://127.0.0.1:PORT/
 * await explorer.close();
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { type Address, isLocal, parseAddress, pinnedDigest, urls } from './address.js';
import { ASSETS } from './assets.js';
import { compareRoutes } from './compare-routes.js';
import { cacheFor, errorAnswer, hostAllowed, securityHeaders, wantsJson } from './http.js';
import { k8sRoutes } from './k8s-routes.js';
import { layerRoutes } from './layer-routes.js';
import {
  configuredRegistries,
  ImgdigestError,
  isLoopbackHost,
  listenError,
  parseReference,
} from './library.js';
import {
  catalogModel,
  configModel,
  groupTags,
  imageModel,
  repoPage,
  resolveTags,
  type TagModel,
} from './models.js';
import { type Env, page, rest } from './render.js';
import { type ExplorerOptions, ExplorerState } from './state.js';
import { ImagePage } from './views/image.js';
import { CatalogPage, ConfigPage, ErrorPage, RepoPage, StartPage } from './views/pages.js';

/** The explorer as a hono app (tests and the CLI serve it; `state` holds the client and caches). */
export function createExplorerApp(state: ExplorerState, options: { loopbackOnly: boolean }): Hono<Env> {
  const app = new Hono<Env>();

  app.use('*', async (c, next) => {
    securityHeaders(c);
    if (!hostAllowed(c.req.header('host'), options.loopbackOnly)) {
      return c.text(
        'imgdigest explore: this explorer answers only to a loopback host name (DNS rebinding refused)',
        421,
      );
    }
    c.set('state', state);
    c.set('signal', AbortSignal.timeout(state.options.pageTimeoutMs ?? 120_000));
    await next();
  });

  app.onError(async (error, c) => {
    const answer = errorAnswer(error);
    securityHeaders(c);
    // An error is never the immutable answer a digest names.
    c.header('ETag', undefined);
    c.header('Cache-Control', 'no-store');
    if (wantsJson(c)) return c.json({ error: answer }, answer.status as 400);
    return page(c, <ErrorPage {...answer} />, answer.status);
  });

  app.notFound(async (c) => {
    const answer = {
      status: 404,
      code: 'NOT_FOUND',
      message: `no page at ${new URL(c.req.url).pathname}`,
      exitCode: 3,
    };
    if (wantsJson(c)) return c.json({ error: answer }, 404);
    return page(c, <ErrorPage {...answer} />, 404);
  });

  app.get('/static/:file', (c) => {
    const asset = ASSETS[c.req.param('file')];
    if (!asset) return c.notFound();
    c.header('Content-Type', asset.type);
    c.header('ETag', asset.etag);
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
    return c.body(asset.body);
  });

  app.get('/', async (c) => {
    const local = state.options.localSources !== false;
    const registries =
      state.options.allowedRegistries ??
      configuredRegistries(state.options.env ? { env: state.options.env } : {});
    const model = { initial: state.options.initial ?? null, registries, localSources: local };
    if (wantsJson(c)) return c.json(model);
    return page(c, <StartPage initial={model.initial} registries={registries} local={local} />);
  });

  /** What someone typed: a registry host, a repository, or a reference or source. */
  app.get('/go', (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (!q) return c.redirect('/', 303);
    return c.redirect(destination(q), 303);
  });

  app.get('/registry/:host', async (c) => {
    const host = c.req.param('host');
    const model = await catalogModel(state, host, c.req.query('last'), c.get('signal'));
    cacheFor(c, null);
    if (wantsJson(c)) return c.json(model);
    return page(c, <CatalogPage model={model} />);
  });

  app.get('/repo/*', async (c) => {
    const text = rest(c, 'repo');
    const address = repoAddress(text);
    const last = c.req.query('last');
    const model = await repoPage(state, address, last, c.get('signal'));
    cacheFor(c, null);
    const resolveAll = !model.resolved && (wantsJson(c) || c.req.query('resolve') === 'all');
    if (resolveAll) {
      const byTag = new Map<string, TagModel>();
      await resolveTags(
        state,
        address,
        model.tags.map((t) => t.tag),
        (t) => byTag.set(t.tag, t),
        c.get('signal'),
      );
      model.tags = model.tags.map((t) => byTag.get(t.tag) ?? t);
      model.resolved = true;
    }
    if (wantsJson(c)) return c.json(model);
    const query = last ? `?last=${encodeURIComponent(last)}` : '';
    return page(
      c,
      <RepoPage
        model={model}
        address={address}
        groups={model.resolved ? groupTags(model.tags) : null}
        events={model.resolved ? null : urls.tagEvents(text, query)}
      />,
    );
  });

  /** Server-sent events: each tag's digest as its HEAD answers (bounded concurrency). */
  app.get('/events/tags/*', async (c) => {
    const address = repoAddress(rest(c, 'events/tags'));
    const model = await repoPage(state, address, c.req.query('last'), c.get('signal'));
    c.header('Cache-Control', 'no-store');
    return streamSSE(c, async (s) => {
      const aborted = new AbortController();
      s.onAbort(() => aborted.abort());
      const signal = AbortSignal.any([aborted.signal, c.get('signal')]);
      const writes: Promise<void>[] = [];
      await resolveTags(
        state,
        address,
        model.tags.map((t) => t.tag),
        (t) => {
          writes.push(s.writeSSE({ event: 'tag', data: JSON.stringify(t) }));
        },
        signal,
      );
      await Promise.all(writes);
      await s.writeSSE({
        event: 'done',
        data: JSON.stringify({ tags: model.tags.length, next: model.next }),
      });
    });
  });

  app.get('/image/*', async (c) => {
    const address = parseAddress(rest(c, 'image'));
    if (cacheFor(c, pinnedDigest(address))) return c.body(null, 304);
    const model = await imageModel(state, address, c.get('signal'));
    if (wantsJson(c)) return c.json(model);
    return page(c, <ImagePage model={model} address={address} />);
  });

  app.get('/config/*', async (c) => {
    const address = parseAddress(rest(c, 'config'));
    if (cacheFor(c, pinnedDigest(address))) return c.body(null, 304);
    const model = await configModel(state, address, c.get('signal'));
    if (wantsJson(c)) return c.json(model);
    return page(c, <ConfigPage model={model} address={address} />);
  });

  layerRoutes(app, state);
  compareRoutes(app, state);
  k8sRoutes(app, state);
  return app;
}

/** `/go?q=`: a host alone goes to its catalog, a repository to its tags, anything else to its page. */
export function destination(q: string): string {
  if (isLocal(q)) {
    const a = parseAddress(q);
    return a.kind === 'local' && a.digest === null && /^oci:[^:]*$/.test(a.open)
      ? urls.repo(a.open)
      : urls.image(q);
  }
  const text = q.replace(/^docker:\/\//, '').replace(/\/+$/, '');
  if (
    !text.includes('/') &&
    (text.includes('.') || text.includes(':') || text === 'localhost') &&
    !text.includes('@')
  ) {
    return urls.registry(text);
  }
  const ref = parseReference(text);
  if (!ref.tag && !ref.digest) return urls.repo(ref.repository);
  return urls.image(text);
}

function repoAddress(text: string): Address {
  if (isLocal(text)) return parseAddress(text);
  const ref = parseReference(text);
  return { kind: 'registry', ref: ref.repositoryOnly() };
}

export interface StartExplorerOptions extends ExplorerOptions {
  /** `host:port` to listen on (default `127.0.0.1:8080`; port 0 picks one). */
  addr?: string;
  /** Allow a non-loopback address (needs `allowedRegistries`). */
  allowRemote?: boolean;
}

export interface RunningExplorer {
  /** `http://HOST:PORT/`. */
  readonly url: string;
  readonly port: number;
  readonly state: ExplorerState;
  close(): Promise<void>;
}

/** Parse `host:port` (IPv6 in brackets). */
export function parseListen(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) throw new ImgdigestError('USAGE', `--addr must be HOST:PORT, got "${addr}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new ImgdigestError('USAGE', `--addr port must be at most 65535, got ${port}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/**
 * Start the explorer. A non-loopback address needs `allowRemote` and a list of registries: the
 * explorer must not become a proxy into the network it runs in.
 */
export async function startExplorer(options: StartExplorerOptions = {}): Promise<RunningExplorer> {
  const { host, port } = parseListen(options.addr ?? '127.0.0.1:8080');
  const loopback = isLoopbackHost(host.includes(':') ? `[${host}]` : host);
  if (!loopback) {
    if (!options.allowRemote) {
      throw new ImgdigestError(
        'USAGE',
        `refusing to listen on ${host}: the explorer listens on loopback unless --allow-remote is given (with --registry for each registry it may contact)`,
      );
    }
    if (!options.allowedRegistries || options.allowedRegistries.length === 0) {
      throw new ImgdigestError(
        'USAGE',
        '--allow-remote needs at least one --registry: the explorer contacts only the registries listed',
      );
    }
  }
  // A remote explorer opens no local source but the one named on its command line.
  const initialLocal = options.initial && isLocal(options.initial) ? parseAddress(options.initial) : null;
  const state = new ExplorerState(
    loopback
      ? options
      : {
          ...options,
          localSources: false,
          allowedSources: initialLocal?.kind === 'local' ? [initialLocal.open] : [],
        },
  );
  const app = createExplorerApp(state, { loopbackOnly: loopback });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', (error) =>
      reject(listenError(error, `${host.includes(':') ? `[${host}]` : host}:${port}`, '--addr')),
    );
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/`,
    port: bound,
    state,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await state.close();
    },
  };
}
