import { LAZY_PIPE_BYTES, lazyDumpProblem, lazyDumpState } from '../../src/criu/lazy.js';

const CAP_SYS_RESOURCE = 1n << 24n;
// This machine's root: every capability but CAP_SYS_RESOURCE.
const rootWithout = 0x1fffeffffffn;

describe('lazy dump prerequisites', () => {
  it('refuses the default 1 MiB pipe cap without CAP_SYS_RESOURCE, with the fix', () => {
    const why = lazyDumpProblem(1_048_576, rootWithout, 'node-a');
    expect(why).toContain('node-a has fs.pipe-max-size 1048576');
    expect(why).toContain(`sysctl -w fs.pipe-max-size=${LAZY_PIPE_BYTES}`);
  });
  it('accepts a 4 MiB cap, or CAP_SYS_RESOURCE whatever the cap', () => {
    expect(lazyDumpProblem(LAZY_PIPE_BYTES, rootWithout, 'node-a')).toBeUndefined();
    expect(lazyDumpProblem(1_048_576, rootWithout | CAP_SYS_RESOURCE, 'node-a')).toBeUndefined();
    expect(lazyDumpProblem(LAZY_PIPE_BYTES - 4096, rootWithout, 'node-a')).toBeDefined();
  });
});

describe('lazy dump log', () => {
  it('tells serving, finished and failed apart', () => {
    expect(lazyDumpState('(00.14) Starting lazy pages server\n')).toBe('serving');
    expect(
      lazyDumpState(
        '(01.69) Lazy pages transfer finished successfully\n(01.70) Dumping finished successfully\n',
      ),
    ).toBe('finished');
    expect(
      lazyDumpState(
        '(00.79) Error (criu/page-pipe.c:424): page-pipe: splice: -1: Bad file descriptor\n(00.79) Error (criu/cr-dump.c:1883): Lazy pages transfer FAILED.\n',
      ),
    ).toBe('failed');
  });
});
