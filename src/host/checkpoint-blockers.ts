// What CRIU would refuse about a running workload, read from /proc before anything is frozen.
// Only what /proc shows for certain and CRIU 4.2 is known to refuse: a connected TCP socket
// without --tcp-established, file locks without --file-locks, another user's process when this
// process lacks CAP_SYS_RESOURCE (CRIU cannot read its rlimits), a process already traced.
// Anything else is left to CRIU itself, whose refusal is classified (src/criu/classify.ts).
import { readFile, readdir, readlink } from 'node:fs/promises';
import type { CriuOptionName } from '../domain/capabilities.js';

export interface Blocker {
  /** The rule of src/criu/classify.ts that CRIU's refusal would match (same fix). */
  rule: 'tcp-established' | 'file-locks' | 'rlimit-permission' | 'ptrace-denied';
  problem: string;
  option?: CriuOptionName;
}

/** Kernel TCP states CRIU refuses without --tcp-established (criu/sk-inet.c, can_dump_inet_sk). */
const CONNECTED_STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0B': 'CLOSING',
};

export interface TcpEntry {
  local: string;
  remote: string;
  /** Hex state as in /proc/net/tcp ("01" = ESTABLISHED). */
  state: string;
  inode: number;
}

/** Pure: the rows of /proc/PID/net/tcp or tcp6. */
export function parseProcNetTcp(text: string): TcpEntry[] {
  const out: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    out.push({
      local: hexEndpoint(f[1]!),
      remote: hexEndpoint(f[2]!),
      state: f[3]!.toUpperCase(),
      inode: Number(f[9]),
    });
  }
  return out;
}

/** "0100007F:97F9" → "127.0.0.1:38905"; IPv6 as four little-endian words. */
export function hexEndpoint(hex: string): string {
  const [addr = '', port = '0'] = hex.split(':');
  const p = parseInt(port, 16);
  const words = addr.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return `${bytes.join('.')}:${p}`;
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const v4mapped = groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff';
  const ip = v4mapped ? `::ffff:${bytes.slice(12).join('.')}` : compressV6(groups);
  return `[${ip}]:${p}`;
}

function compressV6(groups: string[]): string {
  let best = { at: -1, len: 0 };
  for (let i = 0; i < groups.length;) {
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.len < 2) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** Pure: the pids holding FLOCK or POSIX locks in /proc/locks (blocked waiters and OFD locks, pid -1, aside). */
export function lockHolders(procLocks: string): number[] {
  const pids = new Set<number>();
  for (const line of procLocks.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[1] === '->') continue;
    if (f[1] !== 'FLOCK' && f[1] !== 'POSIX') continue;
    const pid = Number(f[4]);
    if (pid > 0) pids.add(pid);
  }
  return [...pids];
}

export interface ProcStatus {
  uids: number[];
  gids: number[];
  tracerPid: number;
  /** A zombie: CRIU records it without reading its rlimits. */
  zombie?: boolean;
}

/** Pure: real, effective and saved ids and TracerPid from /proc/PID/status. */
export function parseStatus(text: string): ProcStatus {
  const ids = (key: string) =>
    (new RegExp(`^${key}:\\s+(.+)$`, 'm').exec(text)?.[1] ?? '').split(/\s+/).slice(0, 3).map(Number);
  return {
    uids: ids('Uid'),
    gids: ids('Gid'),
    tracerPid: Number(/^TracerPid:\s+(\d+)/m.exec(text)?.[1] ?? 0),
    ...(/^State:\s+Z/m.test(text) ? { zombie: true } : {}),
  };
}

const CAP_SYS_RESOURCE = 24;

/**
 * The kernel's rule for reading another process's rlimits (check_prlimit_permission): the
 * caller's real uid and gid must equal all of the target's real, effective and saved ids, or
 * the caller needs CAP_SYS_RESOURCE. CRIU reads every task's rlimits.
 */
export function mayReadRlimits(
  self: { uid: number; gid: number; capEff: bigint },
  target: ProcStatus,
): boolean {
  if ((self.capEff >> BigInt(CAP_SYS_RESOURCE)) & 1n) return true;
  return target.uids.every((u) => u === self.uid) && target.gids.every((g) => g === self.gid);
}

