// What the cgroup v2 guest (cgroup-v2-main.ts) reports, and the closing lines of the proof.
import type { CgroupLayout } from '../domain/cgroup-layout.js';
import type { Continuity } from '../domain/output-analysis.js';

export const CGROUP_REPORT_MARK = 'FERRY-CGROUP-V2-REPORT ';
export const PROVED_RUNTIMES = ['process', 'runc', 'podman'] as const;

export interface RuntimeProof {
  ok: boolean;
  /** Why not, when not ok. */
  why?: string;
  /** The workload's cgroup on each simulated host (the unified line of /proc/PID/cgroup). */
  sourceCgroup?: string;
  restoredCgroup?: string;
  destinationLayout?: CgroupLayout;
  checkpointMs?: number;
  restoreMs?: number;
  continuity?: Continuity;
  /** The restore from images without their memory: how it was refused, and cgroups it left. */
  failedRestore?: { refused?: string; left: string[] };
}

export interface CgroupGuestReport {
  kernel?: string;
  layout?: CgroupLayout;
  subtreeControl?: string;
  criuVersion?: string;
  runtimes: Partial<Record<(typeof PROVED_RUNTIMES)[number], RuntimeProof>>;
  error?: string;
}

/** One line per runtime, exactly `cgroup v2 RUNTIME: ok` or `cgroup v2 RUNTIME: failed: WHY`. */
export function verdictLines(report: CgroupGuestReport): string[] {
  return PROVED_RUNTIMES.map((rt) => {
    const p = report.runtimes?.[rt];
    if (report.layout !== undefined && report.layout !== 'v2')
      return `cgroup v2 ${rt}: failed: the guest's cgroup layout is ${report.layout}, not v2`;
    if (!p) return `cgroup v2 ${rt}: failed: ${oneLine(report.error ?? 'the guest did not get to it')}`;
    return p.ok ? `cgroup v2 ${rt}: ok` : `cgroup v2 ${rt}: failed: ${oneLine(p.why ?? 'unknown')}`;
  });
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
