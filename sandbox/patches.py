"""Where stock moto 5.2.5 falls short of AWS for our collectors, and how the sandbox closes the gap.

Every patch here touches moto internals, which is why pyproject pins ``moto==5.2.5`` and
tests/sandbox/test_patches.py (and test_inference_components.py, test_cloudtrail.py) exercise each one over
HTTP with plain boto3. The gaps closed:

- CloudWatch: a compact metric store with AWS's GetMetricData rules (``metric_store.py``), ListMetrics paging.
- SageMaker: current instance types accepted; ``sandbox:`` status and time knobs on endpoints; UpdateEndpoint
  switches the config; an endpoint-config variant without ``ModelName`` (inference-component style; moto answered
  HTTP 500) is accepted; ``MetricsConfig`` and ``ExecutionRoleArn`` are kept and returned by
  DescribeEndpointConfig (moto drops them); DescribeEndpoint echoes a variant's ``ManagedInstanceScaling``.
- SageMaker inference components (moto has none): Create/Describe/List/Update/DeleteInferenceComponent and
  UpdateInferenceComponentRuntimeConfig per account and region, List paginated (``MaxResults`` <= 100) with
  the Endpoint/Variant/Status/Name/time filters, tags through AddTags/ListTags on the component's ARN.
- CloudTrail (moto records no events and has no LookupEvents): ``sandbox/cloudtrail.py``; the mutating SageMaker
  calls above are recorded as management events when they succeed.
- CloudWatch Logs: storedBytes in bytes, logGroupClass, creation time.

Seeding-only knobs travel as resource tags with the ``sandbox:`` prefix; the patched server
consumes and strips them, so a collector never sees them:

- SageMaker endpoint: ``sandbox:status``, ``sandbox:failureReason``, ``sandbox:creationTime`` and
  ``sandbox:lastModifiedTime`` (ISO).
- Inference component: ``sandbox:status``, ``sandbox:creationTime``, ``sandbox:lastModifiedTime`` (ISO) and
  ``sandbox:currentCopyCount`` (a component still scaling towards its desired count).
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

from sandbox import cloudtrail, jobs
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


# --- SageMaker: inference components, IC-style endpoint configs, MetricsConfig ------------------------


class FakeInferenceComponent:
    """One inference component as DescribeInferenceComponent shows it (moto 5.2.5 has none)."""

    def __init__(self, backend, endpoint, params: dict, tags: list) -> None:
        self.name = params["InferenceComponentName"]
        self.arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-component/{self.name}"
        self.endpoint_name = endpoint.endpoint_name
        self.endpoint_arn = endpoint.arn
        self.variant_name = params.get("VariantName")
        self.specification = params.get("Specification") or {}
        copies = int((params.get("RuntimeConfig") or {}).get("CopyCount", 1))
        self.desired_copy_count = self.current_copy_count = copies
        self.status = "InService"
        self.failure_reason = None
        self.tags = tags or []
        self.creation_time = self.last_modified_time = sm_models.utcnow()

    def apply_knobs(self, knobs: dict) -> None:
        if "status" in knobs:
            self.status = knobs["status"]
        if "creationTime" in knobs:
            self.creation_time = self.last_modified_time = naive_utc(knobs["creationTime"])
        if "lastModifiedTime" in knobs:
            self.last_modified_time = naive_utc(knobs["lastModifiedTime"])
        if "currentCopyCount" in knobs:
            self.current_copy_count = int(knobs["currentCopyCount"])

    def summary(self) -> dict:
        return {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint_name,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant_name,
            "InferenceComponentStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }

    def describe(self) -> dict:
        described = {
            **self.summary(),
            "Specification": self.specification,
            "RuntimeConfig": {"DesiredCopyCount": self.desired_copy_count, "CurrentCopyCount": self.current_copy_count},
        }
        if self.failure_reason:
            described["FailureReason"] = self.failure_reason
        return described


def inference_components(backend) -> dict[str, FakeInferenceComponent]:
    found = getattr(backend, "_sandbox_inference_components", None)
    if found is None:
        found = backend._sandbox_inference_components = {}
    return found


def _find_component(backend, name: str) -> FakeInferenceComponent:
    component = inference_components(backend).get(name)
    if component is None:
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:inference-component/{name}"
        raise SageMakerValidationError(message=f"Could not find inference component '{arn}'.")
    return component


def _create_inference_component(self) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("InferenceComponentName")
    if name in inference_components(backend):
        raise SageMakerValidationError(message=f"Cannot create already existing inference component '{name}'.")
    endpoint_name = self._get_param("EndpointName")
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = sm_models.FakeEndpoint.arn_formatter(endpoint_name, backend.account_id, backend.region_name)
        raise SageMakerValidationError(message=f"Could not find endpoint '{arn}'.")
    variant_name = self._get_param("VariantName")
    if variant_name and variant_name not in [v["VariantName"] for v in endpoint.production_variants]:
        raise SageMakerValidationError(
            message=f"Could not find variant '{variant_name}' on endpoint '{endpoint_name}'."
        )
    tags, knobs = split_sandbox_tags(self._get_param("Tags"))
    component = FakeInferenceComponent(backend, endpoint, self._get_params(), tags)
    component.apply_knobs(knobs)
    inference_components(backend)[name] = component
    return ActionResult({"InferenceComponentArn": component.arn})


def _describe_inference_component(self) -> ActionResult:
    component = _find_component(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    return ActionResult(component.describe())


LIST_COMPONENTS_MAX = 100


def _list_inference_components(self) -> ActionResult:
    params = self._get_params()
    max_results = int(params.get("MaxResults") or 10)
    if not 1 <= max_results <= LIST_COMPONENTS_MAX:
        raise SageMakerValidationError(
            message=f"Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {LIST_COMPONENTS_MAX}"
        )

    def keep(c: FakeInferenceComponent) -> bool:
        checks = (
            ("EndpointNameEquals", lambda v: c.endpoint_name == v),
            ("VariantNameEquals", lambda v: c.variant_name == v),
            ("StatusEquals", lambda v: c.status == v),
            ("NameContains", lambda v: v in c.name),
            ("CreationTimeBefore", lambda v: c.creation_time < naive_utc_any(v)),
            ("CreationTimeAfter", lambda v: c.creation_time > naive_utc_any(v)),
            ("LastModifiedTimeBefore", lambda v: c.last_modified_time < naive_utc_any(v)),
            ("LastModifiedTimeAfter", lambda v: c.last_modified_time > naive_utc_any(v)),
        )
        return all(test(params[key]) for key, test in checks if params.get(key) is not None)

    found = [c for c in inference_components(self.sagemaker_backend).values() if keep(c)]
    sort_by = params.get("SortBy") or "CreationTime"
    key = {"Name": lambda c: c.name, "Status": lambda c: c.status}.get(sort_by, lambda c: (c.creation_time, c.name))
    found.sort(key=key, reverse=(params.get("SortOrder") or "Descending") == "Descending")
    start = int(params.get("NextToken") or 0)
    result: dict = {"InferenceComponents": [c.summary() for c in found[start : start + max_results]]}
    if start + max_results < len(found):
        result["NextToken"] = str(start + max_results)
    return ActionResult(result)


def naive_utc_any(value) -> datetime:
    """A filter time from the request (epoch seconds or ISO) as moto's naive UTC."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return naive_utc(str(value).replace("Z", "+00:00"))


