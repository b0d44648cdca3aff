import { describe, expect, it } from 'vitest';
import { describeErrno, errorReason, listenError, withErrnoWords } from './errno.js';

describe('system error codes in words', () => {
  it('puts the words first and keeps the code in brackets', () => {
    expect(describeErrno('ECONNREFUSED')).toBe('connection refused (ECONNREFUSED)');
    expect(describeErrno('EADDRINUSE')).toBe('address already in use (EADDRINUSE)');
    expect(describeErrno('EWHATEVER')).toBe('EWHATEVER');
  });

  it("gives a file-system error's reason in words, any other error's message", () => {
    expect(errorReason(Object.assign(new Error("ENOENT: no such file, open 'x'"), { code: 'ENOENT' }))).toBe(
      'no such file or directory (ENOENT)',
    );
    expect(errorReason(new Error('bad PEM'))).toBe('bad PEM');
  });

  it('gives words to a code that stands alone in a message, and leaves one that has them', () => {
    expect(withErrnoWords('cannot read ca.pem: ENOENT')).toBe(
      'cannot read ca.pem: no such file or directory (ENOENT)',
    );
    expect(withErrnoWords('connect ECONNREFUSED 127.0.0.1:5000')).toBe(
      'connect connection refused (ECONNREFUSED) 127.0.0.1:5000',
    );
    expect(withErrnoWords('x: connection refused (ECONNREFUSED)')).toBe(
      'x: connection refused (ECONNREFUSED)',
    );
    expect(withErrnoWords('listen EADDRINUSE: address already in use :::8443')).toBe(
      'listen EADDRINUSE: address already in use :::8443',
    );
    expect(withErrnoWords('tag ETAG and EOF are not codes')).toBe('tag ETAG and EOF are not codes');
  });

  it('says where a server could not listen, and why', () => {
    const error = listenError(
      Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }),
      '0.0.0.0:8443',
      '--addr',
    );
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.message).toBe('cannot listen on 0.0.0.0:8443 (--addr): address already in use (EADDRINUSE)');
  });
});
