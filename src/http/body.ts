// Request bodies. Matrix clients send JSON, sometimes without a Content-Type (or with curl's
// default application/x-www-form-urlencoded), so every body is parsed as strict UTF-8 JSON
// whatever its declared type: unparseable is M_NOT_JSON, a body that is not a JSON object is
// M_BAD_JSON. The one exception: routes marked `config: { formBody: true }` (the UIA fallback
// pages' HTML forms) get an application/x-www-form-urlencoded body as a FormBody.
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route accepts HTML form posts (application/x-www-form-urlencoded). */
    formBody?: boolean;
  }
}

/** A parsed HTML form post: each field's first value (repeated fields are not used by our forms). */
export class FormBody {
  readonly fields: ReadonlyMap<string, string>;
  constructor(text: string) {
    const fields = new Map<string, string>();
    for (const [k, v] of new URLSearchParams(text)) if (!fields.has(k)) fields.set(k, v);
    this.fields = fields;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw errors.notJson('Content is not valid UTF-8.');
  }
  try {
    return JSON.parse(text);
  } catch {
    // Includes RangeError from absurdly deep nesting.
    throw errors.notJson();
  }
}

export function registerBodyParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, raw, done) => {
    try {
      done(null, parseJsonBody(raw as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit }, (req, raw, done) => {
    try {
      if (req.routeOptions.config.formBody === true) {
        let text: string;
        try {
          text = utf8.decode(raw as Buffer);
        } catch {
          throw errors.badJson('Form content is not valid UTF-8.');
        }
        done(null, new FormBody(text));
      } else {
        done(null, parseJsonBody(raw as Buffer));
      }
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** The body as a JSON object, or M_NOT_JSON / M_BAD_JSON. */
export function requireObject(body: unknown): Record<string, unknown> {
  if (body === undefined) throw errors.notJson('A JSON object body is required.');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw errors.badJson('The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}