/** The process and every descendant (children of all its threads), root first. */
export async function processTree(root: number): Promise<number[]> {
  const seen: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    if (seen.includes(pid)) continue;
    seen.push(pid);
    for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
      const kids = await readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '');
      queue.push(...kids.split(/\s+/).filter(Boolean).map(Number));
    }
  }
  return seen;
}

async function socketInodes(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/** CRIU runs as this process (or a child with its credentials). */
async function selfCredentials(): Promise<{ uid: number; gid: number; capEff: bigint }> {
  const status = await readFile('/proc/self/status', 'utf8');
  const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, capEff };
}

const comm = async (pid: number) => (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();

const listed = (items: string[], max = 3) =>
  items.slice(0, max).join(', ') + (items.length > max ? ` and ${items.length - max} more` : '');

/**
 * What CRIU would refuse about the workload whose first process is root, given the request's
 * CRIU options. Reading /proc freezes nothing. A process that ends meanwhile is skipped.
 */
export async function checkpointBlockers(
  root: number,
  opts: { tcpEstablished?: boolean; fileLocks?: boolean },
): Promise<Blocker[]> {
  const tree = await processTree(root);
  const blockers: Blocker[] = [];
  const self = await selfCredentials();
  const statuses = new Map<number, ProcStatus>();
  for (const pid of tree) {
    const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
    if (text) statuses.set(pid, parseStatus(text));
  }

  if (!opts.tcpEstablished) {
    const owner = new Map<number, number>();
    const netns = new Map<string, number>();
    for (const pid of tree) {
      for (const ino of await socketInodes(pid)) owner.set(ino, pid);
      const ns = await readlink(`/proc/${pid}/ns/net`).catch(() => undefined);
      if (ns && !netns.has(ns)) netns.set(ns, pid);
    }
    const connected: string[] = [];
    for (const pid of netns.values())
      for (const table of ['tcp', 'tcp6']) {
        const rows = parseProcNetTcp(await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => ''));
        for (const r of rows)
          if (CONNECTED_STATES[r.state] && owner.has(r.inode))
            connected.push(
              `${r.local} ↔ ${r.remote} (${CONNECTED_STATES[r.state]}, pid ${owner.get(r.inode)})`,
            );
      }
    if (connected.length)
      blockers.push({
        rule: 'tcp-established',
        option: 'tcpEstablished',
        problem: `it has ${connected.length} connected TCP socket${connected.length > 1 ? 's' : ''} (${listed(connected)}) and the request did not ask CRIU to carry connections`,
      });
  }

  if (!opts.fileLocks) {
    const holders = lockHolders(await readFile('/proc/locks', 'utf8').catch(() => '')).filter((p) =>
      tree.includes(p),
    );
    if (holders.length)
      blockers.push({
        rule: 'file-locks',
        option: 'fileLocks',
        problem: `it holds file locks (pid ${listed(holders.map(String))}) and the request did not ask CRIU to carry them`,
      });
  }

  const foreign: string[] = [];
  const traced: string[] = [];
  for (const [pid, st] of statuses) {
    if (!st.zombie && !mayReadRlimits(self, st))
      foreign.push(`pid ${pid} ${await comm(pid)}, uid ${st.uids.join('/')} gid ${st.gids.join('/')}`);
    // Even a tracer inside the workload: ptrace allows one tracer, and CRIU must be it.
    if (st.tracerPid) traced.push(`pid ${pid} by pid ${st.tracerPid} (${await comm(st.tracerPid)})`);
  }
  if (foreign.length)
    blockers.push({
      rule: 'rlimit-permission',
      problem: `${listed(foreign)} ${foreign.length > 1 ? 'run' : 'runs'} as another user than the ferry worker (uid ${self.uid} gid ${self.gid}), which lacks CAP_SYS_RESOURCE: CRIU could not read ${foreign.length > 1 ? 'their' : 'its'} resource limits ("Can't get rlimit: Operation not permitted")`,
    });
  if (traced.length)
    blockers.push({
      rule: 'ptrace-denied',
      problem: `${listed(traced)} ${traced.length > 1 ? 'are' : 'is'} traced by a process outside the workload (a debugger or strace), so CRIU could not seize ${traced.length > 1 ? 'them' : 'it'}`,
    });
  return blockers;
}
