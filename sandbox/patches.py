"""Where stock moto 5.2.5 falls short of AWS for our collectors, and how the sandbox closes the gap.

Every patch here touches moto internals, which is why pyproject pins ``moto==5.2.5`` and
tests/sandbox/test_patches.py exercises each one over HTTP with plain boto3.

Seeding-only knobs travel as resource tags with the ``sandbox:`` prefix; the patched server
consumes and strips them, so a collector never sees them:

- SageMaker endpoint: ``sandbox:status``, ``sandbox:failureReason``, ``sandbox:creationTime`` and
  ``sandbox:lastModifiedTime`` (ISO).
- Log group: ``sandbox:storedBytes``, ``sandbox:creationTime`` (ISO).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from moto.cloudwatch import models as cw_models
from moto.cloudwatch.exceptions import ValidationError as CloudWatchValidationError
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult
from moto.logs import models as logs_models
from moto.logs import responses as logs_responses
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError

from sandbox.metric_store import MetricQueryError, MetricStore

TAG_PREFIX = "sandbox:"
INSTANCE_TYPE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.[a-z0-9-]+$")
LOG_GROUP_CLASSES = ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY")
_applied = False


def naive_utc(iso: str) -> datetime:
    """moto keeps naive UTC datetimes; knobs arrive as ISO strings with or without an offset."""
    moment = datetime.fromisoformat(iso)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def split_sandbox_tags(tags, key="Key", value="Value"):
    """Return (ordinary tags, sandbox knobs) from a list of {Key, Value} or a {key: value} dict."""
    if isinstance(tags, dict):
        knobs = {k[len(TAG_PREFIX) :]: v for k, v in tags.items() if k.startswith(TAG_PREFIX)}
        return {k: v for k, v in tags.items() if not k.startswith(TAG_PREFIX)}, knobs
    tags = tags or []
    knobs = {t[key][len(TAG_PREFIX) :]: t[value] for t in tags if t[key].startswith(TAG_PREFIX)}
    return [t for t in tags if not t[key].startswith(TAG_PREFIX)], knobs


# --- CloudWatch: a compact store with AWS's GetMetricData rules ------------------------------------


def metric_store(backend) -> MetricStore:
    store = getattr(backend, "_sandbox_metric_store", None)
    if store is None:
        store = backend._sandbox_metric_store = MetricStore()
    return store


def _put_metric_data(self) -> ActionResult:
    namespace = self._get_param("Namespace")
    metric_data = self._get_param("MetricData", [])
    for index, datum in enumerate(metric_data, start=1):
        self.cloudwatch_backend._validate_parameters_put_metric_data(datum, index)
    metric_store(self.cloudwatch_backend).put(namespace, metric_data)
    return ActionResult({})


def _get_metric_data(self) -> ActionResult:
    params = self._get_params()
    try:
        result = metric_store(self.cloudwatch_backend).get_metric_data(
            params.get("MetricDataQueries", []),
            params["StartTime"],
            params["EndTime"],
            scan_by=params.get("ScanBy") or "TimestampDescending",
            max_datapoints=params.get("MaxDatapoints"),
            next_token=params.get("NextToken"),
        )
    except MetricQueryError as exc:
        raise CloudWatchValidationError(str(exc)) from exc
    return ActionResult(result)


LIST_METRICS_PAGE = 500


def _list_metrics(self) -> ActionResult:
    params = self._get_params()
    found = metric_store(self.cloudwatch_backend).list_metrics(
        namespace=params.get("Namespace"),
        metric_name=params.get("MetricName"),
        dimensions=params.get("Dimensions"),
        recently_active=params.get("RecentlyActive"),
    )
    start = int(params.get("NextToken") or 0)
    page = found[start : start + LIST_METRICS_PAGE]
    metrics = [{"Namespace": s.namespace, "MetricName": s.metric_name, "Dimensions": s.dimension_list()} for s in page]
    result = {"Metrics": metrics}
    if start + LIST_METRICS_PAGE < len(found):
        result["NextToken"] = str(start + LIST_METRICS_PAGE)
    return ActionResult(result)


def patch_cloudwatch() -> None:
    CloudWatchResponse.put_metric_data = _put_metric_data
    CloudWatchResponse.get_metric_data = _get_metric_data
    CloudWatchResponse.list_metrics = _list_metrics
    cw_models.CloudWatchBackend.sandbox_metric_store = property(metric_store)


# --- SageMaker: current instance types, endpoint status, UpdateEndpoint ----------------------------


def _validate_instance_type(self, instance_type: str) -> None:
    if not INSTANCE_TYPE.match(instance_type or ""):
        raise SageMakerValidationError(
            message=f"Value '{instance_type}' at 'instanceType' failed to satisfy constraint: "
            "Member must match pattern ml.<family>.<size>"
        )


def _apply_endpoint_knobs(endpoint, knobs: dict) -> None:
    if "status" in knobs:
        endpoint.endpoint_status = knobs["status"]
    if "failureReason" in knobs:
        endpoint.failure_reason = knobs["failureReason"]
    if "creationTime" in knobs:
        endpoint.creation_time = endpoint.last_modified_time = naive_utc(knobs["creationTime"])
    if "lastModifiedTime" in knobs:
        endpoint.last_modified_time = naive_utc(knobs["lastModifiedTime"])


_original_create_endpoint = sm_models.SageMakerModelBackend.create_endpoint


def _create_endpoint(self, endpoint_name, endpoint_config_name, tags):
    tags, knobs = split_sandbox_tags(tags)
    endpoint = _original_create_endpoint(self, endpoint_name, endpoint_config_name, tags)
    _apply_endpoint_knobs(endpoint, knobs)
    return endpoint


def _update_endpoint(self, endpoint_name: str, endpoint_config_name: str):
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = sm_models.FakeEndpoint.arn_formatter(endpoint_name, self.account_id, self.region_name)
        raise SageMakerValidationError(message=f"Could not find endpoint '{arn}'.")
    config = self.describe_endpoint_config(endpoint_config_name)
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.data_capture_config = config.get("DataCaptureConfig")
    endpoint.last_modified_time = sm_models.utcnow()
    return endpoint


def _update_endpoint_response(self) -> ActionResult:
    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
    )
    return ActionResult({"EndpointArn": endpoint.arn})


def _add_tags(self, arn, tags):
    tags, knobs = split_sandbox_tags(tags)
    resource = self._get_resource_from_arn(arn)
    if knobs and isinstance(resource, sm_models.FakeEndpoint):
        _apply_endpoint_knobs(resource, knobs)
    return _original_add_tags(self, arn, tags)


_original_add_tags = sm_models.SageMakerModelBackend.add_tags


def patch_sagemaker() -> None:
    sm_models.FakeEndpointConfig.validate_instance_type = _validate_instance_type
    sm_models.SageMakerModelBackend.create_endpoint = _create_endpoint
    sm_models.SageMakerModelBackend.update_endpoint = _update_endpoint
    sm_models.SageMakerModelBackend.add_tags = _add_tags
    sm_responses.SageMakerResponse.update_endpoint = _update_endpoint_response


# --- CloudWatch Logs: storedBytes in bytes, logGroupClass, creation time ----------------------------

_original_create_log_group = logs_models.LogsBackend.create_log_group
_original_describe_dict = logs_models.LogGroup.to_describe_dict


def _create_log_group(self, log_group_name, tags, **kwargs):
    tags, knobs = split_sandbox_tags(tags or {})
    group = _original_create_log_group(self, log_group_name, tags, **kwargs)
    group.log_group_class = kwargs.get("logGroupClass") or "STANDARD"
    if "storedBytes" in knobs:
        group.sandbox_stored_bytes = int(knobs["storedBytes"])
    if "creationTime" in knobs:
        group.creation_time = naive_utc(knobs["creationTime"])
    return group


def _describe_dict(self) -> dict:
    described = _original_describe_dict(self)
    stored = getattr(self, "sandbox_stored_bytes", None)
    if stored is not None:
        described["storedBytes"] = stored + described["storedBytes"]
    described["logGroupClass"] = getattr(self, "log_group_class", "STANDARD")
    return described


def _create_log_group_response(self) -> str:
    log_group_class = self._get_param("logGroupClass")
    if log_group_class and log_group_class not in LOG_GROUP_CLASSES:
        raise logs_models.InvalidParameterException(msg=f"logGroupClass must be one of {', '.join(LOG_GROUP_CLASSES)}")
    self.logs_backend.create_log_group(
        self._get_param("logGroupName"),
        self._get_param("tags"),
        kmsKeyId=self._get_param("kmsKeyId"),
        logGroupClass=log_group_class,
    )
    return ""


def patch_logs() -> None:
    logs_models.LogsBackend.create_log_group = _create_log_group
    logs_models.LogGroup.to_describe_dict = _describe_dict
    logs_responses.LogsResponse.create_log_group = _create_log_group_response


def apply() -> None:
    """Apply every patch once (idempotent)."""
    global _applied
    if _applied:
        return
    patch_cloudwatch()
    patch_sagemaker()
    patch_logs()
    _applied = True
