/**
 * node-redis v5's Cluster client refreshes its slot map only when a node answers MOVED or ASK. A
 * master that dies sends neither, so after a failover every command for its slots keeps going to
 * the dead address until the process restarts (the promoted replica is never found). ioredis
 * refreshes the map when a node is unreachable; this gives node-redis the same: after a failed
 * command, the cluster is rediscovered from a node that still answers, at most once per interval.
 *
 * It uses the cluster's slot manager (`_slots.rediscover`, what node-redis itself calls on MOVED),
 * which is not part of its public API: when a version lacks it, nothing happens and the docs'
 * advice stands (ioredis for Cluster). Tested with node-redis 5.12 in
 * test/failure/redis-cluster-failover.test.ts.
 */

interface NodeClient {
  isReady?: boolean;
  options?: unknown;
}

interface ClusterInternals {
  masters?: { client?: NodeClient }[];
  replicas?: { client?: NodeClient }[];
  _slots?: { rediscover?: (startWith: NodeClient) => Promise<void> };
}

/** Returns a function to call after a failed command, or null for anything but a node-redis Cluster. */
export function clusterRediscovery(client: unknown, intervalMs = 500): (() => void) | null {
  const cluster = client as ClusterInternals;
  const slots = cluster._slots;
  if (!Array.isArray(cluster.masters) || typeof slots?.rediscover !== 'function') return null;
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    const nodes = [...(cluster.masters ?? []), ...(cluster.replicas ?? [])];
    const live = nodes.find((node) => node.client?.isReady && node.client.options)?.client;
    if (!live) return;
    // Failures are the cluster's own 'error' events; the next failed command tries again.
    slots.rediscover!(live).catch(() => {});
  };
}
