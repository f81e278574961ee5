"""The web side: `digest preview` (the next issue served on loopback, rebuilt on every save,
with its health panel: preview.py, preview_server.py, health.py) and `digest serve`, the
public pages readers use (serve.py runs them under uvicorn with the postman that sends their
letters; public.py is the Starlette app: subscribe, confirm, one-click unsubscribe,
preferences, the archive; guard.py its headers, CSRF and limits; database.py its use of the
state database). Page templates in templates/ (the public ones in templates/public/).

May import: errors, models, timings, files, net, config, state, text, feeds, issue, sending.
"""
