// Over ~250 lines on purpose: every Lua script of the session store in one place, with the argument
// layout each one takes, so a change to one is read beside the others that touch the same fields.
import { createHash } from 'node:crypto';
import { HEADER, HEADER_FIELD } from './codec.js';

/** A Lua script and its SHA-1, for EVALSHA with a fallback to EVAL on NOSCRIPT. */
export interface RedisScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/**
 * `write(key, from, ttl)`: a new record from ARGV[from..]: the string layout's one value (SET), or
 * field, value pairs (HSET, in chunks of 200 pairs, then PEXPIRE). A TTL <= 0 writes nothing.
 */
const WRITE_FUNCTION = `local function write(key, from, ttl)
  if tonumber(ttl) <= 0 then return end
  if #ARGV == from then
    redis.call('SET', key, ARGV[from], 'PX', ttl)
    return
  end
  for i = from, #ARGV, 400 do redis.call('HSET', key, unpack(ARGV, i, math.min(i + 399, #ARGV))) end
  redis.call('PEXPIRE', key, ttl)
end
`;

/**
 * Strings in Redis: a session in the string layout (codec.ts HEADER, then its other field, value
 * pairs as a JSON array of strings, the device an object of strings, which SUPERSEDE_OLD writes
 * into a hash as its JSON text), a packed session's rotation pointer (the field, value list as a
 * JSON array, see SUPERSEDE_OLD), or a renewal's stub (a header alone: SETRANGE on a key that was
 * gone). Every hash command refuses them (WRONGTYPE), and GET refuses a hash, so the scripts ask
 * with `redis.pcall('GET')` first: the string layout is the default.
 * `headerField(text, n)`: the n-th header field's text. `liveString(text)`: a string session's
 * fields by name and its list, or nil for a pointer or a stub. `readString(key)`: a string key's
 * fields by name (a packed pointer's `meta` read under its own fields; never a header field) and
 * its text, or nil and why: 'hash', 'missing' or 'stub'.
 */
const STRING_FUNCTIONS = `local HEADER = ${HEADER}
local function headerField(text, n)
  return (string.gsub(string.sub(text, (n - 1) * ${HEADER_FIELD} + 1, n * ${HEADER_FIELD}), ' +$', ''))
end
local function liveString(text)
  if string.sub(text, 1, 1) == '[' or #text <= HEADER then return nil end
  local list = cjson.decode(string.sub(text, HEADER + 1))
  local fields = {}
  for i = 1, #list, 2 do fields[list[i]] = list[i + 1] end
  return fields, list
end
local function readString(key)
  local text = redis.pcall('GET', key)
  if type(text) == 'table' then return nil, 'hash' end
  if not text then return nil, 'missing' end
  if string.sub(text, 1, 1) ~= '[' then
    if #text <= HEADER then return nil, 'stub' end
    return liveString(text), text
  end
  local list = cjson.decode(text)
  local fields = {}
  for i = 1, #list, 2 do fields[list[i]] = list[i + 1] end
  if fields.meta then
    for name, value in pairs(cjson.decode(fields.meta)) do
      if fields[name] == nil and type(value) == 'string' then fields[name] = value end
    end
  end
  return fields, text
end
`;

function script(name: string, source: string): RedisScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** A script that creates a session, with and without its first line's check that the handle is free. */
export interface CreatingScript {
  /** For a handle from the application's `genid`: refuses a taken handle, writing nothing. */
  readonly checked: RedisScript;
  /** For a random handle (`CreateOptions.randomHandle`): one EXISTS fewer. */
  readonly random: RedisScript;
}

function creating(name: string, check: string, body: string): CreatingScript {
  return { checked: script(name, `${check}\n${body}`), random: script(`${name}-random`, body) };
}

// Every script touches only the keys it declares, and all but REPLACE exactly one, so each runs on
// one Cluster slot. A record in the string layout is one SET; a hash is written with one HSET per
// 200 pairs (unpack() has a stack limit of about 8,000 values, and a session may hold any number of
// data keys): Redis counts every command a script runs.
// TTLs are relative to the application's clock (ARGV), so a skewed Redis clock cannot shorten
// sessions; PEXPIRE with a value <= 0 deletes the key, which is what an expired record deserves.

