// The host cordon entity (src/workflows/host-cordon.ts) as its callers see it: workflow id,
// signal and query names, state. Pure, so the control activities and the client can signal and
// query it without importing workflow code.

export interface CordonState {
  host: string;
  cordoned: boolean;
  reason?: string;
  sinceMs?: number;
}

/** The argument of the setCordon signal. */
export interface CordonChange {
  cordoned: boolean;
  reason?: string;
}

export const HOST_CORDON_WORKFLOW = 'hostCordon';
export const SET_CORDON_SIGNAL = 'setCordon';
export const CORDON_QUERY = 'cordon';
export const cordonWorkflowId = (host: string) => `cordon-${host}`;
