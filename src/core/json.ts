/**
 * @module json
 * The one shape test every JSON reader here needs: is this value a mapping?
 */

/**
 * True for a JSON object or YAML mapping (not null, not a list).
 * @example isRecord({ a: 1 }) // true
 * @example isRecord([1]) // false
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
