/**
 * @module explorer/views/common
 * The page frame and the small pieces every page uses. Rendering is hono's JSX: every value
 * interpolated is escaped, so annotations, labels and file names from an image cannot become markup.
 */
import type { Child, FC, PropsWithChildren } from 'hono/jsx';
import { type Address, encodePath, formatAddress, urls } from '../address.js';

export function formatSize(n: number | null | undefined): string {
  if (n === null || n === undefined) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export interface Crumb {
  label: string;
  href?: string;
}

export const Layout: FC<PropsWithChildren<{ title: string; crumbs?: Crumb[]; query?: string }>> = ({
  title,
  crumbs = [],
  query = '',
  children,
}) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      <title>{`${title} · imgdigest explore`}</title>
      <link rel="stylesheet" href="/static/style.css" />
      <script src="/static/app.js" defer></script>
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Breadcrumb">
          <ol class="crumbs">
            <li>
              <a href="/">imgdigest explore</a>
            </li>
            {crumbs.map((c) => (
              <li>{c.href ? <a href={c.href}>{c.label}</a> : <span aria-current="page">{c.label}</span>}</li>
            ))}
          </ol>
        </nav>
        <search class="search">
          <form action="/go" method="get">
            <label for="q" class="visually-hidden">
              Reference or source
            </label>
            <input
              id="q"
              name="q"
              type="text"
              value={query}
              placeholder="registry/repo:tag, oci:DIR, docker-archive:FILE"
            />
            <button type="submit">Open</button>
          </form>
        </search>
      </header>
      <main id="main">
        <h1>{title}</h1>
        {children}
      </main>
      <footer>
        <p>
          Every digest is a link; pages named by a digest never change.{' '}
          <a href="/k8s">Kubernetes check and pin</a> · <a href="/compare">Compare</a>
        </p>
      </footer>
    </body>
  </html>
);

/** A digest, always a link to what it names. */
export const DigestLink: FC<{ href: string; digest: string }> = ({ href, digest }) => (
  <a class="digest" href={href}>
    <code>{digest}</code>
  </a>
);

export const CopyButton: FC<{ value: string; label?: string }> = ({ value, label = 'Copy' }) => (
  <button type="button" class="copy" data-copy={value}>
    {label}
  </button>
);

/** Crumbs for an address: registry, repository, then what the page shows. */
export function crumbsFor(address: Address, last?: Crumb): Crumb[] {
  const out: Crumb[] = [];
  if (address.kind === 'registry') {
    const r = address.ref;
    out.push({ label: r.domain, href: urls.registry(r.domain) });
    out.push({ label: r.path, href: urls.repo(r.repository) });
    if (r.tag) out.push({ label: r.tag, href: urls.image(`${r.repository}:${r.tag}`) });
    if (r.digest) out.push({ label: r.digest.slice(0, 19), href: urls.image(`${r.repository}@${r.digest}`) });
  } else {
    out.push({ label: address.open, href: urls.repo(address.open) });
    if (address.digest)
      out.push({ label: address.digest.slice(0, 19), href: urls.image(formatAddress(address)) });
  }
  if (last) out.push(last);
  return out;
}

/** Key/value rows; empty values are left out. */
/** A table's header row: one column header per name. */
export const TableHead: FC<{ cols: string[] }> = ({ cols }) => (
  <thead>
    <tr>
      {cols.map((c) => (
        <th scope="col">{c}</th>
      ))}
    </tr>
  </thead>
);

export const Facts: FC<{ rows: Array<[string, Child | null | undefined]> }> = ({ rows }) => (
  <dl class="facts">
    {rows
      .filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
  </dl>
);

export const Annotations: FC<{ values: Record<string, string>; title?: string }> = ({
  values,
  title = 'Annotations',
}) => {
  const keys = Object.keys(values);
  if (keys.length === 0) return null;
  return (
    <section>
      <h2>{title}</h2>
      <table>
        <TableHead cols={['Key', 'Value']} />
        <tbody>
          {keys.map((k) => (
            <tr>
              <td>
                <code>{k}</code>
              </td>
              <td class="wrap">{values[k]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};

/** Decide where a digest inside a manifest links, from where it sits. */
export type Linker = (path: Array<string | number>, digest: string) => string | null;

const DIGEST_TEXT = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,}$/;

/** Pretty-printed JSON whose digests are links. */
export const JsonView: FC<{ value: unknown; linker: Linker }> = ({ value, linker }) => (
  <pre class="json" tabindex={0}>
    <JsonNode value={value} path={[]} indent={0} linker={linker} />
  </pre>
);

const JsonNode: FC<{ value: unknown; path: Array<string | number>; indent: number; linker: Linker }> = ({
  value,
  path,
  indent,
  linker,
}) => {
  const pad = '  '.repeat(indent + 1);
  const end = '  '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return <>{'[]'}</>;
    return (
      <>
        {'[\n'}
        {value.map((v, i) => (
          <>
            {pad}
            <JsonNode value={v} path={[...path, i]} indent={indent + 1} linker={linker} />
            {i < value.length - 1 ? ',\n' : '\n'}
          </>
        ))}
        {`${end}]`}
      </>
    );
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return <>{'{}'}</>;
    return (
      <>
        {'{\n'}
        {entries.map(([k, v], i) => (
          <>
            {pad}
            <span class="k">{JSON.stringify(k)}</span>
            {': '}
            <JsonNode value={v} path={[...path, k]} indent={indent + 1} linker={linker} />
            {i < entries.length - 1 ? ',\n' : '\n'}
          </>
        ))}
        {`${end}}`}
      </>
    );
  }
  if (typeof value === 'string') {
    const href = DIGEST_TEXT.test(value) ? linker(path, value) : null;
    if (href) {
      return (
        <a class="digest" href={href}>
          {JSON.stringify(value)}
        </a>
      );
    }
    return <span class="s">{JSON.stringify(value)}</span>;
  }
  return <span class="n">{JSON.stringify(value)}</span>;
};

export { encodePath };
