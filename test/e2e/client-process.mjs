// A separate service process: starts one migration through the typed client (built dist/) and
// prints every progress phase it saw and the result as one JSON line.
import { FerryClient } from '../../dist/client/ferry-client.js';

const [address, request] = process.argv.slice(2);
const client = await FerryClient.connect({ address });
try {
  const phases = [];
  const result = await client.migrate(JSON.parse(request), (p) => {
    if (phases.at(-1) !== p.phase) phases.push(p.phase);
  });
  const progress = await client.getProgress(result.migrationId.replace(/-[0-9a-f]{8}$/, ''));
  process.stdout.write(JSON.stringify({ phases, result, finalPhase: progress.phase }) + '\n');
} finally {
  await client.close();
}
