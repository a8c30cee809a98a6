// Shared with the other adapters; kept here so existing imports stay valid.
export { metaOf, type SessionMeta } from '../core/lifecycle/meta.js';
