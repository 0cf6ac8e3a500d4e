-- load.lua: every record of a namespace in wire form, read at one instant.
-- KEYS[1] the namespace's hash.
local now = now_us()
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local v = decode(all[i + 1])
  if v then out[#out + 1] = wire(all[i], v, now) end
end
return out
