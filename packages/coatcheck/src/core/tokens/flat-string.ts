/**
 * A copy of `value` that shares no memory with the string it was cut from. V8 keeps a slice of 13
 * or more characters as a view into its parent, so a handle or an address cut from a request header
 * and kept past the request (a process-wide map, a memory store) would keep the whole header alive:
 * 4 KB of other cookies per renewal entry took a heap from 13.7 to 55.7 MB. Use it for every piece
 * of request data held beyond the request.
 */
export function flatCopy(value: string): string {
  // A JSON round trip allocates a new sequential string, lone surrogates included.
  return value.length < 13 ? value : (JSON.parse(JSON.stringify(value)) as string);
}
