from django.contrib import admin

from dashboard.models import LoginFailure, Membership, Recommendation, Team, TeamPolicy


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


@admin.register(TeamPolicy)
class TeamPolicyAdmin(admin.ModelAdmin):
    list_display = ["team", "lookback_days", "idle_days", "min_instances", "headroom_pct", "log_retention_days"]


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "kind", "status", "monthly_co2e_kg_saved", "monthly_usd_saved", "computed_at"]
    list_filter = ["kind", "status", "team"]
    search_fields = ["title", "subject"]
    readonly_fields = ["computed_at", "first_seen"]


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Failed logins of the last cool-off period; deleting an address's or account's rows lifts its lock."""

    list_display = ["at", "address", "username_key"]
    list_filter = ["address"]
    readonly_fields = ["at", "address", "username_key"]
