// What /proc says about a process tree that ferry is asked to adopt: its members, what they
// hold open, who else holds the same pipes and sockets, its namespaces. Read once, on the
// source host; judged by the pure checks in adoption-checks.ts. The parsers are pure too.
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { run } from '../exec/run.js';

export interface ProcInfo {
  pid: number;
  /** Thread group (process) id: differs from pid when pid names a thread. */
  tgid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** One letter of /proc/PID/stat (R, S, D, T, Z, ...). */
  state: string;
  comm: string;
  /** Real uid. */
  uid: number;
  startTime: number;
}

export type FdKind = 'null' | 'tty' | 'device' | 'file' | 'dir' | 'pipe' | 'socket' | 'anon' | 'other';

export interface FdInfo {
  pid: number;
  fd: number;
  target: string;
  kind: FdKind;
  /** Opened for writing (O_WRONLY or O_RDWR). */
  writable: boolean;
  /** The file was unlinked while open: CRIU copies it into the images (up to --ghost-limit). */
  deleted: boolean;
  size?: number;
  /** Pipe or socket inode. */
  ino?: number;
}

export interface SocketInfo {
  ino: number;
  proto: 'tcp' | 'udp' | 'unix';
  state: 'listen' | 'connected' | 'other';
  local?: string;
  remote?: string;
  /** unix: the inode of the socket at the other end (0 or absent: none). */
  peerIno?: number;
}

/** Who holds a pipe or socket inode, when it is a process outside the tree. */
export interface Holder {
  pid: number;
  comm: string;
}

export interface TreeFacts {
  root: ProcInfo;
  /** The root and all its descendants (children, their children, ...), root first. */
  members: ProcInfo[];
  /** Processes of the root's session or process group (when it leads them) that are not members. */
  groupOutsiders: ProcInfo[];
  fds: FdInfo[];
  /** The members' TCP, UDP and unix sockets, by inode. */
  sockets: SocketInfo[];
  /** Inodes (pipes, unix socket peers) held by processes outside the tree. */
  outsideHolders: Record<number, Holder>;
  /** Namespaces (pid, mnt, net, ...) in which the root differs from this worker. */
  foreignNamespaces: string[];
  /** /proc/ROOT/cgroup, for a hint at the container runtime. */
  cgroup: string;
  /** Files the tree needs where it is restored: executables, mapped files, cwd, root. */
  mappedPaths: string[];
  worker: { pid: number; uid: number; hasSysResource: boolean };
}

/** Fields of /proc/PID/stat; comm may hold spaces and parentheses, so split after the last ")". */
export function parseStat(text: string): Omit<ProcInfo, 'tgid' | 'uid'> | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  const num = (i: number) => Number(rest[i]);
  const info = {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: num(1),
    pgid: num(2),
    sid: num(3),
    startTime: num(19),
  };
  return Number.isFinite(info.pid) && Number.isFinite(info.startTime) ? info : undefined;
}

/** Tgid and real uid from /proc/PID/status. */
export function parseStatus(text: string): { tgid?: number; uid?: number; capEff?: bigint } {
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(text)?.[1];
  const capEff = field('CapEff');
  return {
    tgid: field('Tgid') === undefined ? undefined : Number(field('Tgid')),
    uid: field('Uid') === undefined ? undefined : Number(field('Uid')),
    capEff: capEff === undefined ? undefined : BigInt(`0x${capEff}`),
  };
}

const CAP_SYS_RESOURCE = 24n;
export const hasCapability = (capEff: bigint | undefined, cap: bigint = CAP_SYS_RESOURCE): boolean =>
  capEff !== undefined && ((capEff >> cap) & 1n) === 1n;

/** Access mode of an open file from /proc/PID/fdinfo/FD ("flags:" is octal): writable or not. */
export function parseFdinfoWritable(text: string): boolean {
  const flags = /^flags:\s*([0-7]+)/m.exec(text)?.[1];
  return flags !== undefined && (parseInt(flags, 8) & 3) !== 0;
}

