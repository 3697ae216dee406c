// The request's CRIU options (tcpEstablished, fileLocks) on a runtime's command line, and the
// guard that refuses those a runtime cannot pass on (its capability record says which).
import { CRIU_OPTION_NAMES, type CriuOptionName, type RuntimeCapabilities } from '../domain/capabilities.js';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import type { CriuOptions } from '../domain/types.js';

/** runc, criu and podman spell each option the same way. */
const CRIU_FLAGS: Readonly<Record<CriuOptionName, string>> = {
  tcpEstablished: '--tcp-established',
  fileLocks: '--file-locks',
};

/** CRIU flags for the request's options. */
export function criuFlags(opts: CriuOptions = {}): string[] {
  return CRIU_OPTION_NAMES.filter((o) => opts[o]).map((o) => CRIU_FLAGS[o]);
}

/**
 * Refuses (InvalidInput, naming them) the options this runtime's checkpoint cannot pass to CRIU.
 * Validation refuses such a request up front; the checkpoint activity calls this before every
 * checkpoint too, so no adapter has to repeat the check or silently drop an option.
 */
export function refuseUnsupportedCriuOptions(c: RuntimeCapabilities, opts: CriuOptions = {}): void {
  const refused = CRIU_OPTION_NAMES.filter((o) => opts[o] && !c.criuOptions.includes(o));
  if (refused.length)
    throw ferryFailure(
      ErrorType.InvalidInput,
      `${c.runtime} checkpoints cannot pass ${refused.map((o) => CRIU_FLAGS[o]).join(' or ')} to CRIU`,
    );
}
