import { EventEmitter } from 'node:events';

/**
 * express-session's `Store` base, so stores written for express-session work unchanged: both
 * `Store.call(this)` with `util.inherits` and `class X extends Store` are supported.
 */
export interface Store extends EventEmitter {}

export interface StoreConstructor {
  new (): Store;
  (this: Store): void;
  prototype: Store;
}

// A function, not a class: express-session stores call `Store.call(this)` from their constructors.
/** express-session's `Store` constructor (an EventEmitter); subclass it or `Store.call(this)` in a store's constructor. */
export const Store = function Store(this: Store) {
  EventEmitter.call(this);
} as unknown as StoreConstructor;
Object.setPrototypeOf(Store.prototype, EventEmitter.prototype);
Object.setPrototypeOf(Store, EventEmitter);
