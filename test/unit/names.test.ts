import { checkName, hostTaskQueue, migrationWorkflowId } from '../../src/domain/names.js';
import { validateMigrateRequest } from '../../src/domain/validation.js';
import { capabilitiesOf } from '../../src/runtimes/capabilities.js';

const validate = (r: Parameters<typeof validateMigrateRequest>[0]) =>
  validateMigrateRequest(r, capabilitiesOf);

describe('names', () => {
  it.each(['web', 'web-1', 'a', 'cache_2', 'svc.v2'])('accepts %s', (name) => {
    expect(checkName('workload', name)).toBeUndefined();
  });

  it.each([
    ['../etc', 'may not be paths'],
    ['a/b', 'may not be paths'],
    ['a b', 'white space'],
    ['x;rm -rf /', 'may not be paths'],
    ['x;rm', 'characters outside'],
    ['$(reboot)', 'characters outside'],
    ['Web', 'characters outside'],
    ['-web', 'characters outside'],
    ['', 'missing'],
    ['a'.repeat(64), 'longer than 63'],
  ])('rejects %j with a message naming the problem and the fix', (name, problem) => {
    const msg = checkName('workload', name);
    expect(msg).toContain(problem);
    expect(msg).toContain('Use 1-63 characters');
  });

  it('derives the workflow id from runtime, source host and workload', () => {
    expect(migrationWorkflowId('runc', 'node-a', 'web')).toBe('migrate-runc-node-a-web');
    expect(hostTaskQueue('node-b')).toBe('ferry-host-node-b');
  });
});

describe('validateMigrateRequest', () => {
  const ok = { workload: 'web', runtime: 'runc' as const, source: 'node-a', destination: 'node-b' };

  it('accepts a valid request', () => {
    expect(validate(ok)).toEqual([]);
  });

  it('refuses the same source and destination', () => {
    expect(validate({ ...ok, destination: 'node-a' })).toEqual([
      'source and destination are both "node-a": pick a different destination host',
    ]);
  });

  it('refuses an unknown runtime and lists the known ones', () => {
    expect(validate({ ...ok, runtime: 'lxc' as never })[0]).toBe(
      'unknown runtime "lxc": use one of runc, process, podman, docker',
    );
  });

  it('passes --tcp-established/--file-locks where the runtime can, refuses them for docker', () => {
    expect(validate({ ...ok, runtime: 'podman', tcpEstablished: true, fileLocks: true })).toEqual([]);
    expect(validate({ ...ok, runtime: 'docker', tcpEstablished: true })[0]).toMatch(
      /tcpEstablished is not supported by the docker runtime.*use runc, process, podman/,
    );
    expect(validate({ ...ok, fileLocks: 'yes' as never })).toContain('fileLocks must be true or false');
  });

  it('takes replaceStopped as a boolean', () => {
    expect(validate({ ...ok, runtime: 'docker', replaceStopped: true })).toEqual([]);
    expect(validate({ ...ok, replaceStopped: 'yes' as never })).toContain(
      'replaceStopped must be true or false',
    );
  });

  it('reports every problem at once', () => {
    const problems = validate({
      workload: '../x',
      runtime: 'runc',
      source: 'a b',
      destination: '',
      verifyWindowMs: -1,
    });
    expect(problems).toHaveLength(4);
  });

  it('refuses a missing request', () => {
    expect(validate(undefined)[0]).toContain('must be an object');
  });
});
