import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOOLS_BIN = path.join(REPO_ROOT, '.tools', 'bin');

/** Where the dev environment lives: $FERRY_DEV_DIR, else .ferry/dev in the checkout. */
export function defaultDevDir(): string {
  return process.env.FERRY_DEV_DIR
    ? path.resolve(process.env.FERRY_DEV_DIR)
    : path.join(REPO_ROOT, '.ferry', 'dev');
}

export interface DevOptions {
  dir: string;
  hosts: string[];
  temporalPort: number;
  uiPort: number;
  sshPort: number;
  /** Each worker serves Prometheus metrics on its host's own address at this port. */
  metricsPort?: number;
  /** Simulated host N gets address PREFIX.(N+1), e.g. 127.0.1.1, 127.0.1.2. */
  addressPrefix: string;
  /** Start workers with --fault-injection (fault tests only; docs/failure-handling.md). */
  faultInjection?: boolean;
  /** Hosts whose podman/docker get no dev image (to test a destination that lacks it). */
  withoutImage?: string[];
  /** false: no podman storage nor dockerd per host, even when installed (process and runc only). */
  engines?: boolean;
}

export interface DevHostState {
  name: string;
  address: string;
  sshPort: number;
  stateDir: string;
  /** ADDRESS:PORT of the worker's Prometheus endpoint. */
  metricsAddress?: string;
  sshdPid?: number;
  workerPid?: number;
  /** This host has its own podman storage / dockerd (only when installed at dev up). */
  podman?: boolean;
  docker?: boolean;
  dockerdPid?: number;
}

/** Saved in DIR/dev-env.json: everything `dev down` must stop. */
export interface DevState {
  dir: string;
  faultInjection?: boolean;
  temporalPort?: number;
  uiPort?: number;
  temporal: { pid?: number; address: string; uiUrl: string; dbFile: string };
  hosts: DevHostState[];
  configFile: string;
}

export class DevLayout {
  constructor(readonly dir: string) {}
  get stateFile() {
    return path.join(this.dir, 'dev-env.json');
  }
  get configFile() {
    return path.join(this.dir, 'ferry.yaml');
  }
  get logsDir() {
    return path.join(this.dir, 'logs');
  }
  get sshDir() {
    return path.join(this.dir, 'ssh');
  }
  get clientKey() {
    return path.join(this.sshDir, 'id_ed25519');
  }
  get knownHosts() {
    return path.join(this.sshDir, 'known_hosts');
  }
  get authorizedKeys() {
    return path.join(this.sshDir, 'authorized_keys');
  }
  get temporalDb() {
    return path.join(this.dir, 'temporal.db');
  }
  hostDir(host: string) {
    return path.join(this.dir, 'hosts', host);
  }
  hostStateDir(host: string) {
    return path.join(this.hostDir(host), 'state');
  }
  log(name: string) {
    return path.join(this.logsDir, `${name}.log`);
  }
}

/** PATH with ferry's private tools (criu wrapper, ferry-shim, ferry-stateful, temporal) first. */
export function toolsPath(current = process.env.PATH ?? ''): string {
  return current.split(':').includes(TOOLS_BIN) ? current : `${TOOLS_BIN}:${current}`;
}
