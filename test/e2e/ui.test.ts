// A person reads a finished migration in the Temporal UI (served by the dev server) in headless
// Chromium: Debian's build, driven by playwright-core. With FERRY_UI_SCREENSHOTS=DIR the pages
// are also saved there as PNGs (`npm run screenshot:ui` writes docs/img).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FerryClient } from '../../src/client/ferry-client.js';
import type { MigrationResult, Phase } from '../../src/domain/types.js';
import { E2E, ferry, runtimeOn, sleep, spawnStateful, stateDir } from './env.js';

const CHROMIUM = process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.FERRY_UI_SCREENSHOTS;
const FAULTS = path.join(stateDir('node-a'), 'fault-injection.json');

let browser: Browser;
let client: FerryClient;

beforeAll(async () => {
  // As root Chromium refuses to start with its sandbox; the page is our own local UI.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
});

afterAll(async () => {
  await writeFile(FAULTS, '{}');
  await browser?.close();
  await client?.close();
  for (const host of ['node-a', 'node-b'])
    for (const name of ['ui-web', 'ui-back']) {
      await runtimeOn(host, 'runc').stop(name);
      await runtimeOn(host, 'runc').removeFiles(name);
    }
});

/** Opens a UI page of one workflow run and waits until the app has rendered it. */
async function open(url: string, waitFor: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
  await page.goto(url);
  await page.getByText(waitFor).first().waitFor({ timeout: 60_000 });
  return page;
}

/**
 * The text a person sees: the page plus its frames (the UI renders Markdown, such as the current
 * details, in a sandboxed iframe). Waits until it matches.
 */
