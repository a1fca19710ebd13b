"""The AWS CLI commands that would apply a recommendation. Wattson never runs them: it only reads the account.

SageMaker endpoint configurations are immutable, so a change is a new configuration plus UpdateEndpoint (a
blue/green deployment without downtime). Every argument is quoted for a POSIX shell.
"""

from __future__ import annotations

import json
import math

from dashboard.recommend.draft import commands


def _new_config_name(endpoint: str, suffix: str) -> str:
    return f"{endpoint}-{suffix}"[:63].rstrip("-")


def delete_endpoint(name: str, region: str) -> str:
    return commands(["aws", "sagemaker", "delete-endpoint", "--endpoint-name", name, "--region", region])


def _variant_spec(config: dict, **changes) -> str:
    spec = {
        "VariantName": config["variant_name"],
        "ModelName": config["model_name"] or "<model-name>",
        "InstanceType": config["instance_type"],
        "InitialInstanceCount": config["current_instance_count"] or config["initial_instance_count"] or 1,
        "InitialVariantWeight": 1.0,
        **changes,
    }
    return json.dumps([spec], separators=(",", ":"))


def _update(variant, suffix: str, spec: str, *extra: str) -> str:
    name, region = variant.endpoint["name"], variant.region
    config = _new_config_name(name, suffix)
    return commands(
        [
            "aws",
            "sagemaker",
            "create-endpoint-config",
            "--endpoint-config-name",
            config,
            "--production-variants",
            spec,
            *extra,
            "--region",
            region,
        ],
        [
            "aws",
            "sagemaker",
            "update-endpoint",
            "--endpoint-name",
            name,
            "--endpoint-config-name",
            config,
            "--region",
            region,
        ],
    )


def update_variant(variant, instance_type: str, count: int) -> str:
    """A copy of the variant's configuration on ``count`` x ``instance_type`` (other variants: copy them from
    ``aws sagemaker describe-endpoint-config`` into the same list)."""
    spec = _variant_spec(variant.config, InstanceType=instance_type, InitialInstanceCount=count)
    return _update(variant, f"{instance_type.removeprefix('ml.').replace('.', '-')}-x{count}", spec)


def to_serverless(variant, memory_mb: int) -> str:
    spec = json.dumps(
        [
            {
                "VariantName": variant.config["variant_name"],
                "ModelName": variant.config["model_name"] or "<model-name>",
                "ServerlessConfig": {"MemorySizeInMB": memory_mb, "MaxConcurrency": 5},
            }
        ],
        separators=(",", ":"),
    )
    return _update(variant, f"serverless-{memory_mb}", spec)


def to_async(variant) -> str:
    spec = _variant_spec(variant.config)
    output = f"s3://<bucket>/{variant.endpoint['name']}/async-output/"
    async_config = json.dumps({"OutputConfig": {"S3OutputPath": output}}, separators=(",", ":"))
    name, region = variant.endpoint["name"], variant.region
    scaling = json.dumps(
        {
            "TargetValue": 5.0,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": name}],
                "Statistic": "Average",
            },
        },
        separators=(",", ":"),
    )
    resource = f"endpoint/{name}/variant/{variant.config['variant_name']}"
    return (
        _update(variant, "async", spec, "--async-inference-config", async_config)
        + " && \\\n  "
        + commands(
            [
                "aws",
                "application-autoscaling",
                "register-scalable-target",
                "--service-namespace",
                "sagemaker",
                "--resource-id",
                resource,
                "--scalable-dimension",
                "sagemaker:variant:DesiredInstanceCount",
                "--min-capacity",
                "0",
                "--max-capacity",
                str(variant.configured_instances),
                "--region",
                region,
            ],
            [
                "aws",
                "application-autoscaling",
                "put-scaling-policy",
                "--policy-name",
                f"{name}-backlog",
                "--service-namespace",
                "sagemaker",
                "--resource-id",
                resource,
                "--scalable-dimension",
                "sagemaker:variant:DesiredInstanceCount",
                "--policy-type",
                "TargetTrackingScaling",
                "--target-tracking-scaling-policy-configuration",
                scaling,
                "--region",
                region,
            ],
        )
    )


def redeploy_in_region(variant, region: str) -> str:
    spec = _variant_spec(variant.config)
    name = variant.endpoint["name"]
    return commands(
        [
            "aws",
            "sagemaker",
            "create-endpoint-config",
            "--endpoint-config-name",
            _new_config_name(name, region),
            "--production-variants",
            spec,
            "--region",
            region,
        ],
        [
            "aws",
            "sagemaker",
            "create-endpoint",
            "--endpoint-name",
            name,
            "--endpoint-config-name",
            _new_config_name(name, region),
            "--region",
            region,
        ],
    )


