// What a runtime can do, as one record per runtime (the records live next to their adapters in
// src/runtimes/*-capabilities.ts). Workflows, preflight and validation ask the record; nothing
// else branches on a runtime's name.
import type { MigrationMode } from './mode-names.js';
import type { RuntimeName } from './names.js';

/** Request options that a runtime may hand to CRIU. */
export const CRIU_OPTION_NAMES = ['tcpEstablished', 'fileLocks'] as const;
export type CriuOptionName = (typeof CRIU_OPTION_NAMES)[number];

/** Where an operator finds a checkpoint that ferry kept, to restore it by hand. */
export interface ManualRestorePlace {
  workload: string;
  /** The images folder, written relative to the host's state folder (STATE/...). */
  imagesDir: string;
}

export interface RuntimeCapabilities {
  readonly runtime: RuntimeName;
  /** Every mode: true when the adapter runs it, else why not (shown when a request asks for it). */
  readonly modes: Readonly<Record<MigrationMode, true | string>>;
  /** CRIU options its checkpoint and restore can pass on (refused in validation otherwise). */
  readonly criuOptions: readonly CriuOptionName[];
  /**
   * Image files its restore rewrites in place (podman's archive): a snapshot's restore gets its
   * own copy of these; the other images are hard links of the snapshot's (CRIU only reads them).
   */
  readonly restoreRewrites?: readonly string[];
  /** The command (or steps) that restore a kept checkpoint by hand. */
  manualRestore(place: ManualRestorePlace): string;
}

export const canRun = (c: RuntimeCapabilities, mode: MigrationMode): boolean => c.modes[mode] === true;

/** Lookup of the records, passed to pure code that cannot import the runtimes folder. */
export type CapabilitiesOf = (runtime: RuntimeName) => RuntimeCapabilities;
