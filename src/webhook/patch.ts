/**
 * @module webhook/patch
 * JSON Patch (RFC 6902) for admission responses: the webhook only ever replaces image strings that
 * already exist, so every operation is a `replace` at an exact JSON Pointer (RFC 6901). The API
 * server wants the patch as base64 of the JSON array (`patchType: JSONPatch`).
 * @see https://www.rfc-editor.org/rfc/rfc6902 https://www.rfc-editor.org/rfc/rfc6901
 */
import type { PathSegment } from '../k8s/paths.js';

/** One RFC 6902 operation (only the ones the webhook writes). */
export interface PatchOperation {
  op: 'replace';
  path: string;
  value: unknown;
}

/** RFC 6901: `~` becomes `~0` and `/` becomes `~1`, in that order. */
export function escapePointerToken(token: string): string {
  if (!token.includes('~') && !token.includes('/')) return token; // field names: nearly always
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The JSON Pointer of a path: `['spec', 'containers', 0, 'image']` -> `/spec/containers/0/image`. */
export function jsonPointer(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += `/${typeof seg === 'number' ? seg : escapePointerToken(seg)}`;
  return out;
}

/** A `replace` of the value at `path`. */
export function replaceAt(path: readonly PathSegment[], value: unknown): PatchOperation {
  return { op: 'replace', path: jsonPointer(path), value };
}

/** The `patch` field of an AdmissionResponse: base64 of the JSON array. */
export function encodePatch(operations: readonly PatchOperation[]): string {
  return Buffer.from(JSON.stringify(operations), 'utf8').toString('base64');
}
