from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# The docs page: Swagger UI from our own static files, its start-up script served apart
# (the split view), so no inline script. Its stylesheet draws icons as data: images, so
# this page alone also allows images from data: URLs.
docs = csp_update({"img-src": ["data:"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs, name="api-docs"),
    path("", include("portal.accounts.api_urls")),
    path("", include("portal.patients.api_urls")),
    path("", include("portal.records.api_urls")),
    path("", include("portal.messaging.api_urls")),
    path("", include("portal.notifications.api_urls")),
    path("", include("portal.care.api_urls")),
    path("", include("portal.boards.api_urls")),
    path("", include("portal.audit.api_urls")),
]
