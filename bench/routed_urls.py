"""The portal's organization URLs plus the plain benchmark view, so the very same view is
measured with and without tenant routing."""

from django.urls import path

from bench.plain_urls import plain
from portal.urls_tenant import urlpatterns as portal_urlpatterns

urlpatterns = [path("plain", plain), *portal_urlpatterns]
