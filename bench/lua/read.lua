-- args[3] (GET by default) on path args[1], cycling through the cookies in file args[2] (none: no
-- Cookie header).
local prepared = {}
local counter = 0

function init(args)
  local method = args[3] or "GET"
  local cookies = read_lines(args[2])
  if #cookies == 0 then
    prepared[1] = wrk.format(method, args[1], headers_for(nil))
  else
    for k, cookie in ipairs(cookies) do
      prepared[k] = wrk.format(method, args[1], headers_for(cookie))
    end
  end
end

function request()
  counter = counter + 1
  return prepared[(counter % #prepared) + 1]
end
