-- POST /logout, each request with the next unused cookie of file args[2]. When the pool runs out the
-- thread stops and the harness is told, so no logout ever runs on a dead session.
local prepared = {}
local counter = 0
local exhausted = false

function init(args)
  for k, cookie in ipairs(read_lines(args[2])) do
    prepared[k] = wrk.format("POST", "/logout", headers_for(cookie))
  end
end

function request()
  counter = counter + 1
  if counter > #prepared then
    if not exhausted then
      exhausted = true
      io.stderr:write("POOL_EXHAUSTED\n")
      wrk.thread:stop()
    end
    return prepared[#prepared]
  end
  return prepared[counter]
end
