import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import session, { MemoryStore } from 'coatcheck/express';
import { AppModule } from './app.module.js';

/**
 * The Nest app with coatcheck's middleware in front of every route. Use a shared store (SQLite,
 * Redis, Postgres) in production; MemoryStore keeps this example self-contained.
 */
export async function createApp(secret: string) {
  // abortOnError: a start-up failure is thrown to the caller rather than ending the process.
  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    logger: false,
    abortOnError: false,
  });
  app.use(session({ secret, store: new MemoryStore() }));
  return app;
}

if (require.main === module) {
  const secret = process.env.SESSION_SECRET;
  if (!secret) throw new Error('set SESSION_SECRET (32 characters or more)');
  createApp(secret)
    .then((app) => app.listen(Number(process.env.PORT ?? 3000)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
