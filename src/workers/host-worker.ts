import { NativeConnection, Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostContext } from '../activities/host-context.js';
import { createHostActivities } from '../activities/index.js';
import { controlActivities } from '../activities/control.js';
import { announceBoot } from '../activities/hibernation.js';
import { Client, Connection } from '@temporalio/client';
import { ConfigError, findHost, loadConfig } from '../config/schema.js';
import { hostTaskQueue, WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import { temporalConnectionOptions } from '../config/temporal-connection.js';
import { installWorkerRuntime } from '../observability/runtime.js';
import { activityLogInterceptor } from '../observability/activity-logging.js';
import { applyLogRetention } from '../host/kept-logs.js';
import { closeSshMasters } from '../transfer/ssh-control.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * One process per host: an activity worker on the host's own queue (steps that must run on
 * this host) and a workflow worker on the shared queue (workflows may run on any host).
 */
export async function runHostWorker(opts: {
  host: string;
  configFile: string;
  faultInjection?: boolean;
}): Promise<void> {
  const config = await loadConfig(opts.configFile);
  const host = findHost(config, opts.host);
  if (!host)
    throw new ConfigError(
      `host "${opts.host}" is not in ${opts.configFile} (hosts: ${config.hosts.map((h) => h.name).join(', ')}); add it under hosts: or fix --host`,
    );
  const logger = installWorkerRuntime(config, host);
  const ctx = new HostContext(config, host, { faultInjection: opts.faultInjection });
  // Kept CRIU logs of old migrations go (also after each migration: migrationRecord).
  const expired = await applyLogRetention(ctx.paths).catch(() => []);
  if (expired.length) logger.info(`removed the kept CRIU logs of ${expired.length} old migrations`);
  if (opts.faultInjection)
    logger.warn(
      `FAULT INJECTION ENABLED: this worker obeys ${host.stateDir}/fault-injection.json (tests only)`,
    );
  // Masters a killed predecessor left (they would linger for ControlPersist): this worker's now.
  await closeSshMasters(host.stateDir);
  const temporal = await temporalConnectionOptions(config.temporal);
  const connection = await NativeConnection.connect(temporal);
  const bundlePath = path.resolve(here, '..', 'workflow-bundle.js');
  const workflowSource = existsSync(bundlePath)
    ? { workflowBundle: { codePath: bundlePath } }
    : { workflowsPath: path.resolve(here, '..', 'workflows', 'index.js') };

  const activityWorker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: hostTaskQueue(host.name),
    activities: createHostActivities(ctx),
    interceptors: { activity: [activityLogInterceptor] },
    // Heartbeats reach the server within a second: progress is fresh and a cancel lands
    // before a paused or long step goes on (the default throttle is 80 % of the timeout).
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
    identity: `ferry-${host.name}-activities@${process.pid}`,
    // Heavy steps wait for a slot inside their activity (hosts[].limits); the worker takes enough
    // tasks that none waits at the server past its 30 s schedule-to-start ("host down").
    maxConcurrentActivityTaskExecutions: host.limits.activities,
  });
  const clientConnection = await Connection.connect(temporal);
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const workflowWorker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: WORKFLOW_TASK_QUEUE,
    ...workflowSource,
    activities: controlActivities(client),
    interceptors: { activity: [activityLogInterceptor] },
    identity: `ferry-${host.name}-workflows@${process.pid}`,
    // A workflow whose cache was on a worker that died (a host rebooting, a killed worker) waits
    // this long on that worker's sticky queue before any other worker takes it (default 10 s).
    stickyQueueScheduleToStartTimeout: '3s',
  });
  logger.info(
    `ferry worker for host ${host.name}: polling ${hostTaskQueue(host.name)} and ${WORKFLOW_TASK_QUEUE} at ${config.temporal.address}`,
    {
      taskQueues: [hostTaskQueue(host.name), WORKFLOW_TASK_QUEUE],
      tls: !!config.temporal.tls,
      ...(host.metrics ? { metrics: `http://${host.metrics.bindAddress}/metrics` } : {}),
    },
  );
  // A hibernation of this host may wait for its worker to come back after a reboot: tell it
  // which boot this is (it resumes at once when the boot id is new; docs/hibernation.md).
  void announceBoot(client, ctx).then(
    (told) => {
      if (told === 'told') logger.info(`told the hibernation of ${host.name} that its worker is up`);
    },
    (err: Error) =>
      logger.warn(`could not tell a hibernation of ${host.name} that its worker is up: ${err.message}`),
  );
  const stop = () => {
    activityWorker.shutdown();
    workflowWorker.shutdown();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await Promise.all([activityWorker.run(), workflowWorker.run()]);
  } finally {
    // The SSH masters are this worker's: they go with it (and the folder under /run/ferry).
    await closeSshMasters(host.stateDir);
    await connection.close();
    await clientConnection.close();
    logger.info(`ferry worker for host ${host.name} stopped; its SSH control masters are closed`);
  }
}
