from django.contrib import admin

from dashboard.recommend.models import Recommendation, TeamPolicy


@admin.register(TeamPolicy)
class TeamPolicyAdmin(admin.ModelAdmin):
    list_display = ["team", "lookback_days", "idle_days", "min_instances", "headroom_pct", "log_retention_days"]


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "kind", "status", "monthly_co2e_kg_saved", "monthly_usd_saved", "computed_at"]
    list_filter = ["kind", "status", "team"]
    search_fields = ["title", "subject"]
    readonly_fields = ["computed_at", "first_seen"]