def consolidate(names: list[str], instance_type: str, count: int, region: str) -> str:
    target = _new_config_name("consolidated", "mme")
    container = json.dumps(
        {"Image": "<serving-image-uri>", "Mode": "MultiModel", "ModelDataUrl": "s3://<bucket>/<models-prefix>/"},
        separators=(",", ":"),
    )
    spec = json.dumps(
        [
            {
                "VariantName": "AllTraffic",
                "ModelName": target,
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
            }
        ],
        separators=(",", ":"),
    )
    steps = [
        [
            "aws",
            "sagemaker",
            "create-model",
            "--model-name",
            target,
            "--primary-container",
            container,
            "--execution-role-arn",
            "<role-arn>",
            "--region",
            region,
        ],
        [
            "aws",
            "sagemaker",
            "create-endpoint-config",
            "--endpoint-config-name",
            target,
            "--production-variants",
            spec,
            "--region",
            region,
        ],
        [
            "aws",
            "sagemaker",
            "create-endpoint",
            "--endpoint-name",
            target,
            "--endpoint-config-name",
            target,
            "--region",
            region,
        ],
    ]
    steps += [["aws", "sagemaker", "delete-endpoint", "--endpoint-name", name, "--region", region] for name in names]
    return commands(*steps)


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _scalable(resource: str, dimension: str, max_capacity: int, region: str) -> list[str]:
    """Register ``resource`` with Application Auto Scaling, allowed down to zero."""
    return [
        "aws",
        "application-autoscaling",
        "register-scalable-target",
        "--service-namespace",
        "sagemaker",
        "--resource-id",
        resource,
        "--scalable-dimension",
        dimension,
        "--min-capacity",
        "0",
        "--max-capacity",
        str(max_capacity),
        "--region",
        region,
    ]


def _policy(resource: str, dimension: str, name: str, region: str, kind: str, configuration: dict) -> list[str]:  # noqa: PLR0913
    option = {
        "TargetTrackingScaling": "--target-tracking-scaling-policy-configuration",
        "StepScaling": "--step-scaling-policy-configuration",
    }[kind]
    return [
        "aws",
        "application-autoscaling",
        "put-scaling-policy",
        "--policy-name",
        name,
        "--service-namespace",
        "sagemaker",
        "--resource-id",
        resource,
        "--scalable-dimension",
        dimension,
        "--policy-type",
        kind,
        option,
        _compact(configuration),
        "--region",
        region,
    ]


# Scale out from zero: one instance (or copy) as soon as the alarm fires (AWS: "Autoscale an asynchronous
# endpoint" and "Scale an endpoint to zero instances", SageMaker Developer Guide).
STEP_FROM_ZERO = {
    "AdjustmentType": "ChangeInCapacity",
    "MetricAggregationType": "Maximum",
    "Cooldown": 300,
    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
}


def _alarm(name: str, metric: str, dimension: dict, region: str) -> list[str]:
    """An alarm on ``metric`` >= 1 that triggers the step policy (its ARN is what put-scaling-policy printed)."""
    return [
        "aws",
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        name,
        "--namespace",
        "AWS/SageMaker",
        "--metric-name",
        metric,
        "--dimensions",
        f"Name={dimension['Name']},Value={dimension['Value']}",
        "--statistic",
        "Maximum",
        "--period",
        "60",
        "--evaluation-periods",
        "1",
        "--threshold",
        "1",
        "--comparison-operator",
        "GreaterThanOrEqualToThreshold",
        "--treat-missing-data",
        "notBreaching",
        "--alarm-actions",
        "<step-scaling-policy-arn>",
        "--region",
        region,
    ]


def most_instances(variant) -> int:
    """The most instances the variant ran in an hour of its evidence (or is configured with): the scaling maximum."""
    observed = float(variant.hours["instance_hours"].max()) if len(variant.hours) else 0.0
    return max(variant.configured_instances, 0 if math.isnan(observed) else math.ceil(observed - 1e-6), 1)


