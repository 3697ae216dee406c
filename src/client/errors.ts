/**
 * Why a request was refused: `invalid` (bad or unknown names, bad options), `conflict` (one of
 * the same workload or host already runs), `no-worker` (a host's worker is not polling).
 */
export type RequestProblem = 'invalid' | 'conflict' | 'no-worker';

/** A request ferry refuses before starting anything; the workload is untouched. */
export class MigrationRequestError extends Error {
  override name = 'MigrationRequestError';
  constructor(
    message: string,
    readonly problem: RequestProblem = 'invalid',
    /** The running workflow a conflict is with. */
    readonly workflowId?: string,
  ) {
    super(message);
  }
}

/** Why a workflow itself failed, as RunState reports it. */
export interface RunFailure {
  type?: string;
  message: string;
}

/** The innermost cause of a workflow failure: its application type and message. */
export function describeFailure(err: Error): RunFailure {
  let e: (Error & { cause?: unknown; type?: string }) | undefined = err;
  while (e?.cause instanceof Error) e = e.cause as Error & { cause?: unknown; type?: string };
  return { ...(e?.type ? { type: e.type } : {}), message: e?.message ?? String(err) };
}