/**
 * KEYS[1] session; ARGV[1] TTL ms; ARGV[2..] the record (WRITE_FUNCTION). Returns 1, or 0 when the
 * handle is taken.
 */
export const CREATE = creating(
  'create',
  `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end`,
  `${WRITE_FUNCTION}write(KEYS[1], 2, ARGV[1])
return 1`,
);

// Adds a handle to a user index kept alive as long as its longest-lived member (as INDEX_ADD).
// Members past their absolute expiry are dropped on the way: sessions end by themselves, and a
// logout leaves its member to the next listing, so a user who keeps signing in would otherwise grow
// the index without bound; it holds at most the sessions begun within one absolute timeout. The
// TTL moves by PEXPIRE GT, and the members are pruned when it moved: every new session moves it
// (its absolute expiry is the latest), so a user who keeps signing in keeps pruning. When GT left
// it alone the index is new (no TTL yet: PEXPIRE NX gives it one, and it has nothing to drop) or
// already outlives the member (a rotation keeps its session's expiry): the next sign-in or listing
// prunes it. Three commands either way.
const INDEX_FUNCTION = `local function index(key, score, handle, now)
  local ttl = tonumber(score) - tonumber(now)
  if ttl <= 0 then return 0 end
  redis.call('ZADD', key, score, handle)
  local ms = string.format('%.0f', ttl)
  if redis.call('PEXPIRE', key, ms, 'GT') == 1 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  else
    redis.call('PEXPIRE', key, ms, 'NX')
  end
  return 1
end
`;

/**
 * Standalone servers only: KEYS[1] session, KEYS[2] its user's index; ARGV[1] score (absolute
 * expiry ms), ARGV[2] handle, ARGV[3] now ms, ARGV[4] TTL ms, ARGV[5..] the record. CREATE and the
 * index entry in one step, so "sign out everywhere" can never miss a session just created.
 */
export const CREATE_INDEXED = creating(
  'create-indexed',
  `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end`,
  `${INDEX_FUNCTION}${WRITE_FUNCTION}write(KEYS[1], 5, ARGV[4])
index(KEYS[2], ARGV[1], ARGV[2], ARGV[3])
return 1`,
);

// UPDATE on a session in the string layout: the patch applied to its header and field list in
// place (a removed field's name becomes false), the version bumped, and the new value written with
// its TTL and returned. The data's values stay JSON texts, never decoded here.
const UPDATE_STRING_FUNCTION = `local function updateString(key, text)
  local fields, list = liveString(text)
  if not fields then return false end
  if fields.successor then return text end
  local header = { lastSeenAt = headerField(text, 1), idleExpiresAt = headerField(text, 2), version = headerField(text, 3) }
  local at = {}
  for i = 1, #list, 2 do at[list[i]] = i end
  local function put(field, value)
    if header[field] then
      if value then header[field] = value end
    elseif at[field] then
      if value then
        list[at[field]] = field
        list[at[field] + 1] = value
      else
        list[at[field]] = false
      end
    elseif value then
      list[#list + 1] = field
      list[#list + 1] = value
      at[field] = #list - 1
    end
  end
  local n = tonumber(ARGV[3])
  for i = 4, 3 + n do put(ARGV[i], nil) end
  if ARGV[2] ~= '' then
    for field, value in pairs(cjson.decode(ARGV[2])) do
      if value == cjson.null then put(field, nil) else put(field, value) end
    end
  end
  for i = 4 + n, #ARGV, 2 do put(ARGV[i], ARGV[i + 1]) end
  header.version = string.format('%.0f', (tonumber(header.version) or 0) + 1)
  local head = string.format('%-${HEADER_FIELD}s%-${HEADER_FIELD}s%-${HEADER_FIELD}s', header.lastSeenAt, header.idleExpiresAt, header.version)
  if #head ~= HEADER then return redis.error_reply('a header field of ' .. key .. ' is over ${HEADER_FIELD} characters') end
  local kept = {}
  for i = 1, #list, 2 do
    if list[i] then
      kept[#kept + 1] = list[i]
      kept[#kept + 1] = list[i + 1]
    end
  end
  local value = head .. cjson.encode(kept)
  local idle = tonumber(header.idleExpiresAt)
  local absolute = at.absoluteExpiresAt and list[at.absoluteExpiresAt] and tonumber(list[at.absoluteExpiresAt + 1])
  if not (idle and absolute) then
    redis.call('SET', key, value, 'KEEPTTL')
    return value
  end
  local ttl = string.format('%.0f', math.min(idle, absolute) - tonumber(ARGV[1]))
  if tonumber(ttl) > 0 then redis.call('SET', key, value, 'PX', ttl) else redis.call('DEL', key) end
  return value
end
`;

