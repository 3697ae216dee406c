import { FerryClient } from '../../src/client/ferry-client.js';
import type { MigrateRequest, MigrationResult } from '../../src/domain/types.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { describeHost } from '../../src/activities/preflight.js';
import { HostContext } from '../../src/activities/host-context.js';
import { findHost, loadConfig } from '../../src/config/schema.js';
import { dirtyTrackingSupport } from '../../src/criu/criu.js';
import { CONFIG_FILE, E2E, readOutput, runtimeOn, spawnStateful } from './env.js';

/**
 * This machine's kernel has no dirty-page tracking (docs/precopy.md): mode auto migrates without
 * pre-copy, with the reason recorded; mode precopy fails before the freeze. On a host whose kernel does track dirty pages, the same requests run rounds instead.
 */
describe("pre-copy between simulated hosts (this machine's kernel)", () => {
  let client: FerryClient;
  let tracks: boolean;
  beforeAll(async () => {
    client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
    tracks = (await dirtyTrackingSupport()).supported;
  });
  afterAll(async () => {
    await client.close();
  });

  async function migrateWith(name: string, mode: MigrateRequest['mode']): Promise<MigrationResult> {
    await spawnStateful('node-a', 'process', name, { mib: 16, intervalMs: 20 });
    return client.migrate({
      workload: name,
      runtime: 'process',
      source: 'node-a',
      destination: 'node-b',
      mode,
      precopy: { maxRounds: 3 },
    });
  }

  it('preflight host facts say whether the kernel tracks dirty pages, and why not', async () => {
    const config = await loadConfig(CONFIG_FILE);
    const facts = await describeHost(new HostContext(config, findHost(config, 'node-a')!));
    expect(facts.dirtyTracking).toBe(tracks);
    if (tracks) expect(facts.dirtyTrackingReason).toBeUndefined();
    else expect(facts.dirtyTrackingReason).toMatch(/does not track dirty pages.*Dirty tracking is OFF/);
  });

  it("auto: pre-copy skipped with CRIU's reason, the migration goes on", async () => {
    const result = await migrateWith('pc-skip', 'auto');
    expect(result.outcome).toBe('migrated');
    // 16 MiB is below the size where auto picks pre-copy even on a kernel that tracks pages.
    expect(result.mode).toBe('stop-and-copy');
    if (tracks) expect(result.modeReason).toMatch(/pre-copy skipped: 16 MiB is below/);
    else
      expect(result.modeReason).toMatch(
        /pre-copy skipped: .*does not track dirty pages.*Dirty tracking is OFF/,
      );
    expect(result.precopy).toBeUndefined();
    expect(result.phases.map((p) => p.phase)).not.toContain('precopy');
    const lines = parseStatefulOutput(await readOutput('node-b', 'process', 'pc-skip'));
    expect(analyseContinuity(lines)).toMatchObject({ restarts: 0, distinctChecksums: 1 });
    await runtimeOn('node-b', 'process').stop('pc-skip');
    await runtimeOn('node-b', 'process').removeFiles('pc-skip');
  });

  it('forced precopy: refused before the freeze with ModeUnavailable, the workload keeps running', async () => {
    const result = await migrateWith('pc-req', 'precopy');
    const left = tracks ? 'node-b' : 'node-a';
    if (tracks) expect(result.precopy?.rounds.length).toBeGreaterThanOrEqual(1);
    else {
      expect(result.outcome).toBe('refused');
      expect(result.cause?.type).toBe('ModeUnavailable');
      expect(result.cause?.message).toMatch(/precopy cannot run: .*Dirty tracking is OFF/);
      expect((await runtimeOn('node-a', 'process').inspect('pc-req'))?.running).toBe(true);
      expect(await runtimeOn('node-b', 'process').inspect('pc-req')).toBeUndefined();
    }
    await runtimeOn(left, 'process').stop('pc-req');
    await runtimeOn(left, 'process').removeFiles('pc-req');
  });
});
