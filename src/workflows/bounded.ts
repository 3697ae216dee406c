/** Runs work for every item, at most `limit` at once, in order of the items; waits for all. */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  for (const item of items) {
    while (running.size >= limit) await Promise.race(running);
    const task: Promise<void> = work(item).finally(() => running.delete(task));
    running.add(task);
  }
  await Promise.all(running);
}