/**
 * KEYS[1] session; ARGV[1] now ms; ARGV[2] the packable metadata to change, as a JSON object of
 * strings (null to remove one), or ''; ARGV[3] n; ARGV[4 .. 3+n] fields to delete; then field,
 * value pairs. Writes only if the session still exists (S29: no resurrection), bumps the version,
 * keeps the TTL at min(idle, absolute) expiry, and returns the new record (a string layout's value,
 * or the new hash); nil when the session is gone. A record replaced by a scheduled rotation is
 * returned as it is, unwritten. One GET or HGETALL answers existence, succession and the old
 * values, and the new record is built from it. The packable metadata is merged into the hash's
 * `meta` field (codec.ts META), or written field by field into a hash that has none (0.1.0's
 * layout, or the store's `layout: 'fields'`).
 */
export const UPDATE = script(
  'update',
  `${STRING_FUNCTIONS}${UPDATE_STRING_FUNCTION}local key = KEYS[1]
local text = redis.pcall('GET', key)
if type(text) == 'string' then
  if string.sub(text, 1, 1) == '[' then return text end
  return updateString(key, text)
end
if not text then return false end
local reply = redis.call('HGETALL', key)
if #reply == 0 then return false end
local old = {}
for i = 1, #reply, 2 do old[reply[i]] = reply[i + 1] end
if old.successor then return reply end
-- A renewal's HSET that lost the race to a logout leaves a stub until it deletes it: not a session.
if not (old.meta or old.secretHash) then return false end
local n = tonumber(ARGV[3])
local gone = {}
for i = 4, 3 + n do gone[ARGV[i]] = true end
if ARGV[2] ~= '' then
  local patch = cjson.decode(ARGV[2])
  local drop = {}
  if old.meta then
    local meta = cjson.decode(old.meta)
    for field, value in pairs(patch) do
      if value == cjson.null then meta[field] = nil else meta[field] = value end
      -- A field of its own would hide the packed value (0.1.0 writes one there): it goes.
      if old[field] then
        drop[#drop + 1] = field
        gone[field] = true
      end
    end
    ARGV[#ARGV + 1] = 'meta'
    ARGV[#ARGV + 1] = cjson.encode(meta)
  else
    for field, value in pairs(patch) do
      if value ~= cjson.null then
        ARGV[#ARGV + 1] = field
        ARGV[#ARGV + 1] = value
      elseif old[field] then
        drop[#drop + 1] = field
        gone[field] = true
      end
    end
  end
  if #drop > 0 then redis.call('HDEL', key, unpack(drop)) end
end
for i = 4, 3 + n, 400 do redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 399, 3 + n))) end
ARGV[#ARGV + 1] = 'version'
ARGV[#ARGV + 1] = string.format('%.0f', (tonumber(old.version) or 0) + 1)
for i = 4 + n, #ARGV, 400 do redis.call('HSET', key, unpack(ARGV, i, math.min(i + 399, #ARGV))) end
-- The new hash, in the order HGETALL gives it: old fields in place, new ones after.
local new = {}
for i = 4 + n, #ARGV, 2 do new[ARGV[i]] = ARGV[i + 1] end
local flat = {}
for i = 1, #reply, 2 do
  local field = reply[i]
  if not gone[field] then
    flat[#flat + 1] = field
    flat[#flat + 1] = new[field] or reply[i + 1]
  end
end
for i = 4 + n, #ARGV, 2 do
  if old[ARGV[i]] == nil or gone[ARGV[i]] then
    flat[#flat + 1] = ARGV[i]
    flat[#flat + 1] = ARGV[i + 1]
  end
end
local idle = tonumber(new.idleExpiresAt or old.idleExpiresAt)
local absolute = tonumber(new.absoluteExpiresAt or old.absoluteExpiresAt)
if idle and absolute then
  redis.call('PEXPIRE', key, string.format('%.0f', math.min(idle, absolute) - tonumber(ARGV[1])))
end
return flat`,
);

