"""The web application: server-rendered pages (Jinja2 + htmx), scanner-first, on the services."""
