import { describe, expect, it } from 'vitest';
import { schemeFor } from './scheme.js';

describe('scheme rules', () => {
  it.each([
    'localhost',
    'localhost:5000',
    'LOCALHOST:5000',
    'registry.localhost:5000',
    '127.0.0.1',
    '127.0.0.1:5000',
    '127.1.2.3:80',
    '[::1]',
    '[::1]:5000',
    '[0:0:0:0:0:0:0:1]:5000',
  ])('treats %s as loopback (plain http automatically)', (host) => {
    expect(schemeFor(host)).toBe('http');
  });

  it.each([
    'registry.example.com',
    'registry.example.com:5000',
    'localhost.example.com',
    'notlocalhost',
    '128.0.0.1:5000',
    '10.0.0.1',
    '[::2]:5000',
    'docker.io',
  ])('uses https for %s unless insecure', (host) => {
    expect(schemeFor(host)).toBe('https');
    expect(schemeFor(host, { insecure: true })).toBe('http');
  });

  it('forces TLS on loopback when asked', () => {
    expect(schemeFor('127.0.0.1:5000', { scheme: 'https' })).toBe('https');
  });
});
