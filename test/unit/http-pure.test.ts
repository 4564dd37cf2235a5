// Pure HTTP helpers: the operation a request performs (UIA session binding), the token-bucket
// to fixed-window conversion, and strict JSON body parsing.
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../src/errors.js';
import { parseJsonBody, requireObject } from '../../src/http/body.js';
import { operationOf } from '../../src/http/paths.js';
import { bucketAsWindow } from '../../src/http/rate-limit.js';

describe('operationOf', () => {
  it.each([
    ['POST', '/_matrix/client/v3/register'],
    ['POST', '/_matrix/client/r0/register'],
    ['POST', '/_matrix/client/v1/register'],
    ['POST', '/_matrix/client/v4/register'],
    ['POST', '/_matrix/client/unstable/register'],
    ['POST', '/_matrix/client/unstable/org.matrix.msc0000/register'],
    ['POST', '/_matrix/client/v3/register?kind=user'],
    ['POST', '/_matrix/client/r0/register?kind=user&x=1'],
    ['POST', '/_matrix/client/v3/register/'],
    ['POST', '/_matrix/client/v3/register//'],
    ['POST', '/_matrix/client/v3/register/?kind=user'],
    ['post', '/_matrix/client/v3/register'],
    ['Post', '/_matrix/client/r0/register'],
  ])('%s %s is "POST /register"', (method, url) => {
    expect(operationOf(method, url)).toBe('POST /register');
  });

  it('keeps the rest of the path', () => {
    expect(operationOf('POST', '/_matrix/client/v3/account/password')).toBe('POST /account/password');
    expect(operationOf('GET', '/_matrix/client/v1/register/m.login.registration_token/validity?token=a')).toBe(
      'GET /register/m.login.registration_token/validity',
    );
  });

  it('distinguishes methods and paths', () => {
    expect(operationOf('PUT', '/_matrix/client/v3/register')).not.toBe(operationOf('POST', '/_matrix/client/v3/register'));
    expect(operationOf('POST', '/_matrix/client/v3/register/email/requestToken')).toBe('POST /register/email/requestToken');
    expect(operationOf('POST', '/_matrix/client/v3/account/deactivate')).not.toBe('POST /register');
  });

  it('does not strip prefixes that are not client API versions', () => {
    expect(operationOf('POST', '/_matrix/client/vx/register')).toBe('POST /_matrix/client/vx/register');
    expect(operationOf('POST', '/_synapse/admin/v1/register')).toBe('POST /_synapse/admin/v1/register');
    expect(operationOf('POST', '/_matrix/client/v3register')).toBe('POST /_matrix/client/v3register');
  });

  it('a query string that looks like a path does not change the operation', () => {
    expect(operationOf('POST', '/_matrix/client/v3/register?next=/account/password')).toBe('POST /register');
  });
});

describe('bucketAsWindow', () => {
  it('keeps the burst and the long-run rate', () => {
    expect(bucketAsWindow(0.17, 3)).toEqual({ max: 3, timeWindow: Math.ceil((3 / 0.17) * 1000) });
    expect(bucketAsWindow(0.1, 5)).toEqual({ max: 5, timeWindow: 50_000 });
    expect(bucketAsWindow(1, 1)).toEqual({ max: 1, timeWindow: 1000 });
    expect(bucketAsWindow(10, 100)).toEqual({ max: 100, timeWindow: 10_000 });
  });
  it('rounds the window up to whole milliseconds, never allowing more than the rate', () => {
    for (const [rate, burst] of [[0.17, 3], [0.3, 7], [3, 1], [7, 3]] as const) {
      const w = bucketAsWindow(rate, burst);
      expect(Number.isInteger(w.timeWindow)).toBe(true);
      expect(w.max / (w.timeWindow / 1000)).toBeLessThanOrEqual(rate);
      expect(w.timeWindow - (burst / rate) * 1000).toBeLessThan(1);
    }
  });
});

function matrixError(fn: () => unknown): MatrixError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MatrixError);
    return err as MatrixError;
  }
  throw new Error('expected a MatrixError');
}

