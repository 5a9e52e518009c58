"""The console: webhooks and their history in a browser, on the admin HTTP port.

`web.Console` serves the pages under `/console/` from the same use cases as the gRPC
API; `session.Sessions` seals the session cookie and makes the forms' CSRF tokens;
`views` turns domain values into what the templates show.
"""
