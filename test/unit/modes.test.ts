import type { RuntimeName } from '../../src/domain/names.js';
import { chooseMode, PRECOPY_MIN_BYTES, type ModeFacts } from '../../src/domain/modes.js';
import { validateMigrateRequest } from '../../src/domain/validation.js';
import { capabilitiesOf } from '../../src/runtimes/capabilities.js';

const validate = (r: Parameters<typeof validateMigrateRequest>[0]) =>
  validateMigrateRequest(r, capabilitiesOf);

const MiB = 2 ** 20;
const facts = ({
  runtime = 'runc',
  ...over
}: Partial<Omit<ModeFacts, 'capabilities'>> & { runtime?: RuntimeName } = {}): ModeFacts => ({
  capabilities: capabilitiesOf(runtime),
  rssBytes: 512 * MiB,
  dirtyTracking: false,
  ...over,
});

describe('chooseMode', () => {
  it('auto: stop-and-copy without dirty tracking, saying why pre-copy was skipped', () => {
    const c = chooseMode('auto', facts());
    expect(c).toMatchObject({ ok: true, mode: 'stop-and-copy' });
    expect(c.reason).toContain('mem_dirty_track');
  });
  it('auto: pre-copy with dirty tracking and enough memory, stop-and-copy below the threshold', () => {
    expect(chooseMode('auto', facts({ dirtyTracking: true }))).toMatchObject({ ok: true, mode: 'precopy' });
    const small = chooseMode('auto', facts({ dirtyTracking: true, rssBytes: PRECOPY_MIN_BYTES - 1 }));
    expect(small).toMatchObject({ ok: true, mode: 'stop-and-copy' });
    expect(small.reason).toContain('below 256 MiB');
  });
  it('auto never picks post-copy, even when it is available', () => {
    for (const dirtyTracking of [true, false])
      for (const rssBytes of [MiB, 4096 * MiB])
        expect(chooseMode('auto', facts({ dirtyTracking, rssBytes }))).not.toMatchObject({
          mode: 'postcopy',
        });
  });
  it('forced precopy without dirty tracking is refused with the reason', () => {
    const c = chooseMode('precopy', facts());
    expect(c.ok).toBe(false);
    expect(c.reason).toMatch(/precopy cannot run: .*mem_dirty_track/);
    expect(chooseMode('precopy', facts({ dirtyTracking: true }))).toMatchObject({
      ok: true,
      mode: 'precopy',
    });
  });
  it('postcopy needs runc and a host that can do it', () => {
    expect(chooseMode('postcopy', facts({ runtime: 'process' }))).toMatchObject({ ok: false });
    const broken = chooseMode('postcopy', facts({ postcopyUnavailable: 'no userfaultfd' }));
    expect(broken).toEqual({ ok: false, reason: 'postcopy cannot run: no userfaultfd' });
    expect(chooseMode('postcopy', facts())).toMatchObject({ ok: true, mode: 'postcopy' });
  });
  it('stop-and-copy and streamed run as asked on any host', () => {
    for (const m of ['stop-and-copy', 'streamed'] as const)
      expect(chooseMode(m, facts({ runtime: 'process', rssBytes: 0 }))).toMatchObject({ ok: true, mode: m });
  });
});

describe('mode in the migrate request', () => {
  const base = { workload: 'web', runtime: 'runc' as const, source: 'node-a', destination: 'node-b' };
  it('accepts the known modes and refuses others', () => {
    for (const mode of ['auto', 'stop-and-copy', 'streamed', 'precopy'] as const)
      expect(validate({ ...base, mode })).toEqual([]);
    expect(validate({ ...base, mode: 'fast' as never })[0]).toContain('unknown mode "fast"');
  });
  it('postcopy needs the explicit opt-in', () => {
    expect(validate({ ...base, mode: 'postcopy' })[0]).toContain('--accept-postcopy-risk');
    expect(validate({ ...base, mode: 'postcopy', acceptPostcopyRisk: true })).toEqual([]);
    expect(validate({ ...base, acceptPostcopyRisk: 'yes' as never })[0]).toContain(
      'acceptPostcopyRisk must be true or false',
    );
  });
});

describe('modes of podman and docker workloads', () => {
  it('auto is stop-and-copy; a forced page-level mode is refused with the fix', () => {
    for (const runtime of ['podman', 'docker'] as const) {
      expect(chooseMode('auto', facts({ runtime, dirtyTracking: true }))).toMatchObject({
        ok: true,
        mode: 'stop-and-copy',
      });
      for (const mode of ['streamed', 'precopy', 'postcopy'] as const) {
        const c = chooseMode(mode, facts({ runtime, dirtyTracking: true }));
        expect(c.ok).toBe(false);
        if (!c.ok) expect(c.reason).toContain('use --mode stop-and-copy');
      }
    }
  });
});
