import { E2E, runFerry } from './run-ferry.mjs';

/** One real dev environment for all end-to-end tests: Temporal dev server, two hosts. */
export default async function globalSetup() {
  // Whatever an interrupted earlier run left is stopped first: tests never depend on it.
  await runFerry(['dev', 'down', '--dir', E2E.dir]);
  const up = await runFerry([
    'dev',
    'up',
    '--dir',
    E2E.dir,
    '--hosts',
    E2E.hosts.join(','),
    '--temporal-port',
    String(E2E.temporalPort),
    '--ui-port',
    String(E2E.uiPort),
    '--ssh-port',
    String(E2E.sshPort),
    '--address-prefix',
    E2E.addressPrefix,
    '--fault-injection',
    // node-d lacks the podman/docker image: the missing-image preflight test migrates there.
    '--without-image',
    E2E.hosts.at(-1),
  ]);
  if (up.exitCode !== 0) throw new Error(`ferry dev up failed (${up.exitCode}):\n${up.stderr}\n${up.stdout}`);
}
