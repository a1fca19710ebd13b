"""The AWS CLI commands that would apply a recommendation. Wattson never runs them: it only reads the account.

SageMaker endpoint configurations are immutable, so a change is a new configuration plus UpdateEndpoint (a
blue/green deployment without downtime). Every argument is quoted for a POSIX shell.
"""

from __future__ import annotations

import json

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
