/**
 * @module core/errno
 * Words for the error codes of Node's system calls. `ECONNREFUSED` alone tells a person little;
 * every message imgdigest prints gives the words first and keeps the code in brackets, for search
 * engines and scripts: `connection refused (ECONNREFUSED)`.
 */
import { ImgdigestError } from './errors.js';

/** The codes people meet, in the words of their man pages (shortened). */
const PHRASES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  EAI_AGAIN: 'temporary failure in name resolution',
  EAI_FAIL: 'name resolution failed',
  EBADF: 'bad file descriptor',
  EBUSY: 'resource busy',
  ECONNABORTED: 'connection aborted',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EEXIST: 'file exists',
  EHOSTDOWN: 'host is down',
  EHOSTUNREACH: 'no route to host',
  EINVAL: 'invalid argument',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ENETDOWN: 'network is down',
  ENETUNREACH: 'network is unreachable',
  ENFILE: 'too many open files in the system',
  ENOENT: 'no such file or directory',
  ENOMEM: 'out of memory',
  ENOSPC: 'no space left on device',
  ENOTCONN: 'socket is not connected',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  ENOTFOUND: 'host not found',
  ENOTSOCK: 'not a socket',
  ENXIO: 'no such device or address',
  EPERM: 'operation not permitted',
  EPIPE: 'broken pipe',
  EPROTO: 'protocol error',
  EROFS: 'read-only file system',
  ETIMEDOUT: 'connection timed out',
  EXDEV: 'cross-device link',
};

/** The words for `code`, or undefined for a code without a phrase here. */
export function errnoPhrase(code: string): string | undefined {
  return Object.hasOwn(PHRASES, code) ? PHRASES[code] : undefined;
}

/**
 * `code` as a person reads it: the words, then the code in brackets; an unknown code as it is.
 * @example describeErrno('ECONNREFUSED') // 'connection refused (ECONNREFUSED)'
 */
export function describeErrno(code: string): string {
  const phrase = errnoPhrase(code);
  return phrase ? `${phrase} (${code})` : code;
}

/**
 * The reason a system call failed, in words: `describeErrno` of the error's code when it has a
 * phrase, else its message. For `cannot read FILE: REASON` lines.
 * @example errorReason(Object.assign(new Error('x'), { code: 'ENOENT' })) // 'no such file or directory (ENOENT)'
 */
export function errorReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && errnoPhrase(code)) return describeErrno(code);
  return error instanceof Error ? error.message : String(error);
}

const CODE = /\b(E[A-Z]{3,}|EAI_[A-Z]+)\b/g;

/**
 * `text` with every known code that stands without its words given them, so that a message built
 * elsewhere (`cannot read x: ENOENT`, Node's `connect ECONNREFUSED 127.0.0.1:5000`) still reads.
 * A code whose words are already there is left alone.
 * @example withErrnoWords('cannot read ca.pem: ENOENT') // 'cannot read ca.pem: no such file or directory (ENOENT)'
 */
export function withErrnoWords(text: string): string {
  const lower = text.toLowerCase();
  return text.replace(CODE, (code, _match, offset: number) => {
    const phrase = errnoPhrase(code);
    if (!phrase || lower.includes(phrase)) return code;
    // Node's own messages put the system call first: `connect ECONNREFUSED`, `listen EADDRINUSE`.
    const inBrackets = text[offset - 1] === '(' && text[offset + code.length] === ')';
    return inBrackets ? `${phrase}, ${code}` : `${phrase} (${code})`;
  });
}

/**
 * The error for a server that cannot listen, the same from every server imgdigest runs:
 * `cannot listen on 127.0.0.1:5000 (--addr): address already in use (EADDRINUSE)`.
 * @param flag the flag that chose the address, when there is one.
 */
export function listenError(error: unknown, address: string, flag?: string): ImgdigestError {
  const where = flag ? `${address} (${flag})` : address;
  return new ImgdigestError('NETWORK_ERROR', `cannot listen on ${where}: ${errorReason(error)}`, {
    cause: error,
    details: { address, errno: (error as { code?: unknown } | null)?.code ?? null },
  });
}
