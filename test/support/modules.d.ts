// Packages used by the tests without type declarations of their own.
declare module 'express4' {
  const express: () => unknown;
  export default express;
}
declare module 'express-session' {
  const session: ((options: Record<string, unknown>) => unknown) & {
    Store: new () => object;
    MemoryStore: new () => object;
  };
  export default session;
}
