// One request to dockerd's engine API over its unix socket. Used where the CLI would need a flag
// per field: creating a container from an inspect record (docker-spec.ts) takes its Config and
// HostConfig as they are.
import http from 'node:http';

export class DockerApiError extends Error {
  override name = 'DockerApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function dockerApi<T>(
  socket: string,
  method: 'GET' | 'POST',
  apiPath: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      {
        socketPath: socket,
        method,
        path: apiPath,
        headers: payload
          ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
          : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            // dockerd answers {"message": "..."}: its words are the cause.
            let message = text.trim();
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? message;
            } catch {
              /* not JSON: quote it as it is */
            }
            reject(new DockerApiError(`docker API ${method} ${apiPath}: ${status} ${message}`, status));
            return;
          }
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`docker API ${method} ${apiPath}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}