def async_scale_to_zero(variant) -> str:
    """An asynchronous endpoint's variant scaled on its queue: MinCapacity 0, target tracking on
    ApproximateBacklogSizePerInstance to scale in (and out while instances run), and a step policy triggered by
    HasBacklogWithoutCapacity to start the first instance when requests queue with none running."""
    name, region = variant.endpoint["name"], variant.region
    resource = f"endpoint/{name}/variant/{variant.config['variant_name']}"
    dimension = "sagemaker:variant:DesiredInstanceCount"
    backlog = {
        "TargetValue": 5.0,
        "CustomizedMetricSpecification": {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": name}],
            "Statistic": "Average",
        },
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 300,
    }
    return commands(
        _scalable(resource, dimension, most_instances(variant), region),
        _policy(resource, dimension, f"{name}-backlog", region, "TargetTrackingScaling", backlog),
        _policy(resource, dimension, f"{name}-from-zero", region, "StepScaling", STEP_FROM_ZERO),
        _alarm(
            f"{name}-backlog-without-capacity",
            "HasBacklogWithoutCapacity",
            {"Name": "EndpointName", "Value": name},
            region,
        ),
    )


def _component_scaling(component: str, max_copies: int, region: str) -> list[list[str]]:
    """An inference component's copies allowed down to zero: target tracking on invocations per copy, and a step
    policy on NoCapacityInvocationFailures to bring a copy (and an instance) back when a request finds none."""
    resource = f"inference-component/{component}"
    dimension = "sagemaker:inference-component:DesiredCopyCount"
    per_copy = {
        "TargetValue": 5.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"},
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 300,
    }
    return [
        _scalable(resource, dimension, max_copies, region),
        _policy(resource, dimension, f"{component}-per-copy", region, "TargetTrackingScaling", per_copy),
        _policy(resource, dimension, f"{component}-from-zero", region, "StepScaling", STEP_FROM_ZERO),
        _alarm(
            f"{component}-no-capacity",
            "NoCapacityInvocationFailures",
            {"Name": "InferenceComponentName", "Value": component},
            region,
        ),
    ]


def _managed_scaling_spec(variant, max_instances: int) -> str:
    return _compact(
        [
            {
                "VariantName": variant.config["variant_name"],
                "InstanceType": variant.instance_type,
                "InitialInstanceCount": max(variant.configured_instances, 1),
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 0,
                    "MaxInstanceCount": max_instances,
                },
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ]
    )


def inference_component_scale_to_zero(variant, components: list[str], requirements: dict) -> str:
    """A real-time variant scaled to zero through inference components (the only way a real-time endpoint can).

    A variant that already hosts components (``components``) gets a configuration with ManagedInstanceScaling
    MinInstanceCount 0 and each component's copies allowed to 0. A model-based variant is redeployed as a new
    IC-based endpoint ``<name>-ic`` with one component for its model (``requirements``: what one copy reserves);
    callers move to it, then the old endpoint is deleted (not in the commands: only once nobody calls it).
    ``put-scaling-policy`` of the step policy prints its ARN, the alarm's action."""
    name, region = variant.endpoint["name"], variant.region
    max_instances = max(most_instances(variant), int(variant.config.get("max_instance_count") or 0))
    spec = _managed_scaling_spec(variant, max_instances)
    if components:
        steps = [
            [
                "aws",
                "sagemaker",
                "create-endpoint-config",
                "--endpoint-config-name",
                _new_config_name(name, "scale-to-zero"),
                "--execution-role-arn",
                "<role-arn>",
                "--production-variants",
                spec,
                "--region",
                region,
            ],
            [
                "aws",
                "sagemaker",
                "update-endpoint",
                "--endpoint-name",
                name,
                "--endpoint-config-name",
                _new_config_name(name, "scale-to-zero"),
                "--region",
                region,
            ],
        ]
        for component in components:
            steps += _component_scaling(component, max_instances, region)
        return commands(*steps)
    target, component = _new_config_name(name, "ic"), _new_config_name(name, "model")
    specification = {
        "ModelName": variant.config["model_name"] or "<model-name>",
        "ComputeResourceRequirements": requirements,
    }
    steps = [
        [
            "aws",
            "sagemaker",
            "create-endpoint-config",
            "--endpoint-config-name",
            target,
            "--execution-role-arn",
            "<role-arn>",
            "--production-variants",
            spec,
            "--region",
            region,
        ],
        [
            "aws",
            "sagemaker",
            "create-endpoint",
            "--endpoint-name",
            target,
            "--endpoint-config-name",
            target,
            "--region",
            region,
        ],
        [
            "aws",
            "sagemaker",
            "create-inference-component",
            "--inference-component-name",
            component,
            "--endpoint-name",
            target,
            "--variant-name",
            variant.config["variant_name"],
            "--specification",
            _compact(specification),
            "--runtime-config",
            _compact({"CopyCount": 1}),
            "--region",
            region,
        ],
        *_component_scaling(component, max_instances, region),
    ]
    return commands(*steps)
