// The API's error answers, shared by the server's hooks and its routes: one body shape
// ({"error": {code, message, ...}}) and one mapping from ferry's refusals to HTTP statuses.
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { MigrationRequestError } from '../client/ferry-client.js';
import { describeIssues, type errorSchema } from './schemas.js';

export type ErrorBody = z.infer<typeof errorSchema>['error'];

export function fail(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="ferry"');
  return reply.code(status).send({ error: body });
}

/** gRPC UNAVAILABLE / DEADLINE_EXCEEDED from the Temporal connection. */
export function temporalUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 14 || code === 4 || (err as Error).name === 'TransportError';
}

/** Request problems before anything started: 400, 409 or 503 with what to do. */
export function refused(reply: FastifyReply, err: unknown): FastifyReply | undefined {
  if (!(err instanceof MigrationRequestError)) return undefined;
  const status = { invalid: 400, conflict: 409, 'no-worker': 503 }[err.problem];
  const code = ({ invalid: 'invalid-input', conflict: 'conflict', 'no-worker': 'no-worker' } as const)[
    err.problem
  ];
  return fail(reply, status, {
    code,
    message: err.message,
    ...(err.workflowId ? { workflowId: err.workflowId } : {}),
  });
}

/** A body the request schema refused: 400 naming each field. */
export function invalid(reply: FastifyReply, error: z.ZodError, body: unknown): FastifyReply {
  const problems = describeIssues(error, body);
  return fail(reply, 400, {
    code: 'invalid-input',
    message: `invalid request, nothing was started: ${problems.map((p) => p.message.replace(/\.$/, '')).join('; ')}`,
    problems,
  });
}
