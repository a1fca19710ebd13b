from django.contrib import admin

from dashboard.teams.models import LoginFailure, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Failed logins of the last cool-off period; deleting an address's or account's rows lifts its lock."""

    list_display = ["at", "address", "username_key"]
    list_filter = ["address"]
    readonly_fields = ["at", "address", "username_key"]
