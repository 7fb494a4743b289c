"""deploy/helm/gaby renders with Helm's own engine and every manifest passes the strict Kubernetes schemas, for the
default values, values-minimal.yaml and a variant with the ingress on and every secret from an existing Secret."""

from __future__ import annotations

import base64
import copy
import time
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.deploy.helm_render import CHART, KUBERNETES_VERSIONS, Manifest, notes, render, schema_errors

MINIMAL = yaml.safe_load((CHART / "values-minimal.yaml").read_text(encoding="utf-8"))
INGRESS_AND_EXISTING_SECRETS: dict[str, Any] = {
    "image": {"repository": "registry.example.com/gaby", "tag": "2026.12"},
    "imagePullSecrets": [{"name": "registry-login"}],
    "baseDomain": "help.example.org",
    "database": {"existingSecret": "pg-urls", "urlKey": "app", "ownerUrlKey": "owner"},
    "redis": {"existingSecret": "redis-url", "urlKey": "url"},
    "secrets": {"existingSecret": "gaby-keys-from-vault"},
    "extraEnv": [{"name": "GABY_LOG_FORMAT", "value": "json"}],
    "extraEnvFrom": [{"secretRef": {"name": "gaby-llm"}}],
    "mailListener": {"enabled": False},
    "persistence": {"existingClaim": "shared-media"},
    "worker": {"replicas": 3, "concurrency": 4, "nodeSelector": {"pool": "cpu"}},
    "ingress": {
        "enabled": True,
        "className": "traefik",
        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        "tls": {"secretName": "help-wildcard"},
    },
}
CASES = {"defaults": None, "minimal": MINIMAL, "ingress-existing-secrets": INGRESS_AND_EXISTING_SECRETS}
RENDER_AND_VALIDATE_SECONDS = 60  # a few seconds here; the bound keeps a hung render from stalling the suite


def by_kind(manifests: list[Manifest], kind: str) -> dict[str, dict[str, Any]]:
    return {m.name: m.body for m in manifests if m.kind == kind}


def container(body: dict[str, Any]) -> dict[str, Any]:
    (only,) = body["spec"]["template"]["spec"]["containers"]
    return only


def env_names(body: dict[str, Any]) -> set[str]:
    return {item["name"] for item in container(body)["env"]}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_every_manifest_passes_the_strict_kubernetes_schemas(case: str, version: str) -> None:
    started = time.monotonic()
    manifests = render(CASES[case])
    assert len(manifests) >= 6
    assert schema_errors(manifests, version) == []
    assert time.monotonic() - started < RENDER_AND_VALIDATE_SECONDS


def test_the_validator_refuses_what_kubernetes_would() -> None:
    """Not a vacuous check: an unknown field, a wrong type and a missing required field are each reported."""
    web = next(m for m in render(MINIMAL) if m.kind == "Deployment" and m.name == "gaby-web")
    unknown, wrong_type, missing = (copy.deepcopy(web.body) for _ in range(3))
    container(unknown)["livenessProbes"] = container(unknown).pop("livenessProbe")
    wrong_type["spec"]["replicas"] = "two"
    del container(missing)["name"]
    for body in (unknown, wrong_type, missing):
        assert schema_errors([Manifest(web.template, body)], KUBERNETES_VERSIONS[-1]) != []


@pytest.mark.parametrize("case", CASES)
def test_helm_lint_finds_no_error(case: str) -> None:
    report = helm.lint(CHART, CASES[case], strict=True, kube_version=f"v{KUBERNETES_VERSIONS[-1]}")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_minimal_values_file_is_about_ten_lines() -> None:
    lines = [line for line in (CHART / "values-minimal.yaml").read_text().splitlines() if not line.startswith("#")]
    assert len(lines) <= 12


