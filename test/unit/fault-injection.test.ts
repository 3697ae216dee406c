import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FaultInjection } from '../../src/activities/fault-injection.js';

describe('fault injection switch', () => {
  it('is ignored entirely by a worker started without --fault-injection', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-faults-'));
    try {
      const spec = JSON.stringify({ pauseMs: { 'before-restore': 600_000 } });
      await writeFile(FaultInjection.file(dir), spec);
      // Would pause ten minutes (and need an activity context) if it obeyed the file.
      await new FaultInjection(false, dir).at('before-restore');
      expect(await readFile(FaultInjection.file(dir), 'utf8')).toBe(spec);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does nothing when enabled but no pause is set for that point', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-faults-'));
    try {
      await writeFile(FaultInjection.file(dir), JSON.stringify({ pauseMs: { 'after-restore': 600_000 } }));
      await new FaultInjection(true, dir).at('before-restore');
      await new FaultInjection(true, path.join(dir, 'missing')).at('before-restore');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