// What RENEW does when its HSET added fields: the hash was not a live session's (or, by the time
// REPAIR runs on its own, a rotation has made it a string pointer). A string no longer than the
// header is the stub of a string session's renewal (SETRANGE on a key that was gone): deleted.
const REPAIR_BODY = `local text = redis.pcall('GET', key)
if type(text) == 'string' then
  if #text > ${HEADER} then return text end
  redis.call('DEL', key)
  return false
end
if not text then return false end
local reply = redis.call('HGETALL', key)
local fields = {}
for i = 1, #reply, 2 do fields[reply[i]] = reply[i + 1] end
if not (fields.meta or fields.secretHash) then
  redis.call('DEL', key)
  return false
end
if not fields.successor then
  redis.call('PEXPIRE', key, ARGV[1])
  return reply
end
local absolute = tonumber(fields.absoluteExpiresAt)
local idle = math.min(tonumber(fields.idleExpiresAt), absolute)
redis.call('HDEL', key, 'live')
redis.call('HSET', key, 'idleExpiresAt', string.format('%.0f', idle))
redis.call('PEXPIRE', key, string.format('%.0f', idle - tonumber(ARGV[2])))
return redis.call('HGETALL', key)`;

/**
 * KEYS[1] session; ARGV[1] TTL ms; ARGV[2] now ms; ARGV[3..] field, value pairs (the two times,
 * the version and the live marker). A renewal of a record the caller has just read: HSET, then
 * PEXPIRE, and 1. The hash of a live session already has every one of those fields, so HSET adding
 * any means it was not one, and the same atomic step puts that right before anyone else writes: a
 * hash that was gone (a logout or rotation won the race, and the HSET made a stub) is deleted again
 * (S29: no resurrection); a rotation's pointer loses the marker again and gets its idle expiry and
 * TTL back within its absolute expiry, the grace deadline; a session written before the marker
 * existed keeps it. Those answer with the hash as it now is, or nil when the session is gone.
 */
export const RENEW = script(
  'renew',
  `local key = KEYS[1]
local added = redis.pcall('HSET', key, unpack(ARGV, 3))
if type(added) == 'table' then return redis.call('GET', key) end
if added == 0 then
  redis.call('PEXPIRE', key, ARGV[1])
  return 1
end
${REPAIR_BODY}`,
);

/**
 * KEYS[1] session; ARGV[1] TTL ms; ARGV[2] now ms. The repair branch of RENEW on its own, for a
 * renewal sent without a script (HSET or SETRANGE, and PEXPIRE) that wrote into a key that was no
 * live session's: answers as RENEW does.
 */
export const REPAIR = script('repair', `local key = KEYS[1]\n${REPAIR_BODY}`);

/**
 * KEYS[1] session; ARGV[1] 'current' to spare a record that has a successor. Deletes it if it
 * exists and returns { user id, successor } ('' for none); nil when it was gone (or spared). A
 * renewal's stub is deleted and answered as gone: it was no session.
 */
export const TAKE = script(
  'take',
  `${STRING_FUNCTIONS}local fields, kind = readString(KEYS[1])
if kind == 'hash' then
  local reply = redis.call('HMGET', KEYS[1], 'userId', 'successor', 'meta', 'secretHash')
  fields = { userId = reply[1], successor = reply[2] }
  if not (reply[3] or reply[4]) then kind = 'stub' end
end
if kind == 'stub' then redis.call('DEL', KEYS[1]) end
if kind == 'missing' or kind == 'stub' then return false end
if ARGV[1] == 'current' and fields.successor then return false end
redis.call('DEL', KEYS[1])
return { fields.userId or '', fields.successor or '' }`,
);

