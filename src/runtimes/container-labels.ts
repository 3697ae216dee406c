/** Labels given to ferry (`--label k=v`) are stored as container labels "ferry.label.<k>". */
const PREFIX = 'ferry.label.';

export function toContainerLabels(labels: Record<string, string> = {}): string[] {
  return Object.entries(labels).flatMap(([k, v]) => ['--label', `${PREFIX}${k}=${v}`]);
}

export function fromContainerLabels(
  labels: Record<string, string> | null | undefined,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {}))
    if (k.startsWith(PREFIX)) out[k.slice(PREFIX.length)] = v;
  return Object.keys(out).length ? out : undefined;
}
