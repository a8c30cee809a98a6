import type { AdapterUnderTest } from '../../packages/coatcheck/src/testing/index.js';
import { expressAdapter } from './express.js';
import { fastifyAdapter } from './fastify.js';
import { honoAdapter } from './hono.js';
import { nodeHttpAdapter } from './node-http.js';

/** Every adapter the project ships, under the contract of `coatcheck/testing`. */
export const adapters: [string, AdapterUnderTest][] = [
  ['express 5', expressAdapter(5)],
  ['express 4', expressAdapter(4)],
  ['node:http', nodeHttpAdapter],
  ['fastify', fastifyAdapter],
  ['hono', honoAdapter],
];
