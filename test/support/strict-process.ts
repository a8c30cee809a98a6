// Loaded into every test process (scripts/test.sh): an unhandled rejection or an uncaught exception
// anywhere in the suite fails the run, even when it happens between tests or after a test passed.
function fail(kind: string) {
  return (error: unknown) => {
    console.error(`${kind} in the test process:`, error);
    process.exitCode = 1;
  };
}
process.on('unhandledRejection', fail('unhandled rejection'));
process.on('uncaughtExceptionMonitor', (error) => fail('uncaught exception')(error));
