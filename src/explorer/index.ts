/**
 * @module explorer
 * The web explorer (`imgdigest explore`): start it, or mount its app in a server of your own.
 */
export { type Address, formatAddress, parseAddress, urls } from './address.js';
export {
  createExplorerApp,
  DOWNLOAD_LIMIT,
  destination,
  type RunningExplorer,
  type StartExplorerOptions,
  startExplorer,
  VIEW_LIMIT,
} from './server.js';
export { type ExplorerOptions, ExplorerState } from './state.js';
