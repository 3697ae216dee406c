// What an API token may do (docs/api.md#scopes): every GET needs read; each kind of start, and
// the cancel of that kind, needs its own scope. Routes declare theirs in their config.
export const SCOPES = ['read', 'migrate', 'evacuate', 'hibernate', 'snapshot'] as const;
export type Scope = (typeof SCOPES)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; GET and HEAD routes need read when they name none. */
    scope?: Scope;
  }
  interface FastifyRequest {
    /** The name of the token the request came with (routes under /v1/). */
    apiToken?: string;
  }
}

/** The scope a request to a route needs: its own, read for reads, none known otherwise. */
export function scopeNeeded(method: string, declared: Scope | undefined): Scope | undefined {
  return declared ?? (method === 'GET' || method === 'HEAD' ? 'read' : undefined);
}
