-- save.lua: every write to a namespace. Applies the merge rule, assigns the
-- gen and publishes, all in one atomic step, so messages leave in gen order.
--
-- KEYS[1] the namespace's hash, KEYS[2] the breaker's probe lease key
-- ARGV: 1 op ('save' | 'lease'), 2 channel, 3 name, 4 state, 5 manual,
--       6 remaining µs, 7 attempt, 8 reason, 9 base gen, 10 origin,
--       11 since µs, 12 lease margin µs ('lease' only)
-- Returns {verdict, wire}: 'stored' (written and published), 'kept' (the
-- store is unchanged; wire is what it holds, "" for nothing), and for
-- 'lease' also 'held' (someone else holds the lease) and 'early' (the open
-- period is not ending yet).

local op, channel, name = ARGV[1], ARGV[2], ARGV[3]
local state, manual = tonumber(ARGV[4]), tonumber(ARGV[5])
local rem, attempt, reason = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local base, origin, since = tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11])

local now = now_us()
local s = decode(redis.call('HGET', KEYS[1], name))

local function current()
  if s then return wire(name, s, now) end
  return ''
end

local function encode(v)
  local parts = {}
  for o, d in pairs(v.w or {}) do parts[#parts + 1] = cjson.encode(o) .. ':' .. int(d) end
  return '{"s":' .. int(v.s) .. ',"u":' .. int(v.u) .. ',"p":' .. int(v.p) ..
    ',"a":' .. int(v.a) .. ',"r":' .. int(v.r) .. ',"m":' .. int(v.m) ..
    ',"g":' .. int(v.g) .. ',"b":' .. int(v.b) .. ',"o":' .. cjson.encode(v.o) ..
    ',"t":' .. int(v.t) .. ',"q":' .. int(v.q) .. ',"pg":' .. int(v.pg) ..
    ',"w":{' .. table.concat(parts, ',') .. '}}'
end

-- write stores n with a new gen (strictly above the stored one and the
-- writer's base, and the server's clock in µs, so gens keep rising across
-- a restart that lost the data) and publishes it in the same step.
local function write(n, keep_lease)
  local g = now
  if s and tonumber(s.g) and tonumber(s.g) + 1 > g then g = tonumber(s.g) + 1 end
  if base + 1 > g then g = base + 1 end
  n.g = g
  redis.call('HSET', KEYS[1], name, encode(n))
  if not keep_lease then redis.call('DEL', KEYS[2]) end
  local msg = wire(name, n, now)
  redis.call('PUBLISH', channel, msg)
  return {'stored', msg}
end

local function record(st, deadline, period, att, w)
  return {s = st, u = deadline, p = period, a = att, r = reason, m = manual,
    b = base, o = origin, t = since, q = 0, pg = 0, w = w or {}}
end

if op == 'lease' then
  -- Single prober: the first instance to ask near the end of a fleet-wide
  -- open period holds the lease (SET PX) and probes; its probe record keeps
  -- every other instance open for one more period, until it decides.
  local margin = tonumber(ARGV[12])
  if not s or tonumber(s.s) ~= 1 or tonumber(s.m) == 1 then return {'kept', current()} end
  if tonumber(s.u) - now > 2 * margin then return {'early', current()} end
  local holder = redis.call('GET', KEYS[2])
  if holder and holder ~= origin then return {'held', current()} end
  if holder == origin then return {'kept', current()} end
  local period = math.max(tonumber(s.p) or 0, 1000)
  redis.call('SET', KEYS[2], origin, 'PX', math.max(1, math.floor(period / 1000)))
  local w = votes(s, now)
  local n = {s = 1, u = now + period + margin, p = tonumber(s.p) or 0, a = tonumber(s.a) or 0,
    r = tonumber(s.r) or 0, m = 0, b = tonumber(s.g) or 0, o = origin, t = since, q = 1,
    pg = (tonumber(s.q) == 1) and tonumber(s.pg) or tonumber(s.g), w = w}
  return write(n, true)
end

if manual == 1 or state == 3 or state == 4 then
  -- An operator's action always wins and clears the votes.
  manual = 1
  if state == 1 then
    if rem <= 0 then return {'kept', current()} end
    return write(record(1, now + rem, rem, attempt))
  end
  return write(record(state, 0, 0, attempt))
end

if state == 1 then
  -- Opening is always accepted, unless it was decided without having seen
  -- an operator's forced-open or disabled; an expired open is a no-op.
  if rem <= 0 then return {'kept', current()} end
  local st = s and tonumber(s.s)
  if s and tonumber(s.m) == 1 and (st == 3 or st == 4) and base < tonumber(s.g) then
    return {'kept', current()}
  end
  local deadline, period, att = now + rem, rem, attempt
  local w = votes(s, now)
  local fresh = w[origin] == nil
  if st == 1 then
    -- One open period: the later deadline, the higher attempt. A probe
    -- record's deadline is the lease's, not the period's: its holder
    -- decides the next one.
    if tonumber(s.q) ~= 1 then deadline = math.max(deadline, tonumber(s.u) or 0) end
    period = math.max(period, tonumber(s.p) or 0)
    att = math.max(att, tonumber(s.a) or 0)
    if tonumber(s.q) ~= 1 and not fresh and deadline == tonumber(s.u) and att == tonumber(s.a) then
      return {'kept', current()} -- nothing new: no gen, no message
    end
  end
  w[origin] = math.max(w[origin] or 0, now + rem)
  return write(record(1, deadline, period, att, w))
end

if state == 0 then
  -- Closing must be current: the writer saw the stored gen (or holds the
  -- probe lease the stored record was written for).
  if not s or tonumber(s.s) == 0 then return {'kept', current()} end
  local ok = base >= tonumber(s.g)
  if not ok and tonumber(s.q) == 1 and s.o == origin and base >= (tonumber(s.pg) or 0) then ok = true end
  if not ok then return {'kept', current()} end
  return write(record(0, 0, 0, 0))
end

return redis.error_reply('breakerredis: state ' .. tostring(state) .. ' cannot be stored')
