/**
 * @module explorer/k8s-routes
 * `/k8s`: paste or upload Kubernetes manifests and see `check`'s findings and `pin`'s diff, with
 * the rules file the CLI uses (`--rules`). Nothing is written anywhere.
 */
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import type { FC } from 'hono/jsx';
import { cacheFor, wantsJson } from './http.js';
import {
  checkFiles,
  defaultRules,
  type Finding,
  formatFinding,
  ImgdigestError,
  type InputFile,
  loadRules,
  pinFiles,
  type Rules,
  unifiedDiff,
} from './library.js';
import { type Env, page } from './render.js';
import type { ExplorerState } from './state.js';
import { Layout } from './views/common.js';

export const MAX_UPLOAD = 5 * 1024 * 1024;

export interface K8sModel {
  findings: Array<Finding & { line_text: string }>;
  pinned: Array<{ file: string; line: number; image: string; to: string }>;
  failures: Array<{ file: string; line: number; image: string; reason: string }>;
  notes: Array<{ file: string; line: number; image: string; reason: string }>;
  diff: string;
}

export function k8sRoutes(app: Hono<Env>, state: ExplorerState): void {
  const rules = async (): Promise<Rules> =>
    state.options.rulesFile ? loadRules(state.options.rulesFile) : defaultRules();
  app.get('/k8s', async (c) => {
    cacheFor(c, null);
    return page(c, <K8sPage text="" model={null} rulesFile={state.options.rulesFile ?? null} />);
  });
  app.post(
    '/k8s',
    csrf(),
    bodyLimit({
      maxSize: MAX_UPLOAD,
      onError: () => {
        throw new ImgdigestError('INPUT_INVALID', `manifests larger than ${MAX_UPLOAD} bytes are refused`);
      },
    }),
    async (c) => {
      const body = await c.req.parseBody({ all: true });
      const files: InputFile[] = [];
      const text = typeof body.manifests === 'string' ? body.manifests : '';
      if (text.trim()) files.push({ path: 'pasted.yaml', text });
      const uploads = ([] as unknown[]).concat(body.file ?? []);
      for (const f of uploads) {
        if (f instanceof File && f.size > 0)
          files.push({ path: f.name.replace(/[^\w.-]/g, '_') || 'upload.yaml', text: await f.text() });
      }
      if (files.length === 0)
        throw new ImgdigestError('INPUT_INVALID', 'paste manifests or choose files to check');
      const r = await rules();
      const checked = checkFiles(files, r);
      const pinned = await pinFiles(files, {
        rules: r,
        resolver: await state.resolver(),
        signal: c.get('signal'),
      });
      const model: K8sModel = {
        findings: checked.findings.map((f) => ({ ...f, line_text: formatFinding(f) })),
        pinned: pinned.changes.map((ch) => ({ file: ch.file, line: ch.line, image: ch.image, to: ch.to })),
        failures: pinned.failures.map((f) => ({
          file: f.file,
          line: f.line,
          image: f.image,
          reason: f.reason,
        })),
        notes: pinned.notes.map((n) => ({ file: n.file, line: n.line, image: n.image, reason: n.reason })),
        diff: pinned.files
          .filter((f) => f.changed)
          .map((f) => unifiedDiff(f.path, f.original, f.text))
          .join(''),
      };
      c.header('Cache-Control', 'no-store');
      if (wantsJson(c)) return c.json(model);
      return page(c, <K8sPage text={text} model={model} rulesFile={state.options.rulesFile ?? null} />);
    },
  );
}

const K8sPage: FC<{ text: string; model: K8sModel | null; rulesFile: string | null }> = ({
  text,
  model,
  rulesFile,
}) => (
  <Layout title="Kubernetes: check and pin" crumbs={[{ label: 'kubernetes' }]}>
    <p>
      Findings are <code>imgdigest check</code>'s and the diff is <code>imgdigest pin</code>'s, with{' '}
      {rulesFile ? <code>{rulesFile}</code> : 'the default rules'}. Nothing is written.
    </p>
    <form action="/k8s" method="post" enctype="multipart/form-data">
      <p>
        <label for="manifests">Manifests (YAML or JSON, several documents allowed)</label>
        <textarea id="manifests" name="manifests">
          {text}
        </textarea>
      </p>
      <p>
        <label for="file">Or upload files</label>{' '}
        <input id="file" name="file" type="file" multiple accept=".yaml,.yml,.json" />
      </p>
      <p>
        <button type="submit">Check and pin</button>
      </p>
    </form>
    {model ? (
      <>
        <section>
          <h2>Findings ({model.findings.length})</h2>
          {model.findings.length === 0 ? (
            <p class="ok">Every image has a digest.</p>
          ) : (
            <ul>
              {model.findings.map((f) => (
                <li>
                  <code>{f.line_text}</code>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section>
          <h2>Pin</h2>
          {model.failures.length > 0 ? (
            <ul class="error">
              {model.failures.map((f) => (
                <li>
                  <code>{`${f.file}:${f.line}: ${f.image}: ${f.reason}`}</code>
                </li>
              ))}
            </ul>
          ) : null}
          {model.notes.length > 0 ? (
            <ul>
              {model.notes.map((n) => (
                <li>
                  note: <code>{`${n.file}:${n.line}: ${n.image}: ${n.reason}`}</code>
                </li>
              ))}
            </ul>
          ) : null}
          {model.diff ? (
            <pre class="diff" tabindex={0}>
              {model.diff.split('\n').map((line) => (
                <span
                  class={
                    line.startsWith('+') && !line.startsWith('+++')
                      ? 'diff-add'
                      : line.startsWith('-') && !line.startsWith('---')
                        ? 'diff-del'
                        : undefined
                  }
                >
                  {`${line}\n`}
                </span>
              ))}
            </pre>
          ) : model.failures.length === 0 ? (
            <p>Nothing to pin.</p>
          ) : null}
        </section>
      </>
    ) : null}
  </Layout>
);