def _update_inference_component(self) -> ActionResult:
    component = _find_component(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    specification = self._get_param("Specification")
    if specification:
        component.specification = specification
    runtime = self._get_param("RuntimeConfig")
    if runtime and "CopyCount" in runtime:
        component.desired_copy_count = component.current_copy_count = int(runtime["CopyCount"])
    component.last_modified_time = sm_models.utcnow()
    return ActionResult({"InferenceComponentArn": component.arn})


def _update_inference_component_runtime_config(self) -> ActionResult:
    component = _find_component(self.sagemaker_backend, self._get_param("InferenceComponentName"))
    copies = int((self._get_param("DesiredRuntimeConfig") or {}).get("CopyCount", component.desired_copy_count))
    component.desired_copy_count = component.current_copy_count = copies
    component.last_modified_time = sm_models.utcnow()
    return ActionResult({"InferenceComponentArn": component.arn})


def _delete_inference_component(self) -> ActionResult:
    backend = self.sagemaker_backend
    component = _find_component(backend, self._get_param("InferenceComponentName"))
    del inference_components(backend)[component.name]
    return ActionResult({})


_original_resource_from_arn = sm_models.SageMakerModelBackend._get_resource_from_arn


def _get_resource_from_arn(self, arn: str):
    if ":inference-component/" in arn:
        return _find_component(self, arn.rsplit("/", 1)[1])
    return _original_resource_from_arn(self, arn)


def _validate_production_variants(self, production_variants) -> None:
    """A variant without ModelName hosts inference components (moto raised KeyError: HTTP 500)."""
    for variant in production_variants:
        model_name = variant.get("ModelName")
        if model_name and model_name not in self._models:
            arn = sm_models.arn_formatter("model", model_name, self.account_id, self.region_name)
            raise SageMakerValidationError(message=f"Could not find model '{arn}'.")


def _create_endpoint_config_response(self) -> ActionResult:
    """Keep MetricsConfig and ExecutionRoleArn, which moto drops, so DescribeEndpointConfig returns them."""
    config = self.sagemaker_backend.create_endpoint_config(
        endpoint_config_name=self._get_param("EndpointConfigName"),
        async_inference_config=self._get_param("AsyncInferenceConfig"),
        production_variants=self._get_param("ProductionVariants"),
        data_capture_config=self._get_param("DataCaptureConfig"),
        tags=self._get_param("Tags"),
        kms_key_id=self._get_param("KmsKeyId"),
    )
    for member in ("MetricsConfig", "ExecutionRoleArn", "EnableNetworkIsolation"):
        value = self._get_param(member)
        if value is not None:
            setattr(config, re.sub(r"(?<!^)(?=[A-Z])", "_", member).lower(), value)
    return ActionResult({"EndpointConfigArn": config.endpoint_config_arn})


_original_process_variants = sm_models.FakeEndpoint._process_production_variants


def _process_production_variants(self, production_variants):
    """DescribeEndpoint's variants also echo ManagedInstanceScaling (IC endpoints scale between min and max)."""
    processed = _original_process_variants(self, production_variants)
    for summary, given in zip(processed, production_variants, strict=True):
        if given.get("ManagedInstanceScaling"):
            summary["ManagedInstanceScaling"] = given["ManagedInstanceScaling"]
    return processed


def patch_inference_components() -> None:
    responses = sm_responses.SageMakerResponse
    responses.create_inference_component = _create_inference_component
    responses.describe_inference_component = _describe_inference_component
    responses.list_inference_components = _list_inference_components
    responses.update_inference_component = _update_inference_component
    responses.update_inference_component_runtime_config = _update_inference_component_runtime_config
    responses.delete_inference_component = _delete_inference_component
    responses.create_endpoint_config = _create_endpoint_config_response
    sm_models.SageMakerModelBackend._get_resource_from_arn = _get_resource_from_arn
    sm_models.SageMakerModelBackend.validate_production_variants = _validate_production_variants
    sm_models.FakeEndpoint._process_production_variants = _process_production_variants


# --- CloudTrail: live events for mutating SageMaker calls ---------------------------------------------

RECORDED_SAGEMAKER_CALLS = (
    "CreateEndpoint",
    "UpdateEndpoint",
    "DeleteEndpoint",
    "UpdateEndpointWeightsAndCapacities",
    "CreateEndpointConfig",
    "DeleteEndpointConfig",
    "CreateInferenceComponent",
    "UpdateInferenceComponent",
    "UpdateInferenceComponentRuntimeConfig",
    "DeleteInferenceComponent",
    # CreateNotebookInstance and CreateApp are recorded by sandbox/jobs.py, at their creationTime knob when seeded
    "StartNotebookInstance",
    "StopNotebookInstance",
    "DeleteNotebookInstance",
    "DeleteApp",
)


def _recorded(event_name: str, method):
    """Wrap a SageMaker response method: after it succeeds, log the call as CloudTrail would."""

    def handler(self):
        result = method(self)
        params = self._get_params()
        if params.get("Tags"):
            params["Tags"], _ = split_sandbox_tags(params["Tags"])
        returned = result.result if isinstance(result, ActionResult) else None
        cloudtrail.event_store(self.current_account, self.region).add(
            {
                "account": self.current_account,
                "region": self.region,
                "event_name": event_name,
                "request_parameters": params,
                "response_elements": returned if isinstance(returned, dict) and returned else None,
            }
        )
        return result

    return handler


def patch_cloudtrail_recording() -> None:
    responses = sm_responses.SageMakerResponse
    for event_name in RECORDED_SAGEMAKER_CALLS:
        attribute = re.sub(r"(?<!^)(?=[A-Z])", "_", event_name).lower()
        setattr(responses, attribute, _recorded(event_name, getattr(responses, attribute)))


def apply() -> None:
    """Apply every patch once (idempotent)."""
    global _applied
    if _applied:
        return
    patch_cloudwatch()
    patch_sagemaker()
    patch_inference_components()
    jobs.patch_jobs()  # training, processing, transform, tuning jobs, notebooks, Studio apps (issue 19)
    patch_cloudtrail_recording()  # after the SageMaker patches: it wraps their final responses
    cloudtrail.patch_cloudtrail()
    patch_logs()
    _applied = True
