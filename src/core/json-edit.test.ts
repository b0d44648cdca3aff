import { describe, expect, it } from 'vitest';
import { setJsonMember } from './json-edit.js';

/** A config.json as Docker writes it (tabs), with keys imgdigest does not know. */
const DOCKER = `{
\t"auths": {
\t\t"ghcr.io": {
\t\t\t"auth": "dTpw"
\t\t}
\t},
\t"psFormat": "table {{.ID}}\\t{{.Image}} \\u003cnone\\u003e",
\t"proxies": {"default": {"httpProxy": "http://proxy:3128"}},
\t"detachKeys": "ctrl-e,e"
}`;

describe('setJsonMember', () => {
  it('adds a member in the style of its neighbours and changes no other byte', () => {
    const out = setJsonMember(DOCKER, ['auths', 'localhost:5000'], { auth: 'YTpi' });
    expect(out).toBe(
      DOCKER.replace('\t\t}\n\t},', '\t\t},\n\t\t"localhost:5000": {\n\t\t\t"auth": "YTpi"\n\t\t}\n\t},'),
    );
    expect(JSON.parse(out).auths).toEqual({
      'ghcr.io': { auth: 'dTpw' },
      'localhost:5000': { auth: 'YTpi' },
    });
    // Go's escapes and the compact proxies object are left as they were.
    expect(out).toContain('\\u003cnone\\u003e');
    expect(out).toContain('"proxies": {"default": {"httpProxy": "http://proxy:3128"}},');
  });

  it('replaces an existing member in place', () => {
    const out = setJsonMember(DOCKER, ['auths', 'ghcr.io'], {});
    expect(out).toBe(DOCKER.replace('{\n\t\t\t"auth": "dTpw"\n\t\t}', '{}'));
  });

  it('removes a member with its comma, and the last member leaves an empty object', () => {
    const two = setJsonMember(DOCKER, ['auths', 'localhost:5000'], { auth: 'YTpi' });
    expect(setJsonMember(two, ['auths', 'localhost:5000'], undefined)).toBe(DOCKER);
    expect(setJsonMember(two, ['auths', 'ghcr.io'], undefined)).toBe(
      DOCKER.replace('"ghcr.io": {\n\t\t\t"auth": "dTpw"', '"localhost:5000": {\n\t\t\t"auth": "YTpi"'),
    );
    const none = setJsonMember(DOCKER, ['auths', 'ghcr.io'], undefined);
    expect(none.startsWith('{\n\t"auths": {},\n\t"psFormat"')).toBe(true);
    expect(setJsonMember(DOCKER, ['detachKeys'], undefined).endsWith('"http://proxy:3128"}}\n}')).toBe(true);
    expect(setJsonMember(DOCKER, ['auths', 'nothing'], undefined)).toBe(DOCKER);
    expect(setJsonMember(DOCKER, ['psFormat', 'x'], undefined)).toBe(DOCKER);
  });

  it('creates missing parents, one member per line in an indented file', () => {
    const text = '{\n  "credsStore": "pass"\n}\n';
    expect(setJsonMember(text, ['auths', 'r:1'], {})).toBe(
      '{\n  "credsStore": "pass",\n  "auths": {\n    "r:1": {}\n  }\n}\n',
    );
    expect(setJsonMember('{\n  "auths": {}\n}', ['auths', 'r:1'], { auth: 'x' })).toBe(
      '{\n  "auths": {\n    "r:1": {\n      "auth": "x"\n    }\n  }\n}',
    );
  });

  it('keeps a one-line file on one line', () => {
    expect(setJsonMember('{"auths":{}}\n', ['auths', 'r:1'], { auth: 'x' })).toBe(
      '{"auths":{"r:1":{"auth":"x"}}}\n',
    );
    expect(setJsonMember('{}', ['auths', 'r:1'], {})).toBe('{"auths":{"r:1":{}}}');
    expect(setJsonMember('{"a": 1, "b": [1, {"}": "{"}]}', ['c'], true)).toBe(
      '{"a": 1, "b": [1, {"}": "{"}], "c": true}',
    );
  });

  it('edits the last of duplicate keys, as JSON.parse reads it, and removes them all', () => {
    const text = '{"a": 1, "a": 2}';
    expect(setJsonMember(text, ['a'], 3)).toBe('{"a": 1, "a": 3}');
    expect(setJsonMember(text, ['a'], undefined)).toBe('{}');
  });

  it('replaces a parent that is not an object', () => {
    expect(setJsonMember('{"auths": null}', ['auths', 'r'], {})).toBe('{"auths": {"r":{}}}');
  });

  it('refuses a document that is not an object', () => {
    expect(() => setJsonMember('[1]', ['a'], 1)).toThrow(/not a JSON object/);
  });
});
