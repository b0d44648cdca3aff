/**
 * @module explorer/compare-routes
 * `/compare?a=REF&b=REF[&platform=os/arch]`: two images side by side.
 */
import type { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import { atDigest, parseAddress, pinnedDigest, urls } from './address.js';
import { type CompareModel, compareModel } from './compare.js';
import { cacheFor, wantsJson } from './http.js';
import type { FileEntry } from './layer-cache.js';
import { type Env, page } from './render.js';
import type { ExplorerState } from './state.js';
import { DigestLink, formatSize, Layout, TableHead } from './views/common.js';

export function compareRoutes(app: Hono<Env>, state: ExplorerState): void {
  app.get('/compare', async (c) => {
    const a = (c.req.query('a') ?? '').trim();
    const b = (c.req.query('b') ?? '').trim();
    const platform = c.req.query('platform') || undefined;
    if (!a || !b) {
      cacheFor(c, null);
      return page(c, <CompareForm a={a} b={b} model={null} />);
    }
    const pa = pinnedDigest(parseAddress(a));
    const pb = pinnedDigest(parseAddress(b));
    if (cacheFor(c, pa && pb ? `${pa}..${pb}${platform ? `/${platform}` : ''}` : null))
      return c.body(null, 304);
    const model = await compareModel(state, a, b, platform, c.get('signal'));
    if (wantsJson(c)) return c.json(model);
    return page(c, <CompareForm a={a} b={b} model={model} />);
  });
}

const Side: FC<{ label: string; side: CompareModel['a'] }> = ({ label, side }) => (
  <p>
    {label}: <a href={urls.image(side.address)}>{side.address}</a>
    {side.image && side.image !== side.address ? (
      <>
        {' '}
        (image <a href={urls.image(side.image)}>{side.image}</a>)
      </>
    ) : null}
  </p>
);

const Files: FC<{ title: string; entries: FileEntry[]; side: string | null }> = ({
  title,
  entries,
  side,
}) => (
  <section>
    <h3>
      {title} ({entries.length})
    </h3>
    {entries.length === 0 ? (
      <p>None.</p>
    ) : (
      <ul class="files-changed">
        {entries.slice(0, 2000).map((e) => (
          <li>
            <code>{e.path}</code>{' '}
            {e.type === 'file' ? (
              <span class="muted">{formatSize(e.size)}</span>
            ) : (
              <span class="muted">{e.type}</span>
            )}
          </li>
        ))}
        {entries.length > 2000 ? (
          <li>… and {entries.length - 2000} more (the JSON API has them all)</li>
        ) : null}
      </ul>
    )}
    {side ? null : null}
  </section>
);

const CompareForm: FC<{ a: string; b: string; model: CompareModel | null }> = ({ a, b, model }) => (
  <Layout title="Compare two images" crumbs={[{ label: 'compare' }]}>
    <form action="/compare" method="get" class="compare">
      <p>
        <label for="a">First image</label>
        <br />
        <input id="a" name="a" type="text" value={a} size={70} />
      </p>
      <p>
        <label for="b">Second image</label>
        <br />
        <input id="b" name="b" type="text" value={b} size={70} />
      </p>
      <p>
        <button type="submit">Compare</button>
      </p>
    </form>
    {model ? <Result model={model} /> : null}
  </Layout>
);

const Result: FC<{ model: CompareModel }> = ({ model }) => {
  const addrA = model.a.image ? parseAddress(model.a.image) : null;
  const addrB = model.b.image ? parseAddress(model.b.image) : null;
  return (
    <>
      <Side label="A" side={model.a} />
      <Side label="B" side={model.b} />
      {model.platforms ? (
        <section>
          <h2>Platforms</h2>
          <table>
            <TableHead cols={['Platform', 'A', 'B', 'Same']} />
            <tbody>
              {model.platforms.map((p) => (
                <tr>
                  <td>
                    <a
                      href={`${urls.compare(model.a.address, model.b.address)}&platform=${encodeURIComponent(p.platform)}`}
                    >
                      {p.platform}
                    </a>
                    {p.platform === model.platform ? <span class="badge">compared below</span> : null}
                  </td>
                  <td>
                    {p.a ? (
                      <DigestLink
                        href={urls.image(atDigest(parseAddress(model.a.address), p.a))}
                        digest={p.a}
                      />
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>
                    {p.b ? (
                      <DigestLink
                        href={urls.image(atDigest(parseAddress(model.b.address), p.b))}
                        digest={p.b}
                      />
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>{p.a && p.a === p.b ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {!addrA || !addrB ? (
        <p>No platform both images offer{model.platform ? ` (${model.platform})` : ''}; choose one above.</p>
      ) : (
        <>
          <section>
            <h2>Config changes{model.platform ? ` (${model.platform})` : ''}</h2>
            {model.config.length === 0 ? (
              <p>The configs agree on every field compared.</p>
            ) : (
              <table>
                <TableHead cols={['Field', 'A', 'B']} />
                <tbody>
                  {model.config.map((r) => (
                    <tr>
                      <td>
                        <code>{r.field}</code>
                      </td>
                      <td class="wrap diff-del">{r.a ?? '—'}</td>
                      <td class="wrap diff-add">{r.b ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section>
            <h2>Layers</h2>
            <p>
              {model.layers.shared.length} shared, {model.layers.onlyA.length} only in A,{' '}
              {model.layers.onlyB.length} only in B.
            </p>
            <ul>
              {model.layers.shared.map((d) => (
                <li>
                  shared <DigestLink href={urls.layer(atDigest(addrA, d))} digest={d} />
                </li>
              ))}
              {model.layers.onlyA.map((d) => (
                <li>
                  only in A <DigestLink href={urls.layer(atDigest(addrA, d))} digest={d} />
                </li>
              ))}
              {model.layers.onlyB.map((d) => (
                <li>
                  only in B <DigestLink href={urls.layer(atDigest(addrB, d))} digest={d} />
                </li>
              ))}
            </ul>
          </section>
          <section>
            <h2>Files</h2>
            <Files title="Added in B" entries={model.files.added} side="b" />
            <Files title="Removed in B" entries={model.files.removed} side="a" />
            <section>
              <h3>Changed ({model.files.changed.length})</h3>
              {model.files.changed.length === 0 ? (
                <p>None.</p>
              ) : (
                <ul>
                  {model.files.changed.slice(0, 2000).map((ch) => (
                    <li>
                      <code>{ch.path}</code> <span class="muted">{ch.what.join(', ')}</span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </section>
        </>
      )}
    </>
  );
};
