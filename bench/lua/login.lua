-- POST a password login for the benchmark's users record; the identity and
-- password are the first two script arguments.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
  wrk.body = string.format('{"identity":"%s","password":"%s"}', args[1], args[2])
end
