// express-session stores used by the tests, without type declarations of their own.
declare module 'memorystore' {
  const memorystore: (session: unknown) => new (options?: Record<string, unknown>) => object;
  export default memorystore;
}
declare module 'session-file-store' {
  const sessionFileStore: (session: unknown) => new (options?: Record<string, unknown>) => object;
  export default sessionFileStore;
}
