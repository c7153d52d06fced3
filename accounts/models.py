from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse

from cache_sync.versioning import VersionedModel


class User(VersionedModel, AbstractUser):
    display_name = models.CharField(max_length=100, blank=True)
    bio = models.TextField(max_length=2000, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username

    def get_absolute_url(self) -> str:
        return reverse("accounts:public-profile", kwargs={"username": self.username})
