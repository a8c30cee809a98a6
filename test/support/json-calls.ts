/**
 * How often JSON.parse read, and JSON.stringify produced, a text that `matches` while `work` ran:
 * the JSON work a request does on its session data.
 */
export async function jsonCalls(
  matches: (text: string) => boolean,
  work: () => Promise<void>,
): Promise<{ parsed: number; serialised: number }> {
  const { parse, stringify } = JSON;
  const calls = { parsed: 0, serialised: 0 };
  JSON.parse = function (this: JSON, text: string, ...rest: never[]) {
    if (typeof text === 'string' && matches(text)) calls.parsed++;
    return parse.call(this, text, ...rest);
  } as typeof JSON.parse;
  JSON.stringify = function (this: JSON, ...args: Parameters<typeof JSON.stringify>) {
    const text = stringify.apply(this, args);
    if (typeof text === 'string' && matches(text)) calls.serialised++;
    return text;
  } as typeof JSON.stringify;
  try {
    await work();
  } finally {
    JSON.parse = parse;
    JSON.stringify = stringify;
  }
  return calls;
}
