// What Node's response methods refuse before they write anything, checked when the hold takes the
// call (express-session#360 defers it until the session is stored): the handler then gets Node's
// error at once and its error handler answers, as without the hold, where a refusal at the replay
// could only drop the connection. Only for Node's own response: a stand-in takes anything.
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { types } from 'node:util';

/** Node's own error shape: the class, a `code` and the message Node gives. */
function nodeError(Kind: ErrorConstructor, code: string, message: string): Error {
  return Object.assign(new Kind(message), { code });
}

/** Characters Node refuses in a header value or reason phrase (its `checkInvalidHeaderChar`). */
const INVALID_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

function checkHeader(name: unknown, value: unknown): void {
  // Node's writeHead skips an empty name once headers were set before it (always so under Express).
  if (!name) return;
  validateHeaderName(String(name));
  validateHeaderValue(String(name), value as string);
}

/**
 * What Node's `writeHead(statusCode[, reason][, headers])` refuses. Checks the status code (100–999 after
 * `| 0`, ERR_HTTP_INVALID_STATUS_CODE), the reason phrase (ERR_INVALID_CHAR), a flat header list's
 * even length (ERR_INVALID_ARG_VALUE) and every header name and value (`validateHeaderName`,
 * `validateHeaderValue`: ERR_INVALID_HTTP_TOKEN, ERR_HTTP_INVALID_HEADER_VALUE, ERR_INVALID_CHAR).
 * `args` are the call's arguments (an implicit head, `write` or `end` first: the response's status
 * code alone); `statusMessage` the response's, which Node checks when no reason phrase is given.
 */
export function checkHead(args: ArrayLike<unknown>, statusMessage: unknown): void {
  const statusCode = args[0];
  const status = (statusCode as number) | 0;
  if (status < 100 || status > 999) {
    throw nodeError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${String(statusCode)}`);
  }
  const reason = args[1];
  const message = typeof reason === 'string' ? reason : statusMessage;
  if (typeof message === 'string' && INVALID_CHAR.test(message)) {
    throw nodeError(TypeError, 'ERR_INVALID_CHAR', 'Invalid character in statusMessage');
  }
  const headers = typeof reason === 'string' ? args[2] : (args[2] ?? reason);
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][]) checkHeader(pair[0], pair[1]);
      return;
    }
    if (headers.length % 2 !== 0) {
      throw nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', "The argument 'headers' is invalid.");
    }
    for (let i = 0; i < headers.length; i += 2) checkHeader(headers[i], headers[i + 1]);
  } else if (headers !== null && typeof headers === 'object') {
    for (const name of Object.keys(headers)) checkHeader(name, (headers as Record<string, unknown>)[name]);
  }
}

/**
 * What Node's `write(chunk[, encoding])` and `end(chunk[, encoding])` refuse (its `write_`): a null
 * chunk (ERR_STREAM_NULL_VALUES), one that is neither a string nor a Uint8Array
 * (ERR_INVALID_ARG_TYPE), and, on a response with a body, an encoding the socket does not know
 * (ERR_UNKNOWN_ENCODING; a response to HEAD, or with status 1xx, 204 or 304, drops the chunk
 * before its encoding is looked at). `end` checks only a chunk it will write: not a falsy one, not a
 * callback in its place.
 */
export function checkChunk(chunk: unknown, encoding: unknown, fromEnd: boolean, hasBody: boolean): void {
  if (fromEnd && (!chunk || typeof chunk === 'function')) return;
  if (chunk === null)
    throw nodeError(TypeError, 'ERR_STREAM_NULL_VALUES', 'May not write null values to stream');
  if (typeof chunk !== 'string' && !types.isUint8Array(chunk)) {
    throw nodeError(
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array.',
    );
  }
  // The socket's rule (stream.Writable): an empty encoding is the default one, 'buffer' is accepted.
  const named = typeof encoding === 'string' && encoding !== '' && encoding !== 'buffer';
  if (hasBody && named && !Buffer.isEncoding(encoding)) {
    throw nodeError(TypeError, 'ERR_UNKNOWN_ENCODING', `Unknown encoding: ${encoding}`);
  }
}

/** Whether Node sends a body on this response: not for HEAD (`_hasBody`), nor for 1xx, 204, 304. */
export function sendsBody(res: { statusCode: number; _hasBody?: boolean }): boolean {
  const status = res.statusCode;
  return res._hasBody !== false && status !== 204 && status !== 304 && (status < 100 || status > 199);
}
