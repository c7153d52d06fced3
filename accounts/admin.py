from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User


@admin.register(User)
class SilkRoadUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Profile", {"fields": ("display_name", "bio", "version")}))
    readonly_fields = ["version"]
    list_display = ["username", "email", "display_name", "is_active", "is_staff"]
