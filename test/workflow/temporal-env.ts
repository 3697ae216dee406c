// The Temporal side of the workflow tests: a dev server from the Temporal CLI (no download: the
// binary scripts/setup.sh provides), the search attributes ferry's workflows upsert, and one
// workflow worker on the shared queue running the real workflows, bundled from src/workflows.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type LogEntry,
} from '@temporalio/worker';
import { access, constants } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTemporalCli } from '../../src/dev/temporal-dev-server.js';
import { WORKFLOW_TASK_QUEUE } from '../../src/domain/names.js';
import { SA } from '../../src/workflows/search-attributes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * As `ferry dev up` finds it ($TEMPORAL_CLI, PATH, .tools/bin), then the build that
 * scripts/setup/install-temporal-cli.sh caches for every checkout of this machine.
 */
export async function temporalCli(): Promise<string> {
  try {
    return await findTemporalCli();
  } catch (err) {
    const cache = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'ferry');
    const cached = path.join(cache, 'temporal-v1.5.1', 'temporal');
    if (
      await access(cached, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return cached;
    throw err;
  }
}

export interface WorkflowTestEnv {
  env: TestWorkflowEnvironment;
  /** Every line the SDK logged (workflow `log` calls included), for assertions. */
  logs: LogEntry[];
  teardown(): Promise<void>;
}

export async function startWorkflowTestEnv(): Promise<WorkflowTestEnv> {
  const logs: LogEntry[] = [];
  const echo = process.env.FERRY_WORKFLOW_TEST_LOG === '1';
  Runtime.install({
    logger: new DefaultLogger(echo ? 'DEBUG' : 'INFO', (entry) => {
      logs.push(entry);
      if (echo)
        process.stderr.write(`[${entry.level}] ${entry.message} ${JSON.stringify(entry.meta ?? {})}\n`);
    }),
    // Core's own lines (e.g. a step that ended after its workflow) into that logger, not stdout.
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
  const [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: await temporalCli() },
        ip: '127.0.0.1',
        searchAttributes: Object.values(SA),
      },
    }),
    // From the TypeScript sources, as npm run build does (src/workers/build-workflow-bundle.ts):
    // the tests see the workflows as they are in the checkout, never a stale dist/.
    bundleWorkflowCode({
      workflowsPath: path.join(ROOT, 'src', 'workflows', 'index.ts'),
      logger: new DefaultLogger('WARN'),
    }),
  ]);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: WORKFLOW_TASK_QUEUE,
    workflowBundle: { code: bundle.code },
    identity: 'workflow-test-workflows',
  });
  const running = worker.run();
  return {
    env,
    logs,
    async teardown() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
