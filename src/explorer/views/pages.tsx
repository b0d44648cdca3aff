/**
 * @module explorer/views/pages
 * Start, registry, repository, reference and config pages, and the error page.
 */
import type { FC } from 'hono/jsx';
import { type Address, atDigest, parseAddress, urls } from '../address.js';
import type { CatalogModel, ConfigModel, groupTags, RepoModel } from '../models.js';
import {
  Annotations,
  crumbsFor,
  DigestLink,
  Facts,
  formatSize,
  JsonView,
  Layout,
  TableHead,
} from './common.js';

export const StartPage: FC<{ initial: string | null; registries: string[]; local: boolean }> = ({
  initial,
  registries,
  local,
}) => (
  <Layout title="Explore an image">
    <p>
      Type a reference (<code>registry/repository:tag</code>, <code>…@sha256:…</code>), a repository, a
      registry host
      {local ? (
        <>
          {' '}
          or a local source (<code>oci:DIR[:TAG]</code>, <code>docker-archive:FILE</code>,{' '}
          <code>docker-daemon:NAME</code>)
        </>
      ) : null}{' '}
      in the box above.
    </p>
    {initial ? (
      <section>
        <h2>Started with</h2>
        <p>
          <a href={`/go?q=${encodeURIComponent(initial)}`}>{initial}</a>
        </p>
      </section>
    ) : null}
    <section>
      <h2>Registries in your credentials</h2>
      {registries.length === 0 ? (
        <p>Your docker and podman configuration lists no registries.</p>
      ) : (
        <ul>
          {registries.map((r) => (
            <li>
              <a href={urls.registry(r)}>{r}</a>
            </li>
          ))}
        </ul>
      )}
    </section>
  </Layout>
);

export const CatalogPage: FC<{ model: CatalogModel }> = ({ model }) => (
  <Layout title={`Registry ${model.registry}`} crumbs={[{ label: model.registry }]}>
    <p>
      {model.repositories.length === 0
        ? 'No repositories on this page.'
        : `${model.repositories.length} repositories on this page.`}
    </p>
    <ul class="columns">
      {model.repositories.map((r) => (
        <li>
          <a href={urls.repo(`${model.registry}/${r}`)}>{r}</a>
        </li>
      ))}
    </ul>
    {model.next ? (
      <p>
        <a rel="next" href={`${urls.registry(model.registry)}?last=${encodeURIComponent(model.next)}`}>
          Next page
        </a>
      </p>
    ) : null}
  </Layout>
);

