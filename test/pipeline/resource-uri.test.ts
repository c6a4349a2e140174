import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeResourceUri } from '../../core/protocol/uri.ts';

describe('resource URI normalization', () => {
  it('returns a URI that needs nothing as the same string', () => {
    for (const uri of ['file:///data/a.txt', 'demo://resource/static/document/1', 'urn:isbn:0451450523', 'shared://same', 'x://h/a.b/c?q=../..#../f', 'file:///a/.hidden']) {
      assert.equal(normalizeResourceUri(uri), uri);
    }
  });

  it('removes dot segments, plain or percent-encoded, keeping query and fragment', () => {
    assert.equal(normalizeResourceUri('file:///data/public/../secret'), 'file:///data/secret');
    assert.equal(normalizeResourceUri('file:///data/./public/%2e/x'), 'file:///data/public/x');
    assert.equal(normalizeResourceUri('file:///data/public/%2E%2e/secret?x=1#f'), 'file:///data/secret?x=1#f');
    assert.equal(normalizeResourceUri('file:///data/public/..'), 'file:///data/');
    assert.equal(normalizeResourceUri('app://host/a/b/../../c'), 'app://host/c');
    assert.equal(normalizeResourceUri('scheme:a/b/../c'), 'scheme:a/c');
  });

  it('refuses what cannot be normalized safely', () => {
    for (const uri of [
      'file:///data/../../etc/passwd', // climbs above the root
      'app://host/..', // likewise, right at the root
      'scheme:../x', // above the start of an opaque path
      'file:///data/public/..%2fsecret', // an encoded slash
      'file:///data/public/..%2Fsecret',
      'file:///data/public/..%5csecret', // an encoded backslash
      'file:///data/public/%252e%252e/secret', // double-encoded dots
      'file:///data/public\\..\\secret', // a raw backslash
      'file:///data/a\u0000b', // a control character
      'app://ho%2fst/a', // an encoded slash in the authority
    ]) {
      assert.equal(normalizeResourceUri(uri), undefined, uri);
    }
  });
});
