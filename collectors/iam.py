"""The IAM documents a customer needs to let Wattson read an account (shown on the account page)."""

import json

READ_ONLY_ACTIONS = {
    "SageMakerRead": [
        "sagemaker:ListEndpoints",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeModel",
        "sagemaker:ListTags",
        "sagemaker:ListInferenceComponents",
        "sagemaker:DescribeInferenceComponent",
    ],
    "WorkloadsRead": [
        "sagemaker:ListTrainingJobs",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:ListHyperParameterTuningJobs",
        "sagemaker:DescribeHyperParameterTuningJob",
        "sagemaker:ListProcessingJobs",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:ListTransformJobs",
        "sagemaker:DescribeTransformJob",
        "sagemaker:ListNotebookInstances",
        "sagemaker:DescribeNotebookInstance",
        "sagemaker:DescribeNotebookInstanceLifecycleConfig",
        "sagemaker:ListDomains",
        "sagemaker:DescribeDomain",
        "sagemaker:ListApps",
        "sagemaker:DescribeApp",
        "sagemaker:DescribeSpace",
    ],
    "MetricsRead": ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
    "LogsRead": ["logs:DescribeLogGroups"],
    "ConfigurationHistoryRead": ["cloudtrail:LookupEvents"],
    "AwsFiguresRead": ["sustainability:GetEstimatedCarbonEmissions", "compute-optimizer:GetIdleRecommendations"],
    "StorageLensRead": ["s3:ListStorageLensConfigurations", "s3:GetStorageLensConfiguration"],
}


def trust_policy(collector_principal_arn: str, external_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": collector_principal_arn},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        },
        indent=2,
    )


def permissions_policy(
    export_bucket: str = "<export-bucket>",
    export_prefix: str = "<prefix>",
    cost_bucket: str = "<cost-export-bucket>",
    cost_prefix: str = "<cost-export-prefix>",
) -> str:
    """The role's read-only policy: SageMaker, CloudWatch, Logs, Storage Lens, and the two exports' objects (the
    Storage Lens metrics export and the cost export, CUR 2.0 or FOCUS, where one is configured)."""
    statements = [
        {"Sid": sid, "Effect": "Allow", "Resource": "*", "Action": actions}
        for sid, actions in READ_ONLY_ACTIONS.items()
    ]
    statements += [
        {
            "Sid": "LensExportList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{export_bucket}",
        },
        {
            "Sid": "LensExportRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{export_bucket}/{export_prefix}/StorageLens/*",
        },
        {
            "Sid": "CostExportList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{cost_bucket}",
        },
        {
            "Sid": "CostExportRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{cost_bucket}/{cost_prefix.strip('/') + '/' if cost_prefix else ''}*",
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


# What Wattson's own identity (the workers' credentials) needs: assume the customer roles, and read the Price List,
# which is the same for every account and so is read once with this identity rather than through a customer role.
COLLECTOR_ACTIONS = {"AssumeCustomerRoles": ["sts:AssumeRole"], "PriceListRead": ["pricing:GetProducts"]}


def collector_policy(role_name: str = "<ReadOnlyRoleName>") -> str:
    resources = {"AssumeCustomerRoles": f"arn:aws:iam::*:role/{role_name}", "PriceListRead": "*"}
    statements = [
        {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources[sid]}
        for sid, actions in COLLECTOR_ACTIONS.items()
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)
