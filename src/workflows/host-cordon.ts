import { condition, continueAsNew, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import { CORDON_QUERY, SET_CORDON_SIGNAL, type CordonChange, type CordonState } from '../domain/cordon.js';

export const setCordonSignal = defineSignal<[CordonChange]>(SET_CORDON_SIGNAL);
export const cordonQuery = defineQuery<CordonState>(CORDON_QUERY);

/**
 * One long-running entity per host (workflow id cordon-<host>) that holds whether the host is
 * cordoned: no evacuation places workloads on a cordoned host. It survives restarts of
 * everything, like any workflow, and starts anew (continue-as-new) to keep its history short.
 */
export async function hostCordon(initial: CordonState): Promise<void> {
  let state = initial;
  let changes = 0;
  setHandler(setCordonSignal, ({ cordoned, reason }) => {
    state = { host: state.host, cordoned, reason: cordoned ? reason : undefined, sinceMs: Date.now() };
    changes++;
  });
  setHandler(cordonQuery, () => state);
  await condition(() => changes >= 500);
  await continueAsNew<typeof hostCordon>(state);
}
