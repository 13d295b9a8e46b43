from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import schema  # noqa: F401  (registers the API token's scheme with drf-spectacular)
from .errors import api_not_found
from .health import healthz, readyz

handler400 = "config.errors.handler400"
handler403 = "config.errors.handler403"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("accounts.api_urls")),
    path("", include("cases.api_urls")),
    path("", include("deliberation.api_urls")),
    path("", include("reports.api_urls")),
    path("", include("audit.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Anything else under /api/ is a JSON 404, in DEBUG too (Django's debug page would be HTML).
    # [\s\S]: a path holding a newline is unknown too, not a fall-through to the HTML 404 page. (Not the inline
    # flag (?s), which Django cannot reverse: every reverse() of the site would raise.)
    re_path(r"^[\s\S]*$", api_not_found),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("readyz", readyz, name="readyz"),
    path("readyz/", readyz),
    path("api/", include(api_patterns)),
    # Before the admin: accounts.urls sends the admin's login to the site's own, where the second factor is asked.
    path("", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("rosetta/", include("rosetta.urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("deliberation.urls")),
    path("", include("cases.urls")),
    path("", include("reports.urls")),
    path("", include("audit.urls")),
]
