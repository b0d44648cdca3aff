/**
 * @module explorer
 * The web explorer (`imgdigest explore`): start it, or mount its app in a server of your own.
 */
export { type Address, formatAddress, parseAddress, urls } from './address.js';
export { DOWNLOAD_LIMIT, VIEW_LIMIT } from './layer-routes.js';
export {
  createExplorerApp,
  destination,
  type RunningExplorer,
  type StartExplorerOptions,
  startExplorer,
} from './server.js';
export { type ExplorerOptions, ExplorerState } from './state.js';
