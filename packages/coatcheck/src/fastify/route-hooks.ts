import type { FastifyRequest, RouteOptions } from 'fastify';

// The config of a route whose hooks `runLast` extended.
const ROUTE_HOOKS = Symbol('coatcheck.routeHooks');

/** The plugin's hooks that must see everything the application's hooks did to the session. */
export interface LastHooks {
  onSend: (request: FastifyRequest, reply: never, payload: unknown, done: never) => void;
  onResponse: (request: FastifyRequest, reply: never, done: () => void) => void;
}

/** A route option's hooks, one or a list, with `hook` after them (once: a HEAD route copies its GET's). */
function withLast<T>(hooks: T | T[] | undefined, hook: T): T[] {
  const list = hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
  return list.includes(hook) ? list : [...list, hook];
}

/**
 * An `onRoute` hook's body: Fastify runs a route's own hooks after every instance-level one, from
 * any scope, so appended to each route the plugin's late write follows the application's `onSend`
 * hooks and stores what they changed. Routes added before the plugin and the 404 handler are not
 * seen here.
 */
export function runLast(route: RouteOptions, hooks: LastHooks): void {
  route.onSend = withLast(route.onSend, hooks.onSend as never);
  route.onResponse = withLast(route.onResponse, hooks.onResponse as never);
  route.config = { ...route.config, [ROUTE_HOOKS]: true };
}

/** Whether the request's route ends with the plugin's hooks (`runLast`). */
export function hasRouteHooks(request: FastifyRequest): boolean {
  return (request.routeOptions.config as { [ROUTE_HOOKS]?: true } | undefined)?.[ROUTE_HOOKS] === true;
}
