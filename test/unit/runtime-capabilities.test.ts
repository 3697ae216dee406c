// Each adapter against its capability record. Adapters are only constructed: nothing external
// runs. The record is what workflows, validation and activities ask; these checks keep the
// adapters' optional members (preDump, startLazyCheckpoint, pageServerArgs) and the CRIU-option
// guard in step with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { canRun, CRIU_OPTION_NAMES } from '../../src/domain/capabilities.js';
import { ErrorType } from '../../src/domain/errors.js';
import { RUNTIMES, type RuntimeName } from '../../src/domain/names.js';
import { HostPaths } from '../../src/host/host-paths.js';
import { CAPABILITIES } from '../../src/runtimes/capabilities.js';
import { criuFlags, refuseUnsupportedCriuOptions } from '../../src/runtimes/criu-options.js';
import { createRuntime, type WorkloadRuntime } from '../../src/runtimes/index.js';

/** The command each runtime restores with, as an operator would type it. */
const OWN_RESTORE: Record<RuntimeName, RegExp> = {
  runc: /^runc .*\brestore\b/,
  process: /^criu restore\b/,
  podman: /^podman container restore\b/,
  docker: /\bdocker start --checkpoint\b/,
};

let stateDir: string;
beforeAll(() => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'ferry-caps-'));
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const adapter = (name: RuntimeName): WorkloadRuntime =>
  createRuntime(name, { host: 'node-a', paths: new HostPaths(stateDir) });

describe.each(RUNTIMES.map((r) => [r]))('the %s adapter and its capability record', (name) => {
  it('carries its own record', () => {
    const rt = adapter(name);
    expect(rt.name).toBe(name);
    expect(rt.capabilities).toBe(CAPABILITIES[name]);
    expect(rt.capabilities.runtime).toBe(name);
  });

  it('has preDump exactly where the record lets precopy run', () => {
    const rt = adapter(name);
    expect(typeof rt.preDump === 'function').toBe(canRun(rt.capabilities, 'precopy'));
  });

  it('has startLazyCheckpoint exactly where the record lets postcopy run', () => {
    const rt = adapter(name);
    expect(typeof rt.startLazyCheckpoint === 'function').toBe(canRun(rt.capabilities, 'postcopy'));
  });

  // Streamed needs a final dump that sends its pages to the destination's page server. Each
  // adapter whose checkpoint does so declares it with pageServerArgs (the arguments its
  // checkpoint adds for opts.pageServer); the check reads that declaration, it runs no CRIU.
  it('takes a page server in its checkpoint exactly where the record lets streamed run', () => {
    const rt = adapter(name);
    expect(typeof rt.pageServerArgs === 'function').toBe(canRun(rt.capabilities, 'streamed'));
    if (rt.pageServerArgs) {
      const args = rt.pageServerArgs({ address: '192.0.2.7', port: 4711 }).join(' ');
      expect(args).toContain('--page-server');
      expect(args).toContain('192.0.2.7');
      expect(args).toContain('4711');
    }
  });

  it("names the runtime's own command for a manual restore", () => {
    const imagesDir = 'STATE/migrations/m-1/images';
    const how = adapter(name).capabilities.manualRestore({ workload: 'web', imagesDir });
    expect(how).toMatch(OWN_RESTORE[name]);
    expect(how).toContain(imagesDir);
  });

  it('refuses every CRIU option its record does not list, as InvalidInput naming it', () => {
    const caps = adapter(name).capabilities;
    for (const option of CRIU_OPTION_NAMES) {
      const opts = { [option]: true };
      if (caps.criuOptions.includes(option)) {
        expect(() => refuseUnsupportedCriuOptions(caps, opts)).not.toThrow();
        continue;
      }
      let refused: unknown;
      try {
        refuseUnsupportedCriuOptions(caps, opts);
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(ApplicationFailure);
      expect((refused as ApplicationFailure).type).toBe(ErrorType.InvalidInput);
      // The flag the checkpoint would have passed to CRIU.
      expect((refused as ApplicationFailure).message).toContain(criuFlags(opts)[0]);
    }
  });
});

describe('CRIU option guard', () => {
  it('lets a request without CRIU options through for every runtime', () => {
    for (const name of RUNTIMES) {
      expect(() => refuseUnsupportedCriuOptions(CAPABILITIES[name], {})).not.toThrow();
      expect(() => refuseUnsupportedCriuOptions(CAPABILITIES[name])).not.toThrow();
    }
  });

  it("keeps docker's wording when both options are asked for", () => {
    expect(() =>
      refuseUnsupportedCriuOptions(CAPABILITIES.docker, { tcpEstablished: true, fileLocks: true }),
    ).toThrow('docker checkpoints cannot pass --tcp-established or --file-locks to CRIU');
  });
});