async function textShowing(page: Page, expected: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const parts = [await page.locator('main').innerText()];
    for (const frame of page.frames())
      if (frame !== page.mainFrame())
        parts.push(
          await frame
            .locator('body')
            .innerText()
            .catch(() => ''),
        );
    const text = parts.join('\n');
    if (expected.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the page never showed ${expected}; it showed:\n${text}`);
    await sleep(250);
  }
}

async function screenshot(page: Page, file: string): Promise<void> {
  if (!SCREENSHOTS) return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, file), fullPage: false });
}

/** The activity summaries the migrate workflow sets, as a person reads them in the UI. */
function expectedSummaries(): RegExp[] {
  return [
    /preflight runc\/ui-web on node-a \(source\)/,
    /preflight runc\/ui-web on node-b \(destination\)/,
    /pre-copy files of runc\/ui-web: node-a → node-b/,
    /checkpoint runc\/ui-web on node-a: \d+ MiB of memory/,
    /transfer runc\/ui-web: \d+ MiB of images node-a → node-b \(rsync over SSH\)/,
    /restore runc\/ui-web on node-b: \d+ MiB of images/,
    /verify runc\/ui-web keeps running on node-b for 2000 ms/,
    /remove runc\/ui-web and its images from node-a/,
  ];
}

describe('a migration as the CLI and the Temporal UI show it', () => {
  let result: MigrationResult & { uiUrl: string; workflowId: string };

  it('ferry migrate without a terminal prints plain progress lines and the result with its UI link', async () => {
    await spawnStateful('node-a', 'runc', 'ui-web', { mib: 48, intervalMs: 20 });
    const run = await ferry(['migrate', 'ui-web', '--runtime', 'runc', '--from', 'node-a', '--to', 'node-b']);
    expect(run.exitCode).toBe(0);
    // stderr is a pipe here: plain lines (no bar, no escape sequences), at least one per phase
    // (a phase that began and ended between two polls gets a "done in" line).
    expect(run.stderr).not.toContain('\u001b[');
    const figures = '[\\d.]+ MiB moved, [\\d.]+ MiB/s, [\\d.]+ s elapsed';
    for (const phase of ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'verify', 'cleanup'])
      expect(run.stderr).toMatch(
        new RegExp(`^\\[runc/ui-web node-a → node-b\\] ${phase}: (${figures}|done in [\\d.]+ s)$`, 'm'),
      );
    // The last line comes after the images were sent: the bytes moved count them.
    const last = run.stderr.trim().split('\n').at(-1)!;
    expect(last).toMatch(new RegExp(`\\] (verify|cleanup|done): ${figures}$`));
    expect(Number(/: ([\d.]+) MiB moved/.exec(last)?.[1])).toBeGreaterThan(40);
    expect(run.stdout).toContain('✔ runc/ui-web: node-a → node-b: migrated');
    expect(run.stdout).toContain(
      `history: http://127.0.0.1:${E2E.uiPort}/namespaces/default/workflows/migrate-runc-node-a-ui-web`,
    );

    const show = await ferry(['show', 'migrate-runc-node-a-ui-web', '--json']);
    expect(show.exitCode).toBe(0);
    result = JSON.parse(show.stdout);
    expect(result).toMatchObject({ outcome: 'migrated', status: 'COMPLETED' });

    const ls = await ferry(['ls', '--host', 'node-b', '--json']);
    expect(JSON.parse(ls.stdout)).toContainEqual(
      expect.objectContaining({
        workflowId: 'migrate-runc-node-a-ui-web',
        workload: 'ui-web',
        runtime: 'runc',
        source: 'node-a',
        destination: 'node-b',
        phase: 'done',
        outcome: 'migrated',
      }),
    );
  });

  it('the UI shows every activity summary and the outcome of the finished migration', async () => {
    const page = await open(result.uiUrl, 'migrate-runc-node-a-ui-web');
    try {
      await page.getByText('Completed').first().waitFor();
      // The Result panel holds the workflow's result: its outcome.
      await page.getByText('"outcome"').first().waitFor();
      expect(await page.locator('main').innerText()).toMatch(/"outcome":\s*"migrated"/);
      await screenshot(page, 'ui-migration-history.png');

      // User Metadata: the static summary, the activity summaries and the current details.
      await page.goto(`${result.uiUrl}/user-metadata`);
      await page.getByText(/checkpoint runc\/ui-web on node-a/).waitFor();
      const text = await textShowing(page, /Outcome: migrated/);
      expect(text).toContain('migrate runc/ui-web: node-a → node-b');
      for (const summary of expectedSummaries()) expect(text).toMatch(summary);
      expect(text).toMatch(
        /Outcome: migrated · downtime \d+ ms · [^·\n]*froze[^·\n]* · total [\d.]+ s · \d+ MiB sent/,
      );
      // The progress table: one row per phase, with the figures known afterwards.
      expect(text).toMatch(/transfer\s+[\d.]+ s\s+\d+ MiB sent at [\d.]+ MiB\/s/);
      expect(text).toMatch(/restore\s+[\d.]+ s\s+running again after \d+ ms of downtime/);
      await screenshot(page, 'ui-migration.png');

      // Search Attributes: everything ferry ls filters on.
      await page.goto(`${result.uiUrl}/search-attributes`);
      await page.getByText('FerryOutcome').first().waitFor();
      const attrs = await page.locator('main').innerText();
      for (const name of ['FerryWorkload', 'FerryRuntime', 'FerrySource', 'FerryDestination', 'FerryPhase'])
        expect(attrs).toContain(name);
    } catch (err) {
      await screenshot(page, 'failed-migration.png');
      throw err;
    } finally {
      await page.close();
    }
  });

  it('a migration cancelled after the freeze is rolled back; the CLI and the UI show why and how', async () => {
    await spawnStateful('node-a', 'runc', 'ui-back', { mib: 16, intervalMs: 20 });
    // The e2e workers obey fault-injection pauses: hold the transfer (after the freeze) so that
    // the cancel lands while it is frozen.
    await writeFile(FAULTS, JSON.stringify({ pauseMs: { 'before-transfer:ui-back': 30_000 } }));
    const handle = await client.startMigration({
      workload: 'ui-back',
      runtime: 'runc',
      source: 'node-a',
      destination: 'node-b',
    });
    // While it runs, ferry ls --running --host lists it with its current phase.
    for (let phase: Phase | undefined; phase !== 'transfer'; await sleep(100))
      phase = await client
        .getProgress(handle.workflowId)
        .then((p) => p.phase)
        .catch(() => undefined);
    const running = JSON.parse((await ferry(['ls', '--running', '--host', 'node-a', '--json'])).stdout);
    expect(running).toEqual([
      expect.objectContaining({ workflowId: handle.workflowId, status: 'RUNNING', phase: 'transfer' }),
    ]);
    const cancel = await ferry(['cancel', handle.workflowId, '--json']);
    expect(cancel.exitCode).toBe(0);
    expect(JSON.parse(cancel.stdout)).toEqual({ workflowId: handle.workflowId, cancelRequested: true });
    expect((await handle.result()).outcome).toBe('rolled-back');

    const show = await ferry(['show', handle.workflowId]);
    expect(show.exitCode).toBe(1); // the same exit code ferry migrate gives a rolled-back migration
    expect(show.stdout).toContain('✘ runc/ui-back: node-a → node-b: rolled-back');
    expect(show.stdout).toContain('cause: Cancelled');
    expect(show.stdout).toContain('runs again on node-a from its checkpoint');

    const url = JSON.parse((await ferry(['show', handle.workflowId, '--json'])).stdout).uiUrl as string;
    const page = await open(`${url}/user-metadata`, 'rollback: restore runc/ui-back on node-a');
    try {
      const text = await textShowing(page, /Outcome: rolled-back/);
      expect(text).toMatch(/Cause: Cancelled/);
      expect(text).toMatch(/Rollback/);
      expect(text).toMatch(/runc\/ui-back runs again on node-a from its checkpoint/);
      expect(text).toMatch(/rollback: restore runc\/ui-back on node-a from its checkpoint/);
      await screenshot(page, 'ui-rollback.png');
    } catch (err) {
      await screenshot(page, 'failed-rollback.png');
      throw err;
    } finally {
      await page.close();
    }
  });
});
