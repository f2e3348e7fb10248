"""What every app needs to speak HTTP safely: problem responses, list cursors, input bounds
and the guarded client for outbound requests. It imports none of the apps."""
