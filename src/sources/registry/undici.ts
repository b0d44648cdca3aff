/**
 * @module registry/undici
 * The parts of undici the registry client uses, loaded on their own.
 *
 * `import 'undici'` evaluates the whole library (fetch, WebSocket, caches, mocks, every
 * interceptor): about 170 ms on these machines, most of a short `imgdigest digest` run. The agent,
 * the proxy agent and `request()` alone load in about 40 ms. undici has no `exports` map, so its
 * `lib/` files are reachable; the version is pinned exactly in package.json because these paths
 * are not its public API, and loading this module checks them against the installed version.
 *
 * They are static imports (an ES module importing CommonJS gets `module.exports` as its default),
 * not `createRequire()` calls, so that the CLI bundle (scripts/bundle-cli.mjs) can include them:
 * one file read instead of forty `require()` resolutions at every start.
 */
import type * as Undici from 'undici';
import dispatcherRequest from 'undici/lib/api/api-request.js';
import api from 'undici/lib/api/index.js';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import ClientClass from 'undici/lib/dispatcher/client.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import EnvHttpProxyAgentClass from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import PoolClass from 'undici/lib/dispatcher/pool.js';

// What undici's index.js does besides loading everything: give every dispatcher the request API
// (`request`, `connect`, `stream`, ...). The proxy agent, for one, tunnels with `connect()`.
Object.assign(DispatcherClass.prototype, api);

export const Agent: typeof Undici.Agent = AgentClass;
export const EnvHttpProxyAgent: typeof Undici.EnvHttpProxyAgent = EnvHttpProxyAgentClass;
export const Client: typeof Undici.Client = ClientClass;
export type Client = Undici.Client;
export const Pool: typeof Undici.Pool = PoolClass;
export type Pool = Undici.Pool;

export type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'> & {
  dispatcher: Undici.Dispatcher;
};

/**
 * undici's `request()` for an origin and a path (with its query) and an explicit dispatcher.
 * `options` is a fresh object of the caller's: it gets `origin` and `path` and is handed on as it
 * is (no copy per request; undici reads the fields it knows and ignores `dispatcher`).
 */
export function request(
  target: { readonly origin: string; readonly path: string },
  options: RequestOptions,
): Promise<Undici.Dispatcher.ResponseData> {
  const sent = options as RequestOptions & Pick<Undici.Dispatcher.RequestOptions, 'origin' | 'path'>;
  sent.origin = target.origin;
  sent.path = target.path;
  return dispatcherRequest.call(options.dispatcher, sent);
}

export type { Dispatcher } from 'undici';
