import { describe, expect, it } from 'vitest';
import { isLoopbackHost, parseAddr, splitHostPort } from './net.js';

describe('isLoopbackHost', () => {
  // RFC 6761 section 6.3 and the WHATWG URL standard: `localhost` and every name under it,
  // 127.0.0.0/8 and ::1 are this machine, with or without a port.
  it.each([
    'localhost',
    'localhost:5000',
    'LOCALHOST:5000',
    'localhost.',
    'registry.localhost',
    'registry.localhost:5000',
    'a.b.localhost',
    '127.0.0.1',
    '127.0.0.1:5000',
    '127.1.2.3:80',
    '127.255.255.254',
    '::1',
    '[::1]',
    '[::1]:5000',
    '[0:0:0:0:0:0:0:1]:5000',
  ])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    // Names that merely contain "localhost" or a loopback address resolve through DNS like any other.
    '127.0.0.1.example.com',
    'localhost.evil.com',
    'localhost.example.com:5000',
    'notlocalhost',
    'localhostx',
    // Every interface, not this machine only.
    '0.0.0.0',
    '0.0.0.0:5000',
    '::',
    '[::]:8443',
    '128.0.0.1:5000',
    '10.0.0.1',
    '[::2]:5000',
    'docker.io',
  ])('%s is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('splitHostPort', () => {
  it('splits host and port, IPv6 included', () => {
    expect(splitHostPort('[::1]:5000')).toEqual({ hostname: '::1', port: '5000' });
    expect(splitHostPort('host:443')).toEqual({ hostname: 'host', port: '443' });
    expect(splitHostPort('host')).toEqual({ hostname: 'host', port: null });
    expect(splitHostPort('::1')).toEqual({ hostname: '::1', port: null });
  });
});

describe('parseAddr', () => {
  it('parses host:port, [v6]:port and :port (every interface)', () => {
    expect(parseAddr('127.0.0.1:5000')).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(parseAddr('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseAddr('[::]:8443')).toEqual({ host: '::', port: 8443 });
    expect(parseAddr(':5000')).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(parseAddr('localhost:65535')).toEqual({ host: 'localhost', port: 65535 });
  });

  it.each(['127.0.0.1', 'host:70000', 'host:port', '::1:5000', '[::1]', '[x]:5000', ''])(
    'refuses %j with a USAGE error naming the flag',
    (addr) => {
      expect(() => parseAddr(addr, { flag: '--metrics-addr', example: '0.0.0.0:8443' })).toThrow(
        expect.objectContaining({
          code: 'USAGE',
          message: `--metrics-addr must be HOST:PORT (e.g. 0.0.0.0:8443), got "${addr}"`,
        }),
      );
    },
  );
});