def test_web_worker_beat_listener_and_the_migration_hook() -> None:
    manifests = render(MINIMAL)
    deployments = by_kind(manifests, "Deployment")
    assert set(deployments) == {"gaby-web", "gaby-worker", "gaby-beat", "gaby-mail-listener"}
    for body in deployments.values():
        assert container(body)["image"] == "registry.example.com/gaby:0.1.0"
    web = container(deployments["gaby-web"])
    assert web["args"][:3] == ["python", "-m", "gaby_site.serve"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/health"
    assert web["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container(deployments["gaby-worker"])["args"][:4] == ["celery", "-A", "gaby_site", "worker"]
    assert container(deployments["gaby-mail-listener"])["args"][2:4] == ["gaby", "listen-email"]
    for singleton in ("gaby-beat", "gaby-mail-listener"):  # two beats would schedule everything twice
        assert deployments[singleton]["spec"]["replicas"] == 1
        assert deployments[singleton]["spec"]["strategy"] == {"type": "Recreate"}

    (job,) = by_kind(manifests, "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert container(job)["args"][0] == "migrate"  # docker/entrypoint.sh: gaby upgrade, then gaby bootstrap
    # The migration hook runs before the release's resources exist: the Secrets it reads are earlier hooks.
    for secret in by_kind(manifests, "Secret").values():
        assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0
    assert set(by_kind(manifests, "Service")) == {"gaby-web"}
    assert set(by_kind(manifests, "PersistentVolumeClaim")) == {"gaby-media"}


def test_only_the_migration_job_and_web_get_the_owner_role() -> None:
    manifests = render(MINIMAL)
    with_owner = {
        m.name for m in manifests if m.kind in ("Deployment", "Job") if "GABY_DB_OWNER_URL" in env_names(m.body)
    }
    assert with_owner == {"gaby-web", "gaby-migrate"}
    for name in ("gaby-worker", "gaby-beat", "gaby-mail-listener"):
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "GABY_MASTER_KEY"} <= env_names(
            by_kind(manifests, "Deployment")[name]
        )


def test_generated_keys_are_usable_and_kept() -> None:
    (keys,) = [m.body for m in render(MINIMAL) if m.kind == "Secret" and m.name == "gaby-keys"]
    master = base64.b64decode(base64.b64decode(keys["data"]["GABY_MASTER_KEY"]), validate=True)
    assert len(master) == 32  # what apps/core/secrets.py requires
    assert len(base64.b64decode(keys["data"]["SECRET_KEY"])) >= 50  # Django's check --deploy floor
    assert keys["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    template = (CHART / "templates" / "secret-keys.yaml").read_text()
    assert "lookup" in template  # an upgrade reads the first install's keys back instead of minting new ones


def test_existing_secrets_replace_every_chart_secret() -> None:
    manifests = render(INGRESS_AND_EXISTING_SECRETS)
    assert by_kind(manifests, "Secret") == {}
    assert by_kind(manifests, "PersistentVolumeClaim") == {}
    deployments = by_kind(manifests, "Deployment")
    assert "gaby-mail-listener" not in deployments
    refs = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in container(deployments["gaby-web"])["env"]
        if "valueFrom" in item
    }
    assert refs["DATABASE_URL"] == {"name": "pg-urls", "key": "app"}
    assert refs["GABY_DB_OWNER_URL"] == {"name": "pg-urls", "key": "owner", "optional": True}
    assert refs["REDIS_URL"] == {"name": "redis-url", "key": "url"}
    assert refs["GABY_MASTER_KEY"]["name"] == "gaby-keys-from-vault"
    worker = deployments["gaby-worker"]
    assert worker["spec"]["replicas"] == 3 and worker["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "cpu"}
    assert container(worker)["envFrom"] == [{"secretRef": {"name": "gaby-llm"}}]
    assert worker["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "shared-media"
    assert container(worker)["args"][6:8] == ["--concurrency", "4"]
    # The install's own keys Secret may not hold a metrics token: the pods start anyway (and /metrics stays 403).
    assert refs["GABY_METRICS_TOKEN"] == {"name": "gaby-keys-from-vault", "key": "GABY_METRICS_TOKEN", "optional": True}


def test_the_ingress_takes_the_portal_and_every_client_subdomain() -> None:
    (ingress,) = by_kind(render(INGRESS_AND_EXISTING_SECRETS), "Ingress").values()
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["help.example.org", "*.help.example.org"]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["help.example.org", "*.help.example.org"], "secretName": "help-wildcard"}
    ]
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert by_kind(render(None), "Ingress") == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"baseDomain": ""}, "baseDomain is empty"),
        ({"database": {"existingSecret": ""}}, "database.url is empty"),
        ({"redis": {"existingSecret": ""}}, "redis.url is empty"),
        ({"image": {"repository": ""}}, "image.repository is empty"),
    ],
)
def test_missing_settings_fail_with_what_to_set(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render(values)


def test_the_notes_say_how_to_set_the_first_admins_password() -> None:
    text = notes(MINIMAL)
    assert "changepassword admin@support.example.com" in text
    assert "kubectl -n gaby logs job/gaby-migrate" in text


def test_the_helm_guide_shows_the_minimal_values_file_as_it_is() -> None:
    guide = (CHART.parents[2] / "docs" / "operations" / "helm.md").read_text(encoding="utf-8")
    assert (CHART / "values-minimal.yaml").read_text(encoding="utf-8") in guide


def test_web_and_worker_pods_sum_their_processes_counters_and_workers_serve_theirs_behind_the_token() -> None:
    manifests = render(MINIMAL)
    deployments = by_kind(manifests, "Deployment")
    for name, port in (("gaby-web", 8000), ("gaby-worker", 9808)):
        pod = deployments[name]["spec"]["template"]
        env = {item["name"]: item for item in container(deployments[name])["env"]}
        assert env["PROMETHEUS_MULTIPROC_DIR"]["value"] == "/run/gaby/metrics"
        assert {"name": "metrics", "mountPath": "/run/gaby/metrics"} in container(deployments[name])["volumeMounts"]
        assert {"name": "metrics", "emptyDir": {}} in pod["spec"]["volumes"]  # new with the pod: no stale file
        assert env["GABY_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": "gaby-keys",
            "key": "GABY_METRICS_TOKEN",
        }
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    worker = container(deployments["gaby-worker"])
    assert {item["name"]: item.get("value") for item in worker["env"]}["GABY_WORKER_METRICS_PORT"] == "9808"
    assert worker["ports"] == [{"name": "metrics", "containerPort": 9808, "protocol": "TCP"}]
    assert worker["args"][6:8] == ["--concurrency", "2"]
    (keys,) = (m.body for m in manifests if m.kind == "Secret" and m.name == "gaby-keys")
    assert len(base64.b64decode(keys["data"]["GABY_METRICS_TOKEN"])) == 43
    beat = container(deployments["gaby-beat"])
    assert "PROMETHEUS_MULTIPROC_DIR" not in env_names(deployments["gaby-beat"]) and "ports" not in beat
