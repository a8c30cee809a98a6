-- POST /login?user=u<n> with no cookie; every session cookie received is appended to file args[2],
-- the pool of the logout case that follows.
local prepared = {}
local counter = 0
local out
local pending = 0

function init(args)
  for k = 1, 1000 do
    prepared[k] = wrk.format("POST", "/login?user=u" .. k, headers_for(nil))
  end
  out = io.open(args[2], "w")
  out:setvbuf("full", 65536)
end

function request()
  counter = counter + 1
  return prepared[(counter % #prepared) + 1]
end

function response(status, headers, body)
  for name, value in pairs(headers) do
    if string.lower(name) == "set-cookie" then
      out:write(string.match(value, "^[^;]+"), "\n")
      pending = pending + 1
      -- Flushed in whole lines: the last few cookies may be lost, never cut in half.
      if pending >= 32 then
        out:flush()
        pending = 0
      end
    end
  end
end
