import { parseData, type SessionMetaPatch, type SessionRecord } from '../store/record.js';
import type { RequestInfo, SessionState } from './state.js';

/**
 * The engine's SessionState: `data` is parsed from `dataText` when first read, so a request that
 * never reads its session's data neither parses it nor serialises it again at commit.
 */
class RequestState implements SessionState {
  record: SessionRecord | null = null;
  dataText = '{}';
  cookieValue: string | null = null;
  cookie: 'keep' | 'set' | 'clear' = 'keep';
  clearLegacyCookie: string | null = null;
  ended = false;
  endedElsewhere = false;
  pendingMeta: SessionMetaPatch | null = null;
  forceSave = false;
  provisionalHandle: string | null = null;
  throttled = false;
  loggedOut = false;
  declare lapsed?: NonNullable<SessionState['lapsed']>;
  #data: Record<string, unknown> | null = null;

  constructor(readonly info: RequestInfo) {}

  get data(): Record<string, unknown> {
    this.#data ??= parseData(this.dataText);
    return this.#data;
  }

  set data(value: Record<string, unknown>) {
    this.#data = value;
  }

  static storeData(state: SessionState, text: string): void {
    state.dataText = text;
    if (#data in state) state.#data = null;
    else state.data = parseData(text);
  }

  static dataRead(state: SessionState): boolean {
    return !(#data in state) || state.#data !== null;
  }
}

export function anonymousState(info: RequestInfo): SessionState {
  return new RequestState(info);
}

/**
 * Makes `text` the session's data as stored: `data` becomes that text's object, parsed when next
 * read (at once for a SessionState the engine did not make).
 */
export function storeData(state: SessionState, text: string): void {
  RequestState.storeData(state, text);
}

/**
 * Whether `data` may differ from `dataText`: it was read or replaced since the data was last
 * stored. Unread data is the stored text itself.
 */
export function dataRead(state: SessionState): boolean {
  return RequestState.dataRead(state);
}
