-- POST a new record to the twin of posts (public create rule, no auth). One fixed body:
-- ids come from the server, and nothing in the body has to be unique.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"Load test post","body":"Created by the Basalt load benchmark, ' ..
  'a paragraph of ordinary length for a blog post body.","views":42,"published":true}'