export const RepoPage: FC<{
  model: RepoModel;
  address: Address;
  groups: ReturnType<typeof groupTags> | null;
  events: string | null;
}> = ({ model, address, groups, events }) => {
  const crumbs =
    address.kind === 'registry' ? crumbsFor(parseAddress(`${model.repository}:x`)).slice(0, 1) : [];
  const tagHref = (tag: string) =>
    urls.image(
      address.kind === 'registry'
        ? `${model.repository}:${tag}`
        : `${address.open.replace(/:[^/:]*$/, '')}:${tag}`,
    );
  return (
    <Layout
      title={`Repository ${model.repository}`}
      crumbs={[...crumbs, { label: address.kind === 'registry' ? address.ref.path : model.repository }]}
    >
      <p>
        {model.tags.length} tags on this page, grouped by the digest they point at
        {groups ? '.' : ' as the registry answers (one HEAD request per tag, a few at a time).'}
      </p>
      {model.recent ? (
        <section>
          <h2>Moved recently (as the registry reports)</h2>
          <ul>
            {model.recent.map((t) => (
              <li>
                <a href={tagHref(t.tag)}>{t.tag}</a> <span class="muted">{t.uploaded}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <div
        id="tag-groups"
        data-done={groups ? 'true' : undefined}
        data-events={events ?? undefined}
        data-repo-href={urls.image('')}
        data-digest-base={address.kind === 'registry' ? `${model.repository}@` : `${address.open}@`}
        aria-live="polite"
      >
        {groups
          ? groups.map((g) => (
              <section class="group">
                <h2>
                  {g.digest ? (
                    <DigestLink href={urls.image(tagAddress(address, model, g.digest))} digest={g.digest} />
                  ) : (
                    'Not resolved'
                  )}
                </h2>
                <ul class="tags">
                  {g.tags.map((t) => (
                    <li>
                      <a href={tagHref(t)}>{t}</a>
                    </li>
                  ))}
                </ul>
              </section>
            ))
          : null}
      </div>
      {groups ? null : (
        <section id="pending-tags">
          <h2>Tags</h2>
          <ul class="tags">
            {model.tags.map((t) => (
              <li data-tag={t.tag}>
                <a href={tagHref(t.tag)}>{t.tag}</a>
              </li>
            ))}
          </ul>
          <noscript>
            <p>
              <a href="?resolve=all">Group the tags by digest</a> (without script the page waits for every
              answer).
            </p>
          </noscript>
        </section>
      )}
      {model.next ? (
        <p>
          <a rel="next" href={`?last=${encodeURIComponent(model.next)}`}>
            Next page
          </a>
        </p>
      ) : null}
    </Layout>
  );
};

function tagAddress(address: Address, model: RepoModel, digest: string): string {
  return address.kind === 'registry' ? `${model.repository}@${digest}` : `${address.open}@${digest}`;
}

export const ConfigPage: FC<{ model: ConfigModel; address: Address }> = ({ model, address }) => {
  const json = (v: unknown) => (v === null ? null : <code>{JSON.stringify(v)}</code>);
  let pretty: unknown;
  try {
    pretty = JSON.parse(model.raw);
  } catch {
    pretty = model.raw;
  }
  return (
    <Layout title={`Config of ${model.image}`} crumbs={crumbsFor(address, { label: 'config' })}>
      <Facts
        rows={[
          ['Image', <DigestLink href={urls.image(model.image)} digest={model.manifestDigest} />],
          [
            'Config digest',
            <DigestLink
              href={urls.config(atDigest(address, model.manifestDigest))}
              digest={model.config.digest}
            />,
          ],
          ['Platform', model.platform],
          ['Created', model.created],
          ['Author', model.author],
          ['User', model.user],
          ['Entrypoint', json(model.entrypoint)],
          ['Cmd', json(model.cmd)],
          ['Working directory', model.workingDir],
          ['Ports', model.ports.length ? model.ports.join(', ') : null],
          ['Volumes', model.volumes.length ? model.volumes.join(', ') : null],
          ['Stop signal', model.stopSignal],
        ]}
      />
      <section>
        <h2>Environment</h2>
        {model.env.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul class="env">
            {model.env.map((e) => (
              <li>
                <code>{e}</code>
              </li>
            ))}
          </ul>
        )}
      </section>
      <Annotations values={model.labels} title="Labels" />
      <section>
        <h2>History</h2>
        <table>
          <TableHead cols={['#', 'Step', 'Layer', 'Size']} />
          <tbody>
            {model.history.map((h, i) => (
              <tr class={h.emptyLayer ? 'empty' : undefined}>
                <td>{i + 1}</td>
                <td class="wrap">
                  <code>{h.createdBy || '(no command recorded)'}</code>
                  {h.comment ? <div class="muted">{h.comment}</div> : null}
                  {h.created ? <div class="muted">{h.created}</div> : null}
                </td>
                <td>
                  {h.emptyLayer ? (
                    <span class="badge">empty layer</span>
                  ) : h.layer ? (
                    <DigestLink
                      href={urls.layer(parseAddress(h.layer.address), model.manifestDigest)}
                      digest={h.layer.digest}
                    />
                  ) : (
                    <span class="bad">no layer left for this step</span>
                  )}
                </td>
                <td class="num">{h.layer ? formatSize(h.layer.size) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {model.unaccounted > 0 ? <p>{model.unaccounted} layers have no history step.</p> : null}
      </section>
      <section>
        <h2>Config as served</h2>
        <JsonView value={pretty} linker={() => null} />
      </section>
    </Layout>
  );
};

export const ErrorPage: FC<{ status: number; code: string; message: string; exitCode: number }> = ({
  status,
  code,
  message,
  exitCode,
}) => (
  <Layout title={status === 404 && code === 'NOT_FOUND' ? 'Not found' : 'Something went wrong'}>
    <p class="error" role="alert">
      <code>imgdigest: {message}</code>
    </p>
    <Facts
      rows={[
        ['HTTP status', String(status)],
        ['Error code', <code>{code}</code>],
        ['CLI exit code', String(exitCode)],
      ]}
    />
  </Layout>
);
