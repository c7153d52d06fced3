import os

from django.core.wsgi import get_wsgi_application

from cache_sync.wsgi import front_door

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings")
application = front_door(get_wsgi_application())
