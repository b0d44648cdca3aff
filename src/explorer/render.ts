/**
 * @module explorer/render
 * What every route shares: the hono context variables, the decoded rest of a URL path, and an
 * HTML answer from a JSX page.
 */
import type { Context } from 'hono';
import { decodePath } from './address.js';
import type { ExplorerState } from './state.js';

export type Env = { Variables: { state: ExplorerState; signal: AbortSignal } };

/** The rest of the path after `/prefix/`, decoded. */
export function rest(c: Context, prefix: string): string {
  const path = new URL(c.req.url).pathname;
  return decodePath(path.slice(prefix.length + 2));
}

/** An HTML answer: the doctype and the rendered page. */
export async function page(c: Context, jsx: unknown, status = 200): Promise<Response> {
  c.header('Content-Type', 'text/html; charset=utf-8');
  return c.body(
    `<!DOCTYPE html>${await (jsx as { toString(): string | Promise<string> }).toString()}`,
    status as 200,
  );
}
