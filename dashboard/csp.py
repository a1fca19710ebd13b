"""Content-Security-Policy on every response (Django 5.2 has none built in).

Scripts only from our own origin: no inline script, no eval (Plotly's SVG charts need neither; its WebGL traces,
which would, are not used). Styles also allow inline ``style``: Plotly injects a <style> element and sets
style attributes on its SVG, and the digest preview shows the email's own inline-styled HTML; injected CSS
cannot run script. The API reference (Swagger UI) is served with its start-up script as a separate file
(drf-spectacular's split view), so it runs under the same policy.
"""

from django.conf import settings

DEFAULT_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def header_value(policy: dict[str, str]) -> str:
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    """Adds the policy unless a view set its own ``Content-Security-Policy``."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.value = header_value(getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY))

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.value)
        return response