/** Character devices that are terminals: tty0-63 and serial (4), tty/console/ptmx (5), pts (136-143). */
const TTY_MAJORS = new Set([4, 5, 136, 137, 138, 139, 140, 141, 142, 143]);

export function classifyFd(
  target: string,
  st?: { isFile: boolean; isDirectory: boolean; isCharDevice: boolean; rdevMajor: number },
): { kind: FdKind; ino?: number; deleted: boolean } {
  const inode = /^(pipe|socket):\[(\d+)\]$/.exec(target);
  if (inode) return { kind: inode[1] as 'pipe' | 'socket', ino: Number(inode[2]), deleted: false };
  if (target.startsWith('anon_inode:')) return { kind: 'anon', deleted: false };
  const deleted = target.endsWith(' (deleted)');
  if (target === '/dev/null') return { kind: 'null', deleted };
  if (!st) return { kind: /^\/dev\/(pts\/|tty|console$|ptmx$)/.test(target) ? 'tty' : 'other', deleted };
  if (st.isCharDevice) return { kind: TTY_MAJORS.has(st.rdevMajor) ? 'tty' : 'device', deleted };
  if (st.isFile) return { kind: 'file', deleted };
  if (st.isDirectory) return { kind: 'dir', deleted };
  return { kind: 'other', deleted };
}

/** TCP states of /proc/net/tcp: 0A is LISTEN, 07 CLOSE; every other one has (or had) a peer. */
export function parseProcNetInet(text: string, proto: 'tcp' | 'udp'): SocketInfo[] {
  const out: SocketInfo[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const ino = Number(f[9]);
    if (!ino) continue;
    const st = f[3]!.toUpperCase();
    const state =
      proto === 'udp'
        ? st === '01'
          ? 'connected'
          : 'other'
        : st === '0A'
          ? 'listen'
          : st === '07'
            ? 'other'
            : 'connected';
    out.push({ ino, proto, state, local: inetAddress(f[1]!), remote: inetAddress(f[2]!) });
  }
  return out;
}

/** "0100007F:1F90" (little-endian IPv4, hex port) → "127.0.0.1:8080"; IPv6 stays hex. */
export function inetAddress(hex: string): string {
  const [addr = '', port = '0'] = hex.split(':');
  const p = parseInt(port, 16);
  if (addr.length !== 8) return `[${addr}]:${p}`;
  const bytes = [0, 2, 4, 6].map((i) => parseInt(addr.slice(i, i + 2), 16)).reverse();
  return `${bytes.join('.')}:${p}`;
}

/**
 * `ss -xnaH` lines: "u_str ESTAB 0 0 /run/x.sock 1234 * 1235". The local path may hold spaces,
 * the peer's address never does (ss prints "*" or the path it connected to).
 */
export function parseSsUnix(text: string): SocketInfo[] {
  const out: SocketInfo[] = [];
  for (const line of text.split('\n')) {
    const m = /^\S+\s+(\S+)\s+\d+\s+\d+\s+(.*?)\s+(\d+)\s+(\S+)\s+(\d+)(\s.*)?$/.exec(line.trim());
    if (!m) continue;
    const state = m[1] === 'LISTEN' ? 'listen' : m[1] === 'ESTAB' ? 'connected' : 'other';
    out.push({ ino: Number(m[3]), proto: 'unix', state, local: m[2], peerIno: Number(m[5]) });
  }
  return out;
}

/** Paths of file-backed mappings in /proc/PID/maps (without " (deleted)" ones: CRIU keeps those). */
export function parseMappedPaths(text: string): string[] {
  const paths = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\S+\s+\S+\s+\S+\s+\S+\s+\d+\s+(\/.*)$/.exec(line);
    if (m && !m[1]!.endsWith(' (deleted)')) paths.add(m[1]!);
  }
  return [...paths];
}

