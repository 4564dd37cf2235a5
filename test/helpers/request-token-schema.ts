// The spec's definitions/request_token_response.yaml is missing from ../shared/spec (registration.yaml
// and password_management.yaml reference it), so requestToken answers are validated against this
// schema, written from the spec's text for that definition: `sid` (required; the session ID,
// [0-9a-zA-Z.=_-], 1-255 characters) and `submit_url` (optional; a URL where the client can
// submit the token itself). The msisdn variant may add `msisdn` (the number in E.164 digits).
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';

export const REQUEST_TOKEN_RESPONSE_SCHEMA = {
  type: 'object',
  properties: {
    sid: { type: 'string', pattern: '^[0-9a-zA-Z.=_-]{1,255}$' },
    submit_url: { type: 'string', pattern: '^https?://' },
    msisdn: { type: 'string', pattern: '^[1-9][0-9]{6,14}$' },
  },
  required: ['sid'],
} as const;

const validate = new Ajv2020({ strict: false, allErrors: true }).compile(REQUEST_TOKEN_RESPONSE_SCHEMA);

export function expectRequestTokenResponse(res: { statusCode: number; body: string; headers: Record<string, unknown> }): {
  sid: string;
  submit_url?: string;
  msisdn?: string;
} {
  expect(res.statusCode, res.body).toBe(200);
  const body = JSON.parse(res.body);
  expect(validate(body) ? [] : validate.errors).toEqual([]);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  return body;
}
