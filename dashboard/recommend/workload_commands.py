"""What would apply a workload recommendation (issue 19): SageMaker Python SDK snippets for the next run of a
training job family or tuning job, and AWS CLI commands for notebook instances and Studio domains. Wattson never
runs them; every shell argument is quoted for a POSIX shell (``draft.command``)."""

from __future__ import annotations

import json

from dashboard.recommend.draft import command, commands

# The SDK estimator class per framework (the image's framework as the jobs collector read it).
ESTIMATORS = {
    "pytorch": ("sagemaker.pytorch", "PyTorch"),
    "huggingface": ("sagemaker.huggingface", "HuggingFace"),
    "tensorflow": ("sagemaker.tensorflow", "TensorFlow"),
}
AUTOSTOP_SCRIPT_URL = (
    "https://raw.githubusercontent.com/aws-samples/amazon-sagemaker-notebook-instance-lifecycle-config-samples/"
    "master/scripts/auto-stop-idle/autostop.py"
)
IDLE_MINUTES = 60


def _estimator(framework: str) -> tuple[str, str]:
    return ESTIMATORS.get(framework, ("sagemaker.estimator", "Estimator"))


def _sdk(framework: str, lines: list[str], note: str) -> str:
    module, name = _estimator(framework)
    body = ",\n    ".join(lines)
    return f"# {note}\nfrom {module} import {name}\n\nestimator = {name}(\n    {body},\n    # ...the rest as today\n)"


def trainium(family: str, framework: str, instance_type: str, count: int) -> str:
    lines = [
        f"instance_type={instance_type!r}",
        f"instance_count={count}",
        'distribution={"torch_distributed": {"enabled": True}}',
        f"base_job_name={family!r}",
    ]
    note = (
        f"The next run of {family} on Trainium: a Neuron SDK image (torch-neuronx / optimum-neuron) and a script "
        "ported to XLA devices"
    )
    return _sdk(framework, lines, note)


def managed_spot(family: str, framework: str, max_runtime_seconds: int, bucket_hint: str) -> str:
    wait = max(2 * max_runtime_seconds, max_runtime_seconds + 3600)
    lines = [
        "use_spot_instances=True",
        f"max_run={max_runtime_seconds}",
        f"max_wait={wait}",
        f"checkpoint_s3_uri={bucket_hint!r}",
        f"base_job_name={family!r}",
    ]
    return _sdk(framework, lines, f"The next run of {family} on managed Spot capacity, checkpointing to S3")


def right_size(family: str, framework: str, instance_type: str, count: int) -> str:
    lines = [f"instance_type={instance_type!r}", f"instance_count={count}", f"base_job_name={family!r}"]
    return _sdk(framework, lines, f"The next run of {family} on less GPU capacity")


def tuning(family: str, region: str, changes: dict, note: str) -> str:
    """A create-hyper-parameter-tuning-job with the changed part of its configuration (the rest as today)."""
    config = {"Strategy": "Bayesian", **changes.get("config", {})}
    lines = [
        [
            "aws",
            "sagemaker",
            "describe-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            changes["previous"],
            "--region",
            region,
            "--query",
            "HyperParameterTuningJobConfig",
        ],
        [
            "aws",
            "sagemaker",
            "create-hyper-parameter-tuning-job",
            "--hyper-parameter-tuning-job-name",
            f"{family}-next"[:32],
            "--hyper-parameter-tuning-job-config",
            json.dumps(config, separators=(",", ":")),
            *(
                ["--warm-start-config", json.dumps(changes["warm_start"], separators=(",", ":"))]
                if "warm_start" in changes
                else []
            ),
            "--training-job-definition",
            "file://training-job-definition.json",
            "--region",
            region,
        ],
    ]
    return f"# {note}\n" + commands(*lines)


def notebook_auto_stop(name: str, region: str) -> str:
    """A lifecycle configuration whose OnStart installs AWS's auto-stop-idle sample, attached to the instance (the
    instance must be stopped to update it; it starts again with the script)."""
    config = f"{name}-autostop"[:63]
    script = (
        "#!/bin/bash\nset -e\n"
        f"wget -q -O /home/ec2-user/autostop.py {AUTOSTOP_SCRIPT_URL}\n"
        f'(crontab -l 2>/dev/null; echo "*/5 * * * * /usr/bin/python3 /home/ec2-user/autostop.py '
        f'--time {IDLE_MINUTES * 60} --ignore-connections") | crontab -\n'
    )
    return f"cat > on-start.sh <<'EOF'\n{script}EOF\n" + commands(
        [
            "aws",
            "sagemaker",
            "create-notebook-instance-lifecycle-config",
            "--notebook-instance-lifecycle-config-name",
            config,
            "--on-start",
            "Content=$(base64 -w0 on-start.sh)",
            "--region",
            region,
        ],
        ["aws", "sagemaker", "stop-notebook-instance", "--notebook-instance-name", name, "--region", region],
        [
            "aws",
            "sagemaker",
            "update-notebook-instance",
            "--notebook-instance-name",
            name,
            "--lifecycle-config-name",
            config,
            "--region",
            region,
        ],
    ).replace("'Content=$(base64 -w0 on-start.sh)'", '"Content=$(base64 -w0 on-start.sh)"')


def studio_idle_settings(domain_id: str, space_name: str, region: str) -> str:
    """Idle shutdown for JupyterLab apps: on the space when the app runs in one, else as the domain's default."""
    settings = {
        "JupyterLabAppSettings": {
            "AppLifecycleManagement": {
                "IdleSettings": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": IDLE_MINUTES}
            }
        }
    }
    if space_name:
        return command(
            "aws",
            "sagemaker",
            "update-space",
            "--domain-id",
            domain_id or "<domain-id>",
            "--space-name",
            space_name,
            "--space-settings",
            json.dumps(settings, separators=(",", ":")),
            "--region",
            region,
        )
    return command(
        "aws",
        "sagemaker",
        "update-domain",
        "--domain-id",
        domain_id or "<domain-id>",
        "--default-user-settings",
        json.dumps(settings, separators=(",", ":")),
        "--region",
        region,
    )
