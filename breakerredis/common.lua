-- Shared helpers of save.lua and load.lua (prepended to each).
--
-- A stored record (one hash field per breaker) is JSON written by these
-- scripts alone:
--   s  state (0 closed, 1 open, 3 forced-open, 4 disabled)
--   u  open deadline, µs, by this server's TIME (never leaves the server)
--   p  length of the open period, µs (the lease length under single prober)
--   a  attempt   r reason   m manual (0/1)   t since (writer's clock, µs)
--   g  gen       b base gen                  o origin (query-escaped)
--   q  1 for a probe record (a lease holder keeps the fleet open)
--   pg the gen the probe record extends     w origin -> deadline of every
--      automatic open still running (the quorum votes)
-- The wire form (replies and messages) is "<len(name)>:<name><json>" with
-- the remaining time "rem" in place of the deadline, the period "p" and the
-- number of current votes "k": a remaining time travels, never a timestamp.

local function int(x)
  return string.format('%.0f', tonumber(x) or 0)
end

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function decode(raw)
  if not raw then return nil end
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' then return v end
  return nil -- unreadable: treated as absent and overwritten by the next write
end

local function votes(v, now)
  local w, k = {}, 0
  if v and tonumber(v.s) == 1 and type(v.w) == 'table' then
    for o, d in pairs(v.w) do
      d = tonumber(d)
      if type(o) == 'string' and d and d > now then
        w[o] = d
        k = k + 1
      end
    end
  end
  return w, k
end

local function wire(name, v, now)
  local rem = 0
  if tonumber(v.s) == 1 then rem = math.max(0, (tonumber(v.u) or 0) - now) end
  local _, k = votes(v, now)
  return string.len(name) .. ':' .. name ..
    '{"s":' .. int(v.s) .. ',"rem":' .. int(rem) .. ',"a":' .. int(v.a) ..
    ',"r":' .. int(v.r) .. ',"m":' .. int(v.m) .. ',"g":' .. int(v.g) .. ',"p":' .. int(v.p) ..
    ',"b":' .. int(v.b) .. ',"o":' .. cjson.encode(tostring(v.o or '')) ..
    ',"t":' .. int(v.t) .. ',"q":' .. int(v.q) .. ',"k":' .. k .. '}'
end
