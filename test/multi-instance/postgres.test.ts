import { describeMultiInstance } from '../support/app-cluster.js';
import { findPostgres, startPostgres } from '../support/postgres-server.js';

describeMultiInstance({
  name: 'PostgreSQL',
  skip: !findPostgres() && 'postgres is not installed',
  start: async () => {
    const postgres = await startPostgres();
    return { env: { DATABASE_URL: postgres.connectionString }, stop: () => postgres.stop() };
  },
});
