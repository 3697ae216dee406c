// GET /v1/hosts: the answer's shape (HostStatus, src/client/hosts.ts), for docs/openapi.json.
import { z } from 'zod';
import { RUNTIMES } from '../domain/names.js';

export const hostStatusSchema = z
  .object({
    name: z.string(),
    up: z
      .boolean()
      .meta({ description: 'its worker polled in the last 70 s and answered a 4 s probe just now' }),
    downBecause: z.string().optional(),
    startWith: z.string().optional().meta({ description: 'the command that starts its worker (when down)' }),
    lastPollAgoS: z
      .number()
      .optional()
      .meta({ description: "seconds since its worker's last poll of ferry-host-NAME (absent: none listed)" }),
    address: z.string().meta({ description: 'ssh.address:ssh.port of the config' }),
    stateDir: z.string(),
    runcRoot: z.string().meta({ description: 'host.runc.root of the config' }),
    ferryVersion: z.string().optional(),
    criuVersion: z.string().optional(),
    criuProblem: z.string().optional(),
    kernel: z.string().optional(),
    runtimes: z.array(z.enum(RUNTIMES)),
    freeBytes: z.number().optional().meta({ description: 'free bytes in its state folder' }),
    cordoned: z.boolean().nullable().meta({ description: 'null: unknown (no worker runs workflows)' }),
    cordonReason: z.string().optional(),
  })
  .meta({ id: 'HostStatus' });

export const hostListSchema = z.array(hostStatusSchema).meta({ id: 'HostList' });
