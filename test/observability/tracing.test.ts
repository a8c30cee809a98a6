import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { RequestHandler } from 'express';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import { traceStore } from '../../packages/coatcheck/src/observability/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { Client } from '../support/http.js';
import { startObservedApp } from './support.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);
trace.setGlobalTracerProvider(provider);
after(async () => {
  await provider.shutdown();
  contextManager.disable();
});

/** The request's own span, as an HTTP instrumentation would start it. */
const requestSpan: RequestHandler = (req, res, next) => {
  trace.getTracer('http').startActiveSpan(`${req.method} ${req.path}`, (span) => {
    res.on('finish', () => span.end());
    next();
  });
};

const storeSpans = () => exporter.getFinishedSpans().filter((span) => span.name.startsWith('coatcheck.'));

function attributeText(spans: readonly ReadableSpan[]): string {
  return spans.map((span) => JSON.stringify(span.attributes)).join('\n');
}

class ConnectionLost extends Error {
  override name = 'ConnectionLost';
}

describe('store spans', () => {
  beforeEach(() => exporter.reset());

  it('wraps each store call in a coatcheck.store.<operation> span under the request span', async () => {
    const app = await startObservedApp(traceStore(new MemoryStore(), { trace }), {}, requestSpan);
    try {
      const client = new Client(app.url);
      await client.post('/set');
      exporter.reset();
      await client.post('/login', { userId: 'u1' });
      const spans = storeSpans();
      assert.deepEqual(
        spans.map((span) => span.name),
        ['coatcheck.store.get', 'coatcheck.store.replace'],
      );
      const request = exporter.getFinishedSpans().find((span) => span.name === 'POST /login');
      assert.ok(request);
      for (const span of spans) {
        assert.equal(span.instrumentationScope.name, 'coatcheck');
        assert.equal(span.kind, SpanKind.CLIENT);
        assert.equal(span.parentSpanContext?.spanId, request.spanContext().spanId);
        assert.equal(span.status.code, SpanStatusCode.UNSET);
      }
      assert.equal(spans[1]!.attributes['db.operation.name'], 'replace');
      const [handle, secret, mac] = [...client.jar.values()][0]!.split('.');
      const text = attributeText(spans);
      for (const part of [handle!, secret!, mac!, 'u1'])
        assert.ok(!text.includes(part), 'no token, handle or user');
    } finally {
      await app.close();
    }
  });

  it('names the session handle only when the application opts in', async () => {
    const store = traceStore(new MemoryStore(), { trace, includeHandle: true });
    const app = await startObservedApp(store);
    try {
      const client = new Client(app.url);
      await client.post('/set');
      const { id } = (await client.get('/peek')).json() as { id: string };
      const spans = storeSpans();
      assert.deepEqual(
        spans.map((span) => [span.name, span.attributes['coatcheck.session.handle']]),
        [
          ['coatcheck.store.create', id],
          ['coatcheck.store.get', id],
        ],
      );
      const [, secret, mac] = [...client.jar.values()][0]!.split('.');
      const text = attributeText(spans);
      assert.ok(!text.includes(secret!) && !text.includes(mac!), 'never the secret part of the token');
    } finally {
      await app.close();
    }
  });

  it('marks a failed call ERROR with error.type and without the message', async () => {
    const memory = new MemoryStore();
    const app = await startObservedApp(traceStore(memory, { trace }));
    try {
      const client = new Client(app.url);
      await client.post('/set');
      memory.update = () => Promise.reject(new ConnectionLost('lost redis://secret-host:6379'));
      assert.equal((await client.post('/set')).status, 503);
      memory.get = () => {
        throw 'not an error';
      };
      assert.equal((await client.get('/peek')).status, 503);
      const failed = storeSpans().filter((span) => span.status.code === SpanStatusCode.ERROR);
      assert.deepEqual(
        failed.map((span) => [span.name, span.attributes['error.type']]),
        [
          ['coatcheck.store.update', 'ConnectionLost'],
          ['coatcheck.store.get', '_OTHER'],
        ],
      );
      assert.equal(failed[0]!.status.message, undefined);
      assert.ok(!JSON.stringify(failed[0]!.events).includes('secret-host'));
    } finally {
      await app.close();
    }
  });

  it('refuses to start without the trace API', () => {
    assert.throws(() => traceStore(new MemoryStore(), {} as never), SessionConfigError);
  });
});
