from django.contrib import admin

from collectors.models import AwsAccount, CollectionState, Endpoint, VariantConfig, WorkerHeartbeat


@admin.register(AwsAccount)
class AwsAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "account_id", "team", "enabled", "role_arn"]
    list_filter = ["enabled", "team"]
    search_fields = ["name", "account_id"]
    readonly_fields = ["external_id", "created_at"]


VARIANT_CONFIG_FIELDS = (  # shown, all read-only (a tuple: Django's admin takes either, the stubs want one type)
    "variant_name",
    "valid_from",
    "valid_to",
    "instance_type",
    "desired_instance_count",
    "weight",
    "serverless_memory_mb",
)


class VariantConfigInline(admin.TabularInline):
    model = VariantConfig
    extra = 0
    can_delete = False
    fields = VARIANT_CONFIG_FIELDS
    readonly_fields = VARIANT_CONFIG_FIELDS


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "region", "status", "mode", "last_seen", "deleted_at"]
    list_filter = ["mode", "status", "region"]
    search_fields = ["name"]
    inlines = [VariantConfigInline]


@admin.register(CollectionState)
class CollectionStateAdmin(admin.ModelAdmin):
    list_display = ["account", "region", "source", "last_success", "watermark", "consecutive_failures"]
    list_filter = ["source", "region"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "last_seen", "beats"]
    readonly_fields = ["hostname", "last_seen", "beats"]
