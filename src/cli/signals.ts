/**
 * @module cli/signals
 * Long-running commands (registry serve, webhook serve) stop cleanly on SIGINT or SIGTERM.
 */

/** Resolve with the first of SIGINT/SIGTERM; the handlers are removed afterwards. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
