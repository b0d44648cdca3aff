/**
 * @module registry/undici
 * The parts of undici the registry client uses, loaded on their own.
 *
 * `import 'undici'` evaluates the whole library (fetch, WebSocket, caches, mocks, every
 * interceptor): about 170 ms on these machines, most of a short `imgdigest digest` run. The agent,
 * the proxy agent and `request()` alone load in about 40 ms. undici has no `exports` map, so its
 * `lib/` files are reachable; the version is pinned exactly in package.json because these paths
 * are not its public API, and a test loads them from the installed version.
 */
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

// What undici's index.js does besides loading everything: give every dispatcher the request API
// (`request`, `connect`, `stream`, ...). The proxy agent, for one, tunnels with `connect()`.
const dispatcherPrototype = (require('undici/lib/dispatcher/dispatcher.js') as { prototype: object })
  .prototype;
Object.assign(dispatcherPrototype, require('undici/lib/api/index.js'));

export const Agent: typeof Undici.Agent = require('undici/lib/dispatcher/agent.js');
export const EnvHttpProxyAgent: typeof Undici.EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent.js');
export const Client: typeof Undici.Client = require('undici/lib/dispatcher/client.js');

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'> & {
  dispatcher: Undici.Dispatcher;
};

const dispatcherRequest: (
  this: Undici.Dispatcher,
  options: Undici.Dispatcher.RequestOptions,
) => Promise<Undici.Dispatcher.ResponseData> = require('undici/lib/api/api-request.js');

/** undici's `request(url, options)`, for a URL and an explicit dispatcher. */
export function request(url: URL, options: RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  return dispatcherRequest.call(dispatcher, {
    ...rest,
    origin: url.origin,
    path: url.search ? `${url.pathname}${url.search}` : url.pathname,
  });
}

export type { Dispatcher } from 'undici';
