-- Prepended to every case script (after the USER_AGENT line the harness writes). Prints one
-- machine-readable summary line for the harness.

-- Request headers: the harness's User-Agent, and the cookie when there is one.
function headers_for(cookie)
  local headers = { ["User-Agent"] = USER_AGENT }
  if cookie ~= nil then headers["Cookie"] = cookie end
  return headers
end

function read_lines(path)
  local lines = {}
  if path == nil or path == "" or path == "-" then return lines end
  for line in io.lines(path) do
    if line ~= "" then lines[#lines + 1] = line end
  end
  return lines
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
