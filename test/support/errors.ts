/**
 * @module test/support/errors
 * The `ImgdigestError` a call throws, for asserting on its code and message; any other throw is
 * a test failure of its own.
 */
import { type ImgdigestError, isImgdigestError } from '../../src/core/errors.js';

/** The error `fn` throws, or null when it returns. */
export function errorOf(fn: () => unknown): ImgdigestError | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (!isImgdigestError(e)) throw e;
    return e;
  }
}
