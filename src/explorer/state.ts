/**
 * @module explorer/state
 * What an explorer keeps between requests: one registry client (with the host allow-list when the
 * explorer serves a network), the local sources it has opened, and the layer listing cache.
 */
import { type Address, identifierOf } from './address.js';
import { LayerCache } from './layer-cache.js';
import {
  compileAllowList,
  type ImageSource,
  ImgdigestError,
  openResolver,
  openSource,
  RegistryClient,
  type RegistryClientOptions,
} from './library.js';

export interface ExplorerOptions {
  /** Registry client options (credentials, TLS, timeouts): the CLI's registry flags. */
  registry?: RegistryClientOptions;
  /**
   * Registries (and token or storage hosts) the explorer may contact; every other host is refused
   * by the client's transport. Unset: any registry (a loopback explorer, like the CLI).
   */
  allowedRegistries?: string[];
  /** Whether pages may open local sources (`oci:`, `docker-archive:`, `docker-daemon:`); default true. */
  localSources?: boolean;
  /** Local sources allowed even when `localSources` is false (the one given on the command line). */
  allowedSources?: string[];
  /** `DOCKER_HOST` for `docker-daemon:`. */
  dockerHost?: string;
  /** The rules file the Kubernetes page uses (the CLI's `--rules`). */
  rulesFile?: string;
  /** Bytes of layer listings kept in memory (default 256 MiB). */
  layerCacheBytes?: number;
  /** Time budget of one page, in ms (default 120 000); layer listings get `layerTimeoutMs`. */
  pageTimeoutMs?: number;
  /** Time budget of one layer listing or file read, in ms (default 600 000). */
  layerTimeoutMs?: number;
  /** What the command line named, shown on the start page. */
  initial?: string;
  /** Environment (docker config look-up for the start page). */
  env?: NodeJS.ProcessEnv;
}

export class ExplorerState {
  readonly options: ExplorerOptions;
  readonly client: RegistryClient;
  readonly layers: LayerCache;
  readonly #local = new Map<string, Promise<ImageSource>>();
  #resolver: ReturnType<typeof openResolver> | null = null;

  constructor(options: ExplorerOptions = {}) {
    this.options = options;
    const registry: RegistryClientOptions = { ...options.registry };
    if (options.allowedRegistries) {
      compileAllowList(options.allowedRegistries); // fail early on a bad entry
      registry.allowedHosts = options.allowedRegistries;
    }
    this.client = new RegistryClient(registry);
    this.layers = new LayerCache(options.layerCacheBytes ?? 256 * 1024 * 1024);
  }

  /** A source for the address (registry sources share the client; local ones are opened once). */
  async source(address: Address): Promise<ImageSource> {
    if (address.kind === 'registry') return this.client.openSource(address.ref);
    const allowed =
      this.options.localSources !== false || (this.options.allowedSources ?? []).includes(address.open);
    if (!allowed) {
      throw new ImgdigestError(
        'HOST_NOT_ALLOWED',
        `local sources are not served by this explorer (it was started with --allow-remote); only ${(this.options.allowedSources ?? []).join(', ') || 'registries'}`,
      );
    }
    let opened = this.#local.get(address.open);
    if (!opened) {
      opened = openSource(
        address.open,
        this.options.dockerHost ? { dockerHost: this.options.dockerHost } : {},
      );
      this.#local.set(address.open, opened);
      opened.catch(() => this.#local.delete(address.open));
    }
    return opened;
  }

  /** The identifier to ask the source for (undefined: the source's own). */
  identifier(address: Address): string | undefined {
    return identifierOf(address);
  }

  /** The resolver `pin` uses on the Kubernetes page (the library's, with this explorer's client options). */
  resolver(): ReturnType<typeof openResolver> {
    this.#resolver ??= openResolver({
      registry: {
        ...this.options.registry,
        ...(this.options.allowedRegistries ? { allowedHosts: this.options.allowedRegistries } : {}),
      },
    });
    return this.#resolver;
  }

  async close(): Promise<void> {
    const resolver = this.#resolver;
    this.#resolver = null;
    if (resolver) await (await resolver.catch(() => null))?.close();
    const opened = [...this.#local.values()];
    this.#local.clear();
    await Promise.all(opened.map(async (p) => (await p.catch(() => null))?.close?.()));
    await this.client.close();
  }
}
