"""Changes a platform team makes to its endpoints, applied to a running sandbox through the SageMaker API.

The demo uses one so that an endpoint page shows how a configuration change is drawn; tests use them to change
AWS state the way a customer would (a new endpoint configuration, then UpdateEndpoint).
"""

from __future__ import annotations

from sandbox import fleet as fl
from sandbox.clients import client

DEMO_CHANGE = {
    "account_id": fl.PROD,
    "region": "us-east-1",
    "endpoint": "image-tagger",
    "variant": "AllTraffic",
    "instance_type": "ml.g4dn.2xlarge",
}


def change_instance_type(
    url: str, account_id: str, region: str, endpoint: str, variant: str, instance_type: str, count: int | None = None
) -> str:
    """Point ``endpoint`` at a copy of its configuration with ``variant`` on ``instance_type``; returns the new
    configuration's name."""
    sagemaker = client("sagemaker", url, region, account_id)
    current = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=current)
    variants = []
    for production_variant in config["ProductionVariants"]:
        if production_variant["VariantName"] == variant:
            production_variant = {**production_variant, "InstanceType": instance_type}
            if count is not None:
                production_variant["InitialInstanceCount"] = count
        variants.append(production_variant)
    name = f"{endpoint}-{instance_type.replace('.', '-')}"[:63]
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants)
    sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=name)
    return name


def demo_change(url: str, instance_type: str | None = None, count: int | None = None) -> str:
    """The demo's right-sizing of image-tagger (two ml.g4dn.12xlarge, 4 GPUs each, nearly idle): to the given
    type and count (what Wattson recommended), else to ml.g4dn.2xlarge."""
    change = {**DEMO_CHANGE, "instance_type": instance_type or DEMO_CHANGE["instance_type"], "count": count}
    change_instance_type(url, **change)
    return f"{change['endpoint']} moved to {change['count'] or 'the same number of'} x {change['instance_type']}"
