import { readFile } from 'node:fs/promises';
import { classifyCgroupLayout, type CgroupLayout } from '../domain/cgroup-layout.js';

/** This host's cgroup layout (v1, hybrid, v2), from the mount table ferry's worker sees. */
export async function hostCgroupLayout(): Promise<CgroupLayout> {
  return classifyCgroupLayout(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
}