// The old record of a rotation with a grace period (S21): successor set, version bumped, idle and
// absolute expiry brought forward to the grace deadline (as `supersede` in core/store/record.ts),
// the live marker removed, TTL kept at min(idle, absolute). Each layout's pointer has the other
// type than its live sessions, so a renewal that races the rotation without a script fails on it
// (WRONGTYPE) for every writer: a session in the string layout becomes a hash written field by
// field (as 0.1.0's pointers), one in the packed layout a string (its other fields as a JSON array,
// STRING_FUNCTIONS). One written field by field stays a hash without the live marker, for 0.1.0 to
// read (codec.ts LIVE: a renewal that races it then sees it). Shared by the two scripts below.
// ARGV[1] successor, ARGV[2] grace deadline ms, ARGV[3] now ms.
const SUPERSEDE_OLD = `local idle = math.min(tonumber(old[1]), tonumber(ARGV[2]))
local absolute = math.min(tonumber(old[2]), tonumber(ARGV[2]))
local version = string.format('%.0f', (tonumber(old[3]) or 0) + 1)
local ttl = string.format('%.0f', math.min(idle, absolute) - tonumber(ARGV[3]))
if oldText then
  local _, list = liveString(oldText)
  local pointer = {}
  for i = 1, #list, 2 do
    if list[i] ~= 'absoluteExpiresAt' then
      local value = list[i + 1]
      if type(value) == 'table' then value = cjson.encode(value) end
      pointer[#pointer + 1] = list[i]
      pointer[#pointer + 1] = value
    end
  end
  for _, value in ipairs({ 'lastSeenAt', headerField(oldText, 1), 'successor', ARGV[1],
      'idleExpiresAt', string.format('%.0f', idle), 'absoluteExpiresAt', string.format('%.0f', absolute),
      'version', version }) do
    pointer[#pointer + 1] = value
  end
  redis.call('DEL', KEYS[1])
  if tonumber(ttl) > 0 then
    for i = 1, #pointer, 400 do redis.call('HSET', KEYS[1], unpack(pointer, i, math.min(i + 399, #pointer))) end
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
elseif old[5] then
  local reply = redis.call('HGETALL', KEYS[1])
  local pointer = {}
  for i = 1, #reply, 2 do
    local field = reply[i]
    if field ~= 'live' and field ~= 'idleExpiresAt' and field ~= 'absoluteExpiresAt' and field ~= 'version' then
      pointer[#pointer + 1] = field
      pointer[#pointer + 1] = reply[i + 1]
    end
  end
  for _, value in ipairs({ 'successor', ARGV[1], 'idleExpiresAt', string.format('%.0f', idle),
      'absoluteExpiresAt', string.format('%.0f', absolute), 'version', version }) do
    pointer[#pointer + 1] = value
  end
  if tonumber(ttl) > 0 then
    redis.call('SET', KEYS[1], cjson.encode(pointer), 'PX', ttl)
  else
    redis.call('DEL', KEYS[1])
  end
else
  redis.call('HSET', KEYS[1], 'successor', ARGV[1], 'idleExpiresAt', string.format('%.0f', idle),
    'absoluteExpiresAt', string.format('%.0f', absolute), 'version', version)
  redis.call('HDEL', KEYS[1], 'live')
  redis.call('PEXPIRE', KEYS[1], ttl)
end`;

// The old record's idle and absolute expiry, version, successor, packed metadata and secret's hash
// (`old`), and its text when it is a string session (`oldText`). The scripts below stop when it
// shows the record gone or already superseded, a string pointer included, or a renewal's stub: a
// hash with neither `meta` nor `secretHash` is no session, nor is a header alone.
const READ_OLD = `local old
local oldText = redis.pcall('GET', KEYS[1])
if type(oldText) == 'table' then
  oldText = false
  old = redis.call('HMGET', KEYS[1], 'idleExpiresAt', 'absoluteExpiresAt', 'version', 'successor', 'meta', 'secretHash')
else
  local fields = oldText and liveString(oldText)
  if not fields then return false end
  old = { headerField(oldText, 2), fields.absoluteExpiresAt, headerField(oldText, 3), fields.successor, false, fields.secretHash }
end
if not (old[5] or old[6]) or old[4] then return false end`;

/**
 * KEYS[1] old session; ARGV[1] successor handle, ARGV[2] grace deadline ms, ARGV[3] now ms.
 * Cluster only (the new session is created by CREATE on its own slot after this wins). Returns 1,
 * or nil when the old session is gone or already has a successor: only one rotation wins.
 */
export const SUPERSEDE = script(
  'supersede',
  `${STRING_FUNCTIONS}${READ_OLD}
${SUPERSEDE_OLD}
return 1`,
);

