import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkName, RUNTIMES } from '../domain/names.js';
import { DEFAULT_SLOT_LIMITS } from '../host/slots.js';

const hostName = z.string().superRefine((v, ctx) => {
  const problem = checkName('host', v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

// Absolute, no "..", no white space or characters that would need quoting in rsync/ssh options.
const safePath = z
  .string()
  .regex(/^\/[A-Za-z0-9_./-]*$/, 'must be an absolute path of letters, digits and "_./-"')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** Podman of this host; omitted settings mean podman's own defaults (system storage). */
const podmanSchema = z
  .object({
    root: safePath.optional(),
    runroot: safePath.optional(),
    /** containers.conf for this host (CONTAINERS_CONF): runtime, cgroup manager, ulimits. */
    containersConf: safePath.optional(),
    /** Network namespace podman runs in (nsenter --net=PATH), e.g. a simulated host's. */
    netns: safePath.optional(),
  })
  .strict();

/** The dockerd of this host (started with --experimental: checkpoints need it). */
const dockerSchema = z
  .object({
    socket: safePath.default('/var/run/docker.sock'),
    /** The docker client to call; the one packaged with the daemon speaks its API version. */
    client: safePath.default('/usr/bin/docker'),
    /**
     * Where dockerd's runc wrapper (bin/ferry-docker-runc) keeps CRIU's work files; set it to
     * the wrapper's --criu-work-root so that failed checkpoints and restores quote CRIU's log.
     */
    criuWorkRoot: safePath.optional(),
  })
  .strict();

/**
 * runc of this host: the state root its containers live in (`runc --root`). runc's own default,
 * so that containers users start with plain `runc run` are found; the dev environment gives
 * each simulated host its own (STATE/runc).
 */
export const DEFAULT_RUNC_ROOT = '/run/runc';
const runcSchema = z.object({ root: safePath.default(DEFAULT_RUNC_ROOT) }).strict();

/**
 * How many heavy steps this host's worker runs at once (docs/configuration.md#limits): CRIU
 * commands (dump, pre-dump, restore) and transfers (rsync, image save/load); a step over the
 * limit waits for a slot inside its activity. `activities`: Temporal activity tasks the worker
 * takes at once (waiting ones included), so a step never waits at the server past its 30 s
 * schedule-to-start. Defaults suit a 2-core host.
 */
export const DEFAULT_HOST_LIMITS = { ...DEFAULT_SLOT_LIMITS, activities: 64 } as const;
const limitsSchema = z
  .object({
    criu: z.number().int().min(1).default(DEFAULT_HOST_LIMITS.criu),
    transfer: z.number().int().min(1).default(DEFAULT_HOST_LIMITS.transfer),
    activities: z.number().int().min(4).default(DEFAULT_HOST_LIMITS.activities),
  })
  .strict();

const hostSchema = z
  .object({
    name: hostName,
    /** Where other hosts reach this host's sshd for transfers. */
    ssh: z
      .object({
        address: z.string().regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or IP address'),
        port: z.number().int().min(1).max(65535).default(22),
        user: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]*$/, 'must be a user name')
          .default('root'),
      })
      .strict(),
    /** Holds workloads, runtime state and (private) checkpoint images. */
    stateDir: safePath,
    runtimes: z
      .array(z.enum(RUNTIMES))
      .min(1)
      .default([...RUNTIMES]),
    runc: runcSchema.default({ root: DEFAULT_RUNC_ROOT }),
    podman: podmanSchema.default({}),
    docker: dockerSchema.default({ socket: '/var/run/docker.sock', client: '/usr/bin/docker' }),
    /**
     * Where the worker reads the host's boot id (hibernation waits for a new one); the kernel's
     * by default. Simulated hosts on one machine each name their own file (ferry dev reboot).
     */
    bootIdFile: safePath.optional(),
    limits: limitsSchema.default({ ...DEFAULT_HOST_LIMITS }),
    /** Prometheus endpoint of this host's worker (SDK and ferry metrics); absent: none. */
    metrics: z
      .object({
        bindAddress: z
          .string()
          .regex(/^[A-Za-z0-9.-]+:[0-9]{1,5}$/, 'must be ADDRESS:PORT, e.g. 0.0.0.0:9464 or 10.0.0.11:9464'),
      })
      .strict()
      .optional(),
  })
  .strict();

/** TLS to the Temporal frontend (mTLS when a client certificate is given). */
const tlsSchema = z
  .object({
    /** CA that signed the server's certificate; absent: the system's roots. */
    serverCaFile: safePath.optional(),
    clientCertFile: safePath.optional(),
    clientKeyFile: safePath.optional(),
    /** Name to check the server's certificate against, when it differs from the address. */
    serverName: z
      .string()
      .regex(/^[A-Za-z0-9.-]+$/, 'must be a DNS name')
      .optional(),
  })
  .strict()
  .refine((t) => !t.clientCertFile === !t.clientKeyFile, {
    message: 'give both clientCertFile and clientKeyFile (mTLS) or neither',
  });

export const configSchema = z
  .object({
    temporal: z
      .object({
        address: z.string().min(1).default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        uiUrl: z.string().optional(),
        /** Absent: plain TCP (dev server). Present (even empty): TLS. */
        tls: tlsSchema.optional(),
      })
      .strict()
      .default({ address: '127.0.0.1:7233', namespace: 'default' }),
    /** Key and known_hosts the source worker uses to push images to other hosts. */
    transfer: z
      .object({
        identityFile: safePath,
        knownHostsFile: safePath,
        /** Bind outgoing SSH to the sending host's ssh.address (simulated hosts on one machine). */
        bindToHostAddress: z.boolean().default(false),
      })
      .strict(),
    hosts: z.array(hostSchema).min(1),
    /** Worker log lines: JSON objects (default, for log shippers) or plain text. */
    logging: z
      .object({
        format: z.enum(['json', 'text']).default('json'),
        level: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
      })
      .strict()
      .default({ format: 'json', level: 'INFO' }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.hosts.forEach((h, i) => {
      if (seen.has(h.name))
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `duplicate host "${h.name}"` });
      seen.add(h.name);
    });
  });

export type FerryConfig = z.infer<typeof configSchema>;
export type HostConfig = FerryConfig['hosts'][number];
export type TemporalConfig = FerryConfig['temporal'];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)),
    '',
  );
}

/** Validates a parsed config; errors name each offending field. */
export function parseConfig(raw: unknown, source = 'config'): FerryConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${formatPath(i.path) || '(top level)'}: ${i.message}`);
  throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}\nSee docs/configuration.md.`);
}

export async function loadConfig(file: string): Promise<FerryConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw, `config file ${file}`);
}

export function findHost(cfg: FerryConfig, name: string): HostConfig | undefined {
  return cfg.hosts.find((h) => h.name === name);
}
