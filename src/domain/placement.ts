// Where each workload of an evacuated host goes. Pure: unit-tested, used by the workflow.
import type { RuntimeName } from './names.js';

export interface PlacementWorkload {
  name: string;
  runtime: RuntimeName;
  rssBytes: number;
}

export interface PlacementCandidate {
  host: string;
  freeMemoryBytes: number;
  freeDiskBytes: number;
  runtimes: RuntimeName[];
  criuVersion: string;
}

export interface Placement {
  assignments: { workload: PlacementWorkload; destination: string }[];
  unplaced: { workload: PlacementWorkload; reason: string }[];
}

/** Room a workload's checkpoint images need on disk: about its memory, plus a margin for the bundle and logs. */
export function imageSpaceNeeded(rssBytes: number): number {
  return Math.ceil(rssBytes * 1.2) + 64 * 1024 * 1024;
}

/** "4.2.1" >= "4.2"? Compares numerically, field by field. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map((n) => parseInt(n, 10) || 0);
  const b = minimum.split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/**
 * Largest workloads first; each goes to the eligible candidate with the most memory left after
 * what was already placed there (spreads load), fewest placements breaking ties. Eligible: runs
 * the workload's runtime, CRIU at least the source's (images are restored by it), room for the
 * images on disk and for the workload in memory.
 */
export function planPlacement(
  workloads: PlacementWorkload[],
  candidates: PlacementCandidate[],
  sourceCriuVersion: string,
): Placement {
  const left = candidates.map((c) => ({ ...c, placed: 0 }));
  const placement: Placement = { assignments: [], unplaced: [] };
  for (const w of [...workloads].sort((x, y) => y.rssBytes - x.rssBytes || x.name.localeCompare(y.name))) {
    const needDisk = imageSpaceNeeded(w.rssBytes);
    const reasons: string[] = [];
    const eligible = left.filter((c) => {
      if (!c.runtimes.includes(w.runtime)) return void reasons.push(`${c.host}: no ${w.runtime}`);
      if (!versionAtLeast(c.criuVersion, sourceCriuVersion))
        return void reasons.push(
          `${c.host}: CRIU ${c.criuVersion} older than the source's ${sourceCriuVersion}`,
        );
      if (c.freeDiskBytes < needDisk) return void reasons.push(`${c.host}: not enough disk`);
      if (c.freeMemoryBytes < w.rssBytes) return void reasons.push(`${c.host}: not enough memory`);
      return true;
    });
    const best = eligible.sort((x, y) => y.freeMemoryBytes - x.freeMemoryBytes || x.placed - y.placed)[0];
    if (!best) {
      placement.unplaced.push({
        workload: w,
        reason: candidates.length
          ? `no destination fits: ${reasons.join('; ')}`
          : 'no destination candidates (all cordoned or unreachable)',
      });
      continue;
    }
    best.freeMemoryBytes -= w.rssBytes;
    best.freeDiskBytes -= needDisk;
    best.placed++;
    placement.assignments.push({ workload: w, destination: best.host });
  }
  return placement;
}

/** Shell-style name filter ("web-*", "db-?") as a whole-name match. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** A workload matches when it has every key=value of the selector. */
export function matchesLabels(
  labels: Record<string, string> | undefined,
  selector: Record<string, string> | undefined,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

/** "k=v" strings (CLI) into a selector; refuses anything else. */
export function parseLabels(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const m = /^([A-Za-z0-9_.-]{1,63})=([A-Za-z0-9_.:-]{0,63})$/.exec(p);
    if (!m) throw new Error(`label "${p}" must look like key=value (letters, digits, "_.-"; value also ":")`);
    out[m[1]!] = m[2]!;
  }
  return out;
}