export async function readProc(pid: number): Promise<ProcInfo | undefined> {
  const [statText, statusText] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined),
    readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined),
  ]);
  const s = statText && parseStat(statText);
  const status = statusText ? parseStatus(statusText) : {};
  if (!s || status.tgid === undefined || status.uid === undefined) return undefined;
  return { ...s, pid, tgid: status.tgid, uid: status.uid };
}

/** Every process on the host (not threads), as far as they did not exit while being read. */
async function allProcesses(): Promise<ProcInfo[]> {
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
  const infos = await Promise.all(pids.map(readProc));
  return infos.filter((p): p is ProcInfo => p !== undefined);
}

/** The root and its descendants, root first, from the whole process table. */
function treeOf(root: ProcInfo, all: ProcInfo[]): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const members: ProcInfo[] = [root];
  for (let i = 0; i < members.length; i++) members.push(...(children.get(members[i]!.pid) ?? []));
  return members;
}

/** The same from /proc/PID/task/TID/children (a child belongs to the thread that forked it). */
async function descendants(root: ProcInfo): Promise<ProcInfo[]> {
  const members: ProcInfo[] = [root];
  for (let i = 0; i < members.length; i++) {
    const pid = members[i]!.pid;
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
    const kids = await Promise.all(
      tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')),
    );
    const pids = kids.join(' ').split(/\s+/).filter(Boolean).map(Number);
    members.push(...(await Promise.all(pids.map(readProc))).filter((p): p is ProcInfo => !!p));
  }
  return members;
}

