-- 90% GET /me, 10% POST /write (a session data change), cycling through the cookies in args[2].
local reads, writes = {}, {}
local counter = 0

function init(args)
  for k, cookie in ipairs(read_lines(args[2])) do
    reads[k] = wrk.format("GET", "/me", headers_for(cookie))
    writes[k] = wrk.format("POST", "/write", headers_for(cookie))
  end
end

function request()
  counter = counter + 1
  local k = (counter % #reads) + 1
  if counter % 10 == 0 then return writes[k] end
  return reads[k]
end
