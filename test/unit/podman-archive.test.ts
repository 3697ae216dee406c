import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { clearDefaultPidFiles, hostNeutralArchive } from '../../src/runtimes/podman-runtime.js';

const ID = '5dc516d00c055e5bd06b1b6fcdc12e9eba13cd0baaad1d7a44d828513fbf080a';
const SRC = `/run/ferry/p-41ac7fd8ab24/overlay-containers/${ID}/userdata`;

// The shape of podman 4.3's config.dump (compact JSON), with a 64-bit rlimit that a JSON round
// trip through JavaScript numbers would corrupt.
const config = (conmon: string, pid: string) =>
  `{"spec":{"process":{"rlimits":[{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615}]}},"id":"${ID}","name":"pweb","conmonPidFile":"${conmon}","pid_file":"${pid}","logPath":"/x/ctr.log"}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-podman-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function archive(configText: string): Promise<string> {
  const src = path.join(dir, 'src');
  await mkdir(path.join(src, 'checkpoint'), { recursive: true });
  await writeFile(path.join(src, 'spec.dump'), '{"ociVersion":"1.0.2-dev"}');
  await writeFile(path.join(src, 'checkpoint', 'pages-1.img'), Buffer.alloc(70_000, 7));
  await writeFile(path.join(src, 'config.dump'), configText);
  const tar = path.join(dir, 'podman-checkpoint.tar');
  await execa('tar', ['-C', src, '-cf', tar, 'spec.dump', 'checkpoint', 'config.dump']);
  return tar;
}

async function unpacked(tar: string, member: string): Promise<string> {
  const out = path.join(dir, 'out');
  await mkdir(out, { recursive: true });
  await execa('tar', ['-C', out, '-xf', tar]);
  return readFile(path.join(out, member), 'utf8');
}

describe('podman checkpoint archive made host-neutral before restore --import', () => {
  it('clears the source host pid files in place; nothing else changes', async () => {
    const tar = await archive(config(`${SRC}/conmon.pid`, `${SRC}/pidfile`));
    const size = (await stat(tar)).size;
    expect((await hostNeutralArchive(tar)).id).toBe(ID);
    expect((await stat(tar)).size).toBe(size);
    const text = await unpacked(tar, 'config.dump');
    const cfg = JSON.parse(text) as Record<string, unknown>;
    expect(cfg.conmonPidFile).toBe('');
    expect(cfg.pid_file).toBe('');
    expect(cfg.logPath).toBe('/x/ctr.log');
    // The 64-bit values are the very same digits (edited as text, never re-serialized).
    expect(text).toContain('"hard":18446744073709551615,"soft":18446744073709551615');
    expect(
      (await readFile(path.join(dir, 'out', 'checkpoint', 'pages-1.img'))).equals(Buffer.alloc(70_000, 7)),
    ).toBe(true);
    // Idempotent: a retried restore finds nothing more to change.
    await hostNeutralArchive(tar);
    expect(await unpacked(tar, 'config.dump')).toBe(text);
  });

  it('keeps pid files the user chose', () => {
    const text = config('/run/myapp/conmon.pid', '/run/myapp/app.pid');
    expect(clearDefaultPidFiles(text, ID)).toBe(text);
  });
});
