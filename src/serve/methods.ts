// 405 Method Not Allowed: which methods the registered routes answer on a path, so that a
// known path asked with another method says what it takes (with Allow) instead of 404.
import type { FastifyInstance } from 'fastify';

/** Collects every route as it is registered; the returned function lists a path's methods. */
export function allowedMethods(app: FastifyInstance): (path: string) => string[] {
  const routes: { re: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const re = patternOf(route.url ?? route.path);
    for (const method of methods) routes.push({ re, method });
  });
  return (path) => [...new Set(routes.filter((r) => r.re.test(path)).map((r) => r.method))].sort();
}

/** /v1/x/:id → ^/v1/x/[^/]+$ (fastify's parameters match one segment). */
function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}$`);
}
