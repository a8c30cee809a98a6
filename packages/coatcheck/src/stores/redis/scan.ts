/**
 * SCAN over every master, for the one operation that must see every session (the kill switch,
 * `destroyAll`). Never on a request's path: the store otherwise reaches sessions only by key.
 */

/** Keys asked of the server per SCAN call: large enough to be quick, small enough not to block it. */
const SCAN_COUNT = 1000;

type ScanBatches = AsyncGenerator<string[], void, undefined>;

interface NodeRedisScanner {
  scan(
    cursor: string,
    options: { MATCH: string; COUNT: number },
  ): Promise<{ cursor: unknown; keys: unknown[] }>;
}

interface NodeRedisCluster {
  masters: unknown[];
  nodeClient(node: unknown): Promise<NodeRedisScanner> | NodeRedisScanner;
}

interface IoredisScanner {
  scan(cursor: string, ...args: string[]): Promise<[unknown, unknown[]]>;
}

interface IoredisCluster {
  nodes(role: 'master'): IoredisScanner[];
}

async function* scanNodeRedis(client: NodeRedisScanner, pattern: string): ScanBatches {
  let cursor = '0';
  do {
    const reply = await client.scan(cursor, { MATCH: pattern, COUNT: SCAN_COUNT });
    cursor = String(reply.cursor);
    yield reply.keys.map(String);
  } while (cursor !== '0');
}

async function* scanIoredis(client: IoredisScanner, pattern: string): ScanBatches {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', String(SCAN_COUNT));
    cursor = String(next);
    yield keys.map(String);
  } while (cursor !== '0');
}

/** Batches of keys matching `pattern` on a node-redis client, or on each master of its Cluster. */
export async function* scanNodeRedisKeys(client: unknown, pattern: string): ScanBatches {
  const cluster = client as Partial<NodeRedisCluster>;
  if (!Array.isArray(cluster.masters) || typeof cluster.nodeClient !== 'function') {
    yield* scanNodeRedis(client as NodeRedisScanner, pattern);
    return;
  }
  for (const master of cluster.masters) yield* scanNodeRedis(await cluster.nodeClient(master), pattern);
}

/** Batches of keys matching `pattern` on an ioredis client, or on each master of its Cluster. */
export async function* scanIoredisKeys(client: unknown, pattern: string): ScanBatches {
  const cluster = client as Partial<IoredisCluster> & { isCluster?: boolean };
  if (cluster.isCluster !== true || typeof cluster.nodes !== 'function') {
    yield* scanIoredis(client as IoredisScanner, pattern);
    return;
  }
  for (const node of cluster.nodes('master')) yield* scanIoredis(node, pattern);
}

/** `text` as a literal inside a SCAN MATCH pattern (glob): `*`, `?`, `[`, `]` and `\` escaped. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
