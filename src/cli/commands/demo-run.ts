// ferry demo's run, loaded only when the command runs (its imports start the whole dev stack).
import { readFile } from 'node:fs/promises';
import { HostContext } from '../../activities/host-context.js';
import { loadConfig } from '../../config/schema.js';
import { defaultDevDir, toolsPath } from '../../dev/dev-layout.js';
import { devUp } from '../../dev/dev-env.js';
import { migrationWorkflowId } from '../../domain/names.js';
import { analyseContinuity, parseStatefulOutput } from '../../domain/output-analysis.js';
import { FerryClient } from '../../client/ferry-client.js';
import { HostPaths } from '../../host/host-paths.js';
import { formatResult } from '../format.js';
import { finalProgress, progressDisplay } from '../progress.js';
import { EXIT } from '../context.js';

const WORKLOAD = 'demo-counter';
const say = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The README's main job: a live migration of a stateful runc container on the dev environment. */
export async function demoCommand(): Promise<number> {
  process.env.PATH = toolsPath();
  const state = await devUp(
    {
      dir: defaultDevDir(),
      hosts: ['node-a', 'node-b'],
      temporalPort: 7233,
      uiPort: 8233,
      sshPort: 2222,
      addressPrefix: '127.0.1',
    },
    (l) => say(`[dev] ${l}`),
  );
  const config = await loadConfig(state.configFile);
  const [a, b] = config.hosts;
  if (!a || !b) throw new Error('the dev environment needs two hosts');
  const ctxA = new HostContext(config, a);
  const ctxB = new HostContext(config, b);
  // A demo run twice starts from scratch: remove the previous demo workload wherever it is.
  for (const ctx of [ctxA, ctxB]) {
    await ctx.runtime('runc').stop(WORKLOAD);
    await ctx.runtime('runc').removeFiles(WORKLOAD);
  }

  say();
  say(
    `1. Starting a runc container "${WORKLOAD}" on ${a.name}: 64 MiB of random memory, a counter every 100 ms.`,
  );
  await ctxA.runtime('runc').spawn(WORKLOAD, { argv: ['/bin/ferry-stateful', '64', '100'] });
  await sleep(3_000);
  const logA = new HostPaths(a.stateDir).outputLog('runc', WORKLOAD);
  const before = parseStatefulOutput(await readFile(logA, 'utf8'));
  say(`   its output on ${a.name} (timestamp ms, counter, checksum of its memory):`);
  for (const l of before.slice(-3)) say(`     ${l.atMs} ${l.counter} ${l.checksum}`);

  say();
  say(
    `2. Migrating it to ${b.name} (a Temporal workflow: preflight, checkpoint, rsync over SSH, restore, verify):`,
  );
  const client = await FerryClient.connect({
    address: config.temporal.address,
    knownHosts: config.hosts.map((h) => h.name),
  });
  const display = progressDisplay(process.stdout);
  const result = await client
    .migrate({ workload: WORKLOAD, runtime: 'runc', source: a.name, destination: b.name }, (p) =>
      display.update(p),
    )
    .then((r) => (display.update(finalProgress(r)), r))
    .finally(() => display.stop());
  const workflowId = migrationWorkflowId('runc', a.name, WORKLOAD);
  const handle = client.temporal.workflow.getHandle(workflowId);
  const runId = (await handle.describe()).runId;
  await client.close();
  say(formatResult(result).replace(/^/gm, '   '));
  if (result.outcome !== 'migrated') return EXIT.failed;

  await sleep(1_500);
  const logB = new HostPaths(b.stateDir).outputLog('runc', WORKLOAD);
  const all = parseStatefulOutput(await readFile(logB, 'utf8'));
  const c = analyseContinuity(all);
  say();
  say(`3. Its output, now captured on ${b.name} (the log moved with it). Around the migration:`);
  for (const l of all.slice(Math.max(0, c.largestGapAt - 2), c.largestGapAt + 3))
    say(
      `     ${l.atMs} ${l.counter} ${l.checksum}${l === all[c.largestGapAt] ? `   <- ${c.largestGapMs} ms later, on ${b.name}` : ''}`,
    );
  say(
    `   The counter went on from where it stopped (restarts: ${c.restarts}) and the memory checksum is ${
      c.distinctChecksums === 1 ? 'unchanged' : 'DIFFERENT'
    }.`,
  );
  say(
    `   Downtime: ${result.downtimeMs} ms measured by ferry, ${c.largestGapMs} ms seen by the workload (largest gap in its output).`,
  );
  say();
  say(`4. The whole history of this migration in the Temporal UI:`);
  say(`     ${state.temporal.uiUrl}/namespaces/default/workflows/${workflowId}/${runId}`);
  say(`   Follow the workload: bin/ferry logs ${WORKLOAD} --host ${b.name} --follow`);
  say(`   Move it back:        bin/ferry migrate ${WORKLOAD} --runtime runc --from ${b.name} --to ${a.name}`);
  say(`   Stop everything:     bin/ferry dev down`);
  return c.restarts === 0 && c.distinctChecksums === 1 ? EXIT.ok : EXIT.failed;
}
