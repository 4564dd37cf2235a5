// Where endpoints live: the current v3 prefix and the legacy r0 prefix that older clients use.
import type { FastifyInstance, RouteOptions } from 'fastify';

export const CLIENT_PREFIXES = ['/_matrix/client/v3', '/_matrix/client/r0'] as const;

/** Registers one route under every client prefix. */
export function clientRoute(app: FastifyInstance, subpath: string, route: Omit<RouteOptions, 'url'>): void {
  for (const prefix of CLIENT_PREFIXES) app.route({ ...route, url: `${prefix}${subpath}` } as RouteOptions);
}

/**
 * The operation a request performs, independent of API version prefix and query string, e.g.
 * "POST /register". UIA sessions are bound to it.
 */
export function operationOf(method: string, url: string): string {
  const path = url.split('?')[0]!.replace(/^\/_matrix\/client\/(?:v\d+|r0|unstable(?:\/[^/]+)?)(?=\/)/, '');
  return `${method.toUpperCase()} ${path.replace(/\/+$/, '')}`;
}
