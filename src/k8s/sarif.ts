/**
 * @module k8s/sarif
 * SARIF 2.1.0 output for `check --format sarif`, so code-scanning UIs show each image without a
 * digest at its file, line and column.
 * @see https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
 */
import { type Finding, RULE_ID } from './check.js';
import { STDIN_NAME } from './inputs.js';
import { describeObject } from './objects.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** A SARIF log with one run, one rule, one result per finding. */
export function toSarif(
  findings: readonly Finding[],
  toolVersion: string,
  defaultNamespace?: string,
): Record<string, unknown> {
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'imgdigest',
            version: toolVersion,
            informationUri: 'https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests',
            rules: [
              {
                id: RULE_ID,
                name: 'ImageDigestRequired',
                shortDescription: { text: 'Container images must be pinned by digest' },
                fullDescription: {
                  text: 'Every image reference must end in @algorithm:encoded (sha256 with 64 lowercase hex characters, sha512 with 128), so that what runs is exactly what was reviewed.',
                },
                defaultConfiguration: { level: 'error' },
                help: { text: 'Run `imgdigest pin -f FILE --write` to add digests, or exempt the image.' },
              },
            ],
          },
        },
        results: findings.map((f) => ({
          ruleId: RULE_ID,
          ruleIndex: 0,
          level: 'error',
          message: { text: `${describeObject(f.object, defaultNamespace)}: ${f.message}` },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: toUri(f.file) },
                region: { startLine: f.line, startColumn: f.column },
              },
              logicalLocations: [
                {
                  name: f.fieldPath,
                  fullyQualifiedName: `${f.object.kind}/${f.object.namespace ?? defaultNamespace ?? '-'}/${f.object.name}/${f.fieldPath}`,
                  kind: 'member',
                },
              ],
            },
          ],
          properties: {
            image: f.image,
            kind: f.object.kind,
            namespace: f.object.namespace,
            name: f.object.name,
            document: f.document,
          },
        })),
      },
    ],
  };
}

/** SARIF wants URIs: relative paths with `/` and percent-encoding; stdin has none. */
function toUri(path: string): string {
  if (path === STDIN_NAME) return 'stdin';
  return path.split(/[\\/]/).map(encodeURIComponent).join('/');
}