async function readFds(pid: number): Promise<FdInfo[]> {
  const names = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const fds = await Promise.all(
    names.map(async (name): Promise<FdInfo | undefined> => {
      const fd = Number(name);
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
      if (target === undefined) return undefined;
      const st = await stat(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
      const c = classifyFd(
        target,
        st && {
          isFile: st.isFile(),
          isDirectory: st.isDirectory(),
          isCharDevice: st.isCharacterDevice(),
          rdevMajor: Math.floor(st.rdev / 256) & 0xfff,
        },
      );
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      return {
        pid,
        fd,
        target,
        ...c,
        writable: parseFdinfoWritable(info),
        ...(st && c.kind === 'file' ? { size: st.size } : {}),
      };
    }),
  );
  return fds.filter((f): f is FdInfo => f !== undefined).sort((a, b) => a.fd - b.fd);
}

/** For each wanted inode, one process outside the tree that holds it (pipe:[N] or socket:[N]). */
async function findHolders(wanted: Set<number>, outsiders: ProcInfo[]): Promise<Record<number, Holder>> {
  const found: Record<number, Holder> = {};
  if (!wanted.size) return found;
  await Promise.all(
    outsiders.map(async (p) => {
      const names = await readdir(`/proc/${p.pid}/fd`).catch(() => [] as string[]);
      for (const name of names) {
        const target = await readlink(`/proc/${p.pid}/fd/${name}`).catch(() => '');
        const ino = Number(/^(?:pipe|socket):\[(\d+)\]$/.exec(target)?.[1]);
        if (wanted.has(ino) && !found[ino]) found[ino] = { pid: p.pid, comm: p.comm };
      }
    }),
  );
  return found;
}

const NAMESPACES = ['pid', 'mnt', 'net', 'ipc', 'uts', 'user', 'cgroup'];

async function foreignNamespaces(pid: number): Promise<string[]> {
  const differ = await Promise.all(
    NAMESPACES.map(async (ns) => {
      const [theirs, ours] = await Promise.all([
        readlink(`/proc/${pid}/ns/${ns}`).catch(() => undefined),
        readlink(`/proc/self/ns/${ns}`).catch(() => undefined),
      ]);
      return theirs !== undefined && ours !== undefined && theirs !== ours ? ns : undefined;
    }),
  );
  return differ.filter((n): n is string => n !== undefined);
}

async function mappedPaths(pid: number): Promise<string[]> {
  const links = await Promise.all(
    ['exe', 'cwd', 'root'].map((l) => readlink(`/proc/${pid}/${l}`).catch(() => undefined)),
  );
  const maps = parseMappedPaths(await readFile(`/proc/${pid}/maps`, 'utf8').catch(() => ''));
  return [...links.filter((l): l is string => !!l && !l.endsWith(' (deleted)')), ...maps];
}

async function readSockets(rootPid: number, inodes: Set<number>): Promise<SocketInfo[]> {
  if (!inodes.size) return [];
  const inet = (
    await Promise.all(
      (['tcp', 'tcp6', 'udp', 'udp6'] as const).map(async (f) =>
        parseProcNetInet(
          await readFile(`/proc/${rootPid}/net/${f}`, 'utf8').catch(() => ''),
          f.startsWith('tcp') ? 'tcp' : 'udp',
        ),
      ),
    )
  )
    .flat()
    .filter((s) => inodes.has(s.ino));
  // ss is the one tool here that names a unix socket's peer: asked only for sockets left over.
  const rest = new Set([...inodes].filter((i) => !inet.some((s) => s.ino === i)));
  const unix = rest.size
    ? parseSsUnix((await run('ss', ['-xnaH']).catch(() => ({ stdout: '' }))).stdout).filter((s) =>
        rest.has(s.ino),
      )
    : [];
  return [...inet, ...unix];
}

/**
 * Everything the adoption checks look at, or undefined when no such process runs here. With
 * filesOnly, only the members, their descriptors and mapped files (what a running workload's
 * needs, its checkpoint and its stop ask for): no sockets, holders or namespaces.
 */
export async function readTree(
  pid: number,
  opts: { filesOnly?: boolean } = {},
): Promise<TreeFacts | undefined> {
  const root = await readProc(pid);
  if (!root) return undefined;
  // The quick walk (children of each thread) suffices for the files; the checks also need
  // everyone else, so they read all of /proc once.
  const all = opts.filesOnly ? [] : await allProcesses();
  const members = opts.filesOnly ? await descendants(root) : treeOf(root, all);
  const inTree = new Set(members.map((m) => m.pid));
  const outsiders = all.filter((p) => !inTree.has(p.pid));
  const fds = (await Promise.all(members.map((m) => readFds(m.pid)))).flat();
  const mapped = [...new Set((await Promise.all(members.map((m) => mappedPaths(m.pid)))).flat())];
  const statusSelf = parseStatus(await readFile('/proc/self/status', 'utf8'));
  const worker = {
    pid: process.pid,
    uid: process.geteuid?.() ?? 0,
    hasSysResource: hasCapability(statusSelf.capEff),
  };
  const base = { root, members, fds, mappedPaths: mapped, worker };
  if (opts.filesOnly)
    return {
      ...base,
      groupOutsiders: [],
      sockets: [],
      outsideHolders: {},
      foreignNamespaces: [],
      cgroup: '',
    };
  const socketInodes = new Set(fds.filter((f) => f.kind === 'socket').map((f) => f.ino!));
  const sockets = await readSockets(pid, socketInodes);
  const wanted = new Set([
    ...fds.filter((f) => f.kind === 'pipe').map((f) => f.ino!),
    ...sockets.filter((s) => s.peerIno && !socketInodes.has(s.peerIno)).map((s) => s.peerIno!),
  ]);
  return {
    ...base,
    groupOutsiders: outsiders.filter(
      (p) =>
        (root.sid === root.pid && p.sid === root.sid) || (root.pgid === root.pid && p.pgid === root.pgid),
    ),
    sockets,
    outsideHolders: await findHolders(wanted, outsiders),
    foreignNamespaces: await foreignNamespaces(pid),
    cgroup: await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => ''),
  };
}
