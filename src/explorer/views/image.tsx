/**
 * @module explorer/views/image
 * The reference page: a manifest or index as served, checked, with what it points at.
 */
import type { FC } from 'hono/jsx';
import { type Address, atDigest, urls } from '../address.js';
import type { ImageModel } from '../models.js';
import {
  Annotations,
  CopyButton,
  crumbsFor,
  DigestLink,
  Facts,
  formatSize,
  JsonView,
  Layout,
  type Linker,
  TableHead,
} from './common.js';

/** Where digests inside a manifest or index link to. */
export function manifestLinker(address: Address, model: ImageModel): Linker {
  const self = atDigest(address, model.digest);
  return (path, digest) => {
    const top = path[0];
    if (top === 'config') return urls.config(self);
    if (top === 'layers') return urls.layer(atDigest(address, digest), model.digest);
    return urls.image(atDigest(address, digest));
  };
}

export const ImagePage: FC<{ model: ImageModel; address: Address }> = ({ model, address }) => {
  const self = atDigest(address, model.digest);
  let pretty: unknown;
  try {
    pretty = JSON.parse(model.raw);
  } catch {
    pretty = model.raw;
  }
  const title = model.kind === 'index' ? `Index ${model.address}` : `Manifest ${model.address}`;
  return (
    <Layout title={title} crumbs={crumbsFor(address)}>
      <Facts
        rows={[
          ['Digest', <DigestLink href={urls.image(self)} digest={model.digest} />],
          ['Kind', model.kind === 'index' ? 'index (covers every platform it lists)' : 'image manifest'],
          ['Media type', <code>{model.mediaType}</code>],
          ['Artifact type', model.artifactType ? <code>{model.artifactType}</code> : null],
          ['Size', `${model.size} bytes`],
          [
            'Pinned reference',
            <>
              <code id="pinned">{model.pinned}</code>{' '}
              <CopyButton value={model.pinned} label="Copy pinned reference" />
            </>,
          ],
          [
            'sha256 of the bytes served',
            <>
              <code>{model.computedDigest}</code>{' '}
              {model.verified === true ? (
                <span class="ok">
                  ✓ matches {model.expectedDigest === model.digest ? 'the digest' : model.expectedDigest}
                </span>
              ) : model.verified === false ? (
                <span class="bad">✗ does not match {model.expectedDigest}</span>
              ) : (
                <span>(nothing to check against)</span>
              )}
            </>,
          ],
          [
            'Subject',
            model.subject ? (
              <DigestLink
                href={urls.image(atDigest(address, model.subject.digest))}
                digest={model.subject.digest}
              />
            ) : null,
          ],
          ['Compare', <a href={urls.compare(model.pinnedAddress, '')}>compare with another image</a>],
        ]}
      />
      {model.notes.length > 0 ? (
        <section>
          <h2>Notes</h2>
          <ul>
            {model.notes.map((n) => (
              <li>{n}</li>
            ))}
          </ul>
        </section>
      ) : null}
      {model.platforms ? <PlatformTable model={model} address={address} /> : null}
      {model.layers && model.config ? (
        <section>
          <h2>Config and layers</h2>
          <p>
            <a href={urls.config(self)}>Config</a>{' '}
            <DigestLink href={urls.config(self)} digest={model.config.digest} /> (
            {formatSize(model.config.size)}) · {model.layers.length} layers, {formatSize(model.totalSize)}{' '}
            compressed
          </p>
          <table>
            <TableHead cols={['#', 'Layer', 'Size', 'Media type']} />
            <tbody>
              {model.layers.map((l, i) => (
                <tr>
                  <td>{i + 1}</td>
                  <td>
                    <DigestLink
                      href={urls.layer(atDigest(address, l.digest), model.digest)}
                      digest={l.digest}
                    />
                  </td>
                  <td class="num">{formatSize(l.size)}</td>
                  <td>
                    <code>{l.mediaType}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <section>
        <h2>Referrers</h2>
        {model.referrersError ? (
          <p>Referrers could not be listed: {model.referrersError}</p>
        ) : model.referrers === null ? (
          <p>This source has no referrers.</p>
        ) : model.referrers.length === 0 ? (
          <p>Nothing refers to this digest (no signatures, SBOMs or attestations).</p>
        ) : (
          <table>
            <TableHead cols={['Referrer', 'Artifact type', 'Size']} />
            <tbody>
              {model.referrers.map((r) => (
                <tr>
                  <td>
                    <DigestLink href={urls.image(atDigest(address, r.digest))} digest={r.digest} />
                  </td>
                  <td>
                    <code>{r.artifactType ?? r.mediaType}</code>
                  </td>
                  <td class="num">{formatSize(r.size)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Annotations values={model.annotations} />
      <section>
        <h2>{model.kind === 'index' ? 'Index' : 'Manifest'} as served</h2>
        <p>Pretty-printed here; its digest is the sha256 of the exact bytes the source served.</p>
        <JsonView value={pretty} linker={manifestLinker(address, model)} />
      </section>
    </Layout>
  );
};

const PlatformTable: FC<{ model: ImageModel; address: Address }> = ({ model, address }) => (
  <section>
    <h2>Platforms</h2>
    <table>
      <TableHead cols={['Platform', 'Digest', 'Size', 'Note']} />
      <tbody>
        {(model.platforms ?? []).map((p) => (
          <tr class={p.attestation ? 'attestation' : undefined}>
            <td>{p.platform ?? '(none)'}</td>
            <td>
              <DigestLink href={urls.image(p.address)} digest={p.digest} />
            </td>
            <td class="num">{formatSize(p.size)}</td>
            <td>
              {p.attestation ? (
                <>
                  <span class="badge">attestation</span>
                  {p.attests ? (
                    <>
                      {' of '}
                      <DigestLink href={urls.image(atDigest(address, p.attests))} digest={p.attests} />
                    </>
                  ) : null}
                </>
              ) : (
                <code>{p.mediaType}</code>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
);