describe('parseJsonBody', () => {
  it('an empty body is undefined', () => {
    expect(parseJsonBody(Buffer.alloc(0))).toBeUndefined();
  });
  it('parses JSON values of every kind', () => {
    expect(parseJsonBody(Buffer.from('{"a":1,"b":[true,null,"x"]}'))).toEqual({ a: 1, b: [true, null, 'x'] });
    expect(parseJsonBody(Buffer.from('[]'))).toEqual([]);
    expect(parseJsonBody(Buffer.from('"s"'))).toBe('s');
    expect(parseJsonBody(Buffer.from(' 42 '))).toBe(42);
    expect(parseJsonBody(Buffer.from('null'))).toBeNull();
  });
  it('decodes UTF-8, including astral characters', () => {
    expect(parseJsonBody(Buffer.from('{"name":"Zoë 😀"}', 'utf8'))).toEqual({ name: 'Zoë 😀' });
  });
  it.each([
    ['a lone continuation byte', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d]],
    ['a truncated sequence', [0x22, 0xc3, 0x22]],
    ['an overlong encoding of "/"', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['0xFF', [0x22, 0xff, 0x22]],
    ['Latin-1 é', [0x22, 0xe9, 0x22]],
  ])('refuses invalid UTF-8 (%s) with M_NOT_JSON', (_what, bytes) => {
    const e = matrixError(() => parseJsonBody(Buffer.from(bytes)));
    expect(e.status).toBe(400);
    expect(e.errcode).toBe('M_NOT_JSON');
    expect(e.message).toMatch(/UTF-8/);
  });
  it.each(['{', '{"a":}', "{'a':1}", '{"a":1,}', 'undefined', 'NaN', '{a:1}', '\u0000', 'tru', '{"a":1}x', ' '])(
    'refuses %j with M_NOT_JSON',
    (text) => {
      const e = matrixError(() => parseJsonBody(Buffer.from(text)));
      expect({ status: e.status, errcode: e.errcode }).toEqual({ status: 400, errcode: 'M_NOT_JSON' });
    },
  );
  it('absurdly deep nesting is M_NOT_JSON, never a crash', () => {
    const depth = 1_000_000;
    const text = '['.repeat(depth) + ']'.repeat(depth);
    let result: unknown;
    let error: unknown;
    try {
      result = parseJsonBody(Buffer.from(text));
    } catch (err) {
      error = err;
    }
    // Either V8 parses it (it is valid JSON) or the parser's RangeError becomes M_NOT_JSON.
    if (error !== undefined) {
      expect(error).toBeInstanceOf(MatrixError);
      expect((error as MatrixError).errcode).toBe('M_NOT_JSON');
    } else {
      expect(Array.isArray(result)).toBe(true);
    }
    const unbalanced = matrixError(() => parseJsonBody(Buffer.from('['.repeat(depth))));
    expect(unbalanced.errcode).toBe('M_NOT_JSON');
  });
  it('a leading UTF-8 byte-order mark is ignored (RFC 8259 lets parsers ignore it)', () => {
    expect(parseJsonBody(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toEqual({});
    // ...but only at the start: a BOM inside the text is not JSON whitespace.
    expect(matrixError(() => parseJsonBody(Buffer.from([0x7b, 0xef, 0xbb, 0xbf, 0x7d]))).errcode).toBe('M_NOT_JSON');
  });
});

describe('requireObject', () => {
  it('returns a JSON object', () => {
    expect(requireObject({ a: 1 })).toEqual({ a: 1 });
  });
  it('no body is M_NOT_JSON', () => {
    expect(matrixError(() => requireObject(undefined)).errcode).toBe('M_NOT_JSON');
  });
  it.each([[null], [[]], ['s'], [1], [true]])('%j is M_BAD_JSON', (v) => {
    const e = matrixError(() => requireObject(v));
    expect({ status: e.status, errcode: e.errcode }).toEqual({ status: 400, errcode: 'M_BAD_JSON' });
  });
});
