// Stable error type names. Retry policies (nonRetryableErrorTypes) and compensation logic
// match on these strings, so they never change meaning.
export const ErrorType = {
  InvalidInput: 'InvalidInput',
  UnknownHost: 'UnknownHost',
  WorkloadNotFound: 'WorkloadNotFound',
  WorkloadNotRunning: 'WorkloadNotRunning',
  WorkloadAlreadyOnDestination: 'WorkloadAlreadyOnDestination',
  /**
   * A container that is not running (created, exited, …) holds the workload's name on the
   * destination; ferry replaces it only when the request says replaceStopped.
   */
  NameTakenOnDestination: 'NameTakenOnDestination',
  RuntimeUnavailable: 'RuntimeUnavailable',
  CriuUnavailable: 'CriuUnavailable',
  InsufficientSpace: 'InsufficientSpace',
  CheckpointFailed: 'CheckpointFailed',
  TransferFailed: 'TransferFailed',
  RestoreFailed: 'RestoreFailed',
  RestorePidBusy: 'RestorePidBusy',
  VerifyFailed: 'VerifyFailed',
  HostUnavailable: 'HostUnavailable',
  CommandFailed: 'CommandFailed',
  /** The requested migration mode cannot run between these hosts (or for this runtime). */
  ModeUnavailable: 'ModeUnavailable',
  ImageMissing: 'ImageMissing',
  /** The image loaded on the destination has another id than the one the container runs on the source. */
  ImageMismatch: 'ImageMismatch',
  NotMovable: 'NotMovable',
  /**
   * A runc container's bundle (config.json, rootfs) is not where runc's state says: no restore
   * could run, here or on the destination. Found by the source's preflight, before any freeze.
   */
  BundleMissing: 'BundleMissing',
  /** Post-copy: the lazy page transfer between the hosts failed (the pages cannot be retried). */
  PostcopyFailed: 'PostcopyFailed',
  /**
   * Something about the workload that CRIU cannot checkpoint (a connected TCP socket without
   * --tcp-established, another user's process, an unsupported file or socket, ...): another
   * attempt would freeze it again and fail the same way. The message quotes CRIU and names the fix.
   */
  NotCheckpointable: 'NotCheckpointable',
  /** No snapshot with this id in the catalog, or none on the host that should hold a copy. */
  SnapshotNotFound: 'SnapshotNotFound',
  /** A snapshot's files no longer match the checksum recorded when it was taken. */
  SnapshotCorrupt: 'SnapshotCorrupt',
  /** Removing it would break snapshots that depend on it (incremental children). */
  SnapshotHasDependents: 'SnapshotHasDependents',
  /** The host's snapshot store would not survive a reboot (tmpfs, under /run): no hibernation. */
  StoreNotDurable: 'StoreNotDurable',
  /** The peer's SSH host key is unknown to, or differs from, the known_hosts file: fix that file. */
  HostKeyRejected: 'HostKeyRejected',
  /**
   * Source and destination mount their cgroups differently (v1, hybrid, v2) and the runtime's
   * restore puts the container back into the cgroups it was dumped in (docs/cgroups.md).
   */
  CgroupLayoutMismatch: 'CgroupLayoutMismatch',
} as const;
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/** Errors that retrying the same activity cannot fix. */
export const NON_RETRYABLE_ERROR_TYPES: ErrorTypeName[] = [
  ErrorType.InvalidInput,
  ErrorType.UnknownHost,
  ErrorType.WorkloadNotFound,
  ErrorType.WorkloadNotRunning,
  ErrorType.WorkloadAlreadyOnDestination,
  ErrorType.NameTakenOnDestination,
  ErrorType.RuntimeUnavailable,
  ErrorType.CriuUnavailable,
  ErrorType.InsufficientSpace,
  ErrorType.VerifyFailed,
  ErrorType.ModeUnavailable,
  ErrorType.ImageMissing,
  ErrorType.ImageMismatch,
  ErrorType.NotMovable,
  ErrorType.BundleMissing,
  ErrorType.PostcopyFailed,
  ErrorType.NotCheckpointable,
  ErrorType.SnapshotNotFound,
  ErrorType.SnapshotCorrupt,
  ErrorType.SnapshotHasDependents,
  ErrorType.StoreNotDurable,
  ErrorType.HostKeyRejected,
  ErrorType.CgroupLayoutMismatch,
];