/**
 * KEYS[1] old session, KEYS[2] new session, KEYS[3] (when signed in) the new session's user index;
 * ARGV[1..3] as SUPERSEDE, ARGV[4] new TTL ms, ARGV[5] index score (absolute expiry ms), ARGV[6..]
 * field, value pairs. Standalone servers only: one atomic rotation that keeps the old record as a
 * pointer and indexes the new one. Returns 1, or nil, writing nothing, when the old session is
 * gone or superseded or the new handle is taken.
 */
export const REPLACE_WITH_GRACE = creating(
  'replace-with-grace',
  `if redis.call('EXISTS', KEYS[2]) == 1 then return false end`,
  `${INDEX_FUNCTION}${WRITE_FUNCTION}${STRING_FUNCTIONS}${READ_OLD}
${SUPERSEDE_OLD}
write(KEYS[2], 6, ARGV[4])
if KEYS[3] then index(KEYS[3], ARGV[5], ARGV[1], ARGV[3]) end
return 1`,
);

/**
 * KEYS[1] old session, KEYS[2] new session, KEYS[3] (when signed in) the new session's user index;
 * ARGV as CREATE_INDEXED. Standalone servers only (in a Cluster the keys live in different slots):
 * the rotation and the new index entry are one atomic step. Returns the old user id ('' for none),
 * or nil, writing nothing, when the old session is gone or superseded, or the new handle is taken.
 */
export const REPLACE = creating(
  'replace',
  `if redis.call('EXISTS', KEYS[2]) == 1 then return false end`,
  `${INDEX_FUNCTION}${WRITE_FUNCTION}${STRING_FUNCTIONS}local old
local text = redis.pcall('GET', KEYS[1])
if type(text) == 'table' then
  old = redis.call('HMGET', KEYS[1], 'userId', 'successor', 'meta', 'secretHash')
else
  local fields = text and liveString(text)
  if not fields then return false end
  old = { fields.userId, fields.successor, false, fields.secretHash }
end
if old[2] or not (old[3] or old[4]) then return false end
redis.call('DEL', KEYS[1])
write(KEYS[2], 5, ARGV[4])
if KEYS[3] then index(KEYS[3], ARGV[1], ARGV[2], ARGV[3]) end
return old[1] or ''`,
);

/** KEYS[1] session; ARGV[1] user id. Deletes the session only if it belongs to that user; returns 1 or 0. */
export const DESTROY_IF_USER = script(
  'destroy-if-user',
  `${STRING_FUNCTIONS}local fields, kind = readString(KEYS[1])
local userId = fields and fields.userId
if kind == 'hash' then userId = redis.call('HGET', KEYS[1], 'userId') end
if userId ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`,
);

/**
 * KEYS[1] session; ARGV[1] a time in ms, or '' for any. Deletes the session if it was created
 * before that time; returns its user id ('' for none), or nil when it was kept or already gone.
 */
export const DESTROY_CREATED_BEFORE = script(
  'destroy-created-before',
  `${STRING_FUNCTIONS}local fields, kind = readString(KEYS[1])
if kind == 'stub' then redis.call('DEL', KEYS[1]) end
if kind == 'missing' or kind == 'stub' then return false end
local function field(name)
  if kind ~= 'hash' then return fields[name] end
  local value = redis.call('HGET', KEYS[1], name)
  if value then return value end
  local meta = redis.call('HGET', KEYS[1], 'meta')
  if meta then return cjson.decode(meta)[name] end
  return nil
end
if ARGV[1] ~= '' then
  local created = tonumber(field('createdAt'))
  if created == nil or created >= tonumber(ARGV[1]) then return false end
end
local userId = field('userId')
if redis.call('DEL', KEYS[1]) == 0 then return false end
return userId or ''`,
);

/**
 * KEYS[1] user index; ARGV[1] score (absolute expiry ms); ARGV[2] handle; ARGV[3] now ms. Adds the
 * handle and keeps the index alive as long as its longest-lived member (INDEX_FUNCTION), so the
 * index of a user who never returns expires too; returns 1, or 0 for a handle already expired.
 */
export const INDEX_ADD = script(
  'index-add',
  `${INDEX_FUNCTION}return index(KEYS[1], ARGV[1], ARGV[2], ARGV[3])`,
);

/** KEYS[1] user index; ARGV[1] now ms. Drops members past their absolute expiry, returns the rest. */
export const INDEX_READ = script(
  'index-read',
  `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)`,
);
