// Validates response bodies against the official OpenAPI definitions in ../shared/spec: the
// response schema for (file, path, method, status) is loaded from the YAML, its $refs resolved
// across files, and compiled with ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { expect } from 'vitest';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SPEC_DIR = path.resolve(HERE, '../../../shared/spec/data/api/client-server');

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addFormat('mx-user-id', /^@[^:]+:.+$/);
ajv.addFormat('mx-server-name', /^(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+)(?::\d{1,5})?$/);
ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:/i);

const fileCache = new Map<string, unknown>();
function loadYaml(file: string): unknown {
  if (!fileCache.has(file)) fileCache.set(file, parse(readFileSync(file, 'utf8')));
  return fileCache.get(file);
}

function pointer(doc: unknown, ptr: string): unknown {
  return ptr
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

/** Inlines every $ref, resolving relative files against the file that holds the reference. */
function deref(node: unknown, file: string, doc: unknown, depth = 0): unknown {
  if (depth > 50) throw new Error('$ref nesting too deep');
  if (Array.isArray(node)) return node.map((n) => deref(n, file, doc, depth + 1));
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if (typeof obj.$ref === 'string') {
    const [target, frag] = obj.$ref.split('#') as [string, string | undefined];
    const nextFile = target ? path.resolve(path.dirname(file), target) : file;
    // The spec excerpt leaves out some definitions of optional fields (e.g. login's well_known):
    // such a field is accepted as any value rather than failing every validation of the response.
    if (target && !existsSync(nextFile)) return {};
    const nextDoc = target ? loadYaml(nextFile) : doc;
    const resolved = frag ? pointer(nextDoc, frag) : nextDoc;
    const { $ref: _ignored, ...siblings } = obj;
    const inlined = deref(resolved, nextFile, nextDoc, depth + 1) as Record<string, unknown>;
    return Object.keys(siblings).length ? { allOf: [inlined, deref(siblings, file, doc, depth + 1)] } : inlined;
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, deref(v, file, doc, depth + 1)]));
}

const validators = new Map<string, ReturnType<Ajv2020['compile']>>();

/** The compiled response schema for one operation and status in one spec file. */
export function responseValidator(specFile: string, apiPath: string, method: string, status: number) {
  const key = `${specFile} ${method} ${apiPath} ${status}`;
  let v = validators.get(key);
  if (!v) {
    const file = path.join(SPEC_DIR, specFile);
    const doc = loadYaml(file) as Record<string, any>;
    const op = doc.paths?.[apiPath]?.[method.toLowerCase()];
    if (!op) throw new Error(`${specFile} has no ${method} ${apiPath}`);
    const response = op.responses?.[String(status)];
    if (!response) throw new Error(`${specFile} ${method} ${apiPath} defines no ${status} response`);
    const schema = deref(response.content?.['application/json']?.schema, file, doc);
    if (!schema) throw new Error(`${specFile} ${method} ${apiPath} ${status} has no JSON schema`);
    v = ajv.compile(schema as object);
    validators.set(key, v);
  }
  return v;
}

/**
 * Asserts the status is one the spec defines for the operation and the JSON body matches that
 * response's schema. Returns the body for further assertions.
 */
export function expectSpec(
  res: { statusCode: number; body: string; headers: Record<string, unknown> },
  specFile: string,
  apiPath: string,
  method: string,
): any {
  const body = JSON.parse(res.body);
  const validate = responseValidator(specFile, apiPath, method, res.statusCode);
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${method} ${apiPath} ${res.statusCode} body ${res.body}`).toEqual([]);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  return body;
}

/** The standard error schema (definitions/errors/error.yaml), for endpoints outside the spec files. */
export function expectMatrixError(res: { statusCode: number; body: string }, status: number, errcode: string): any {
  const body = JSON.parse(res.body);
  const validate = errorValidator();
  expect(validate(body) ? [] : validate.errors).toEqual([]);
  expect({ status: res.statusCode, errcode: body.errcode }).toEqual({ status, errcode });
  return body;
}

let errorSchema: ReturnType<Ajv2020['compile']> | undefined;
/** The compiled standard error schema (definitions/errors/error.yaml). */
export function errorValidator() {
  if (!errorSchema) {
    const file = path.join(SPEC_DIR, 'definitions/errors/error.yaml');
    errorSchema = ajv.compile(deref(loadYaml(file), file, loadYaml(file)) as object);
  }
  return errorSchema;
}

const definitionValidators = new Map<string, ReturnType<Ajv2020['compile']>>();

/**
 * Validates a response body against a shared definition file (e.g. definitions/auth_response.yaml)
 * for endpoints whose own spec file is not in the excerpt (POST /account/deactivate).
 */
export function expectDefinition(res: { statusCode: number; body: string }, status: number, definitionFile: string): any {
  let v = definitionValidators.get(definitionFile);
  if (!v) {
    const file = path.join(SPEC_DIR, definitionFile);
    v = ajv.compile(deref(loadYaml(file), file, loadYaml(file)) as object);
    definitionValidators.set(definitionFile, v);
  }
  const body = JSON.parse(res.body);
  expect(v(body) ? [] : v.errors, `${definitionFile} body ${res.body}`).toEqual([]);
  expect(res.statusCode).toBe(status);
  return body;
}

/**
 * The spec's m.login.terms params definition (client-server API, "Terms of service at
 * registration"), which the excerpts in ../shared/spec do not include as a file: `policies` maps
 * a policy ID to `{version, <language>: {name, url}}`; URLs are http(s).
 */
const TERMS_PARAMS_SCHEMA = {
  type: 'object',
  required: ['policies'],
  properties: {
    policies: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['version'],
        properties: { version: { type: 'string' } },
        additionalProperties: {
          type: 'object',
          required: ['name', 'url'],
          properties: { name: { type: 'string' }, url: { type: 'string', pattern: '^https?://' } },
        },
      },
    },
  },
};
let termsParams: ReturnType<Ajv2020['compile']> | undefined;

/** Asserts an m.login.terms params object matches the spec's definition. */
export function expectTermsParams(params: unknown): void {
  termsParams ??= ajv.compile(TERMS_PARAMS_SCHEMA);
  expect(termsParams(params) ? [] : termsParams.errors).toEqual([]);
}
